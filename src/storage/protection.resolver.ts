import { Args, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { AtRestProtection, InMotionProtection, overallStanding, postQuantumStandings } from '../protection/profile';
import { ProtectionService } from '../protection/protection.service';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { MountProtection } from './mount-protection.service';
import { Sensitivity } from './storage.entities';
import { attestationModel } from './storage.mappers';
import {
  Attestation,
  AttestationKey,
  Mount,
  MountProtectionModel,
  ProtectionMinimumModel,
  ProtectionProfileModel,
  RegisterAttestationKeyInput,
  SetProtectionMinimumInput,
  SetTenantProtectionDefaultInput,
  SubmitAttestationInput,
  TlsCredential,
} from './storage.models';

/** Data protection over GraphQL: minimums, defaults, attestations and their keys. Thin: the services decide. */
@Resolver()
export class ProtectionResolver {
  constructor(
    private readonly protection: ProtectionService,
    private readonly mountProtection: MountProtection,
  ) {}

  @Mutation(() => ProtectionMinimumModel, {
    description:
      'Sets the minimum protection of every mount of datasets of a sensitivity; attachStorage refuses less (FORBIDDEN, policy PROTECTION_MINIMUM).',
  })
  @Roles(Role.OPERATOR)
  async setProtectionMinimum(
    @Args('input') input: SetProtectionMinimumInput,
    @CurrentPrincipal() p: Principal,
  ): Promise<ProtectionMinimumModel> {
    const row = await this.protection.setMinimum(p, input.sensitivity, input.inMotionAnyOf, input.atRest);
    return {
      sensitivity: row.sensitivity as Sensitivity,
      inMotionAnyOf: row.inMotionAnyOf as InMotionProtection[],
      atRest: row.atRest as AtRestProtection,
      updatedAt: row.updatedAt,
    };
  }

  @Query(() => [ProtectionMinimumModel], { description: 'The minimum protection per dataset sensitivity.' })
  @Roles(Role.OPERATOR, Role.TENANT)
  async protectionMinimums(): Promise<ProtectionMinimumModel[]> {
    return (await this.protection.minimums()).map((r) => ({
      sensitivity: r.sensitivity as Sensitivity,
      inMotionAnyOf: r.inMotionAnyOf as InMotionProtection[],
      atRest: r.atRest as AtRestProtection,
      updatedAt: r.updatedAt,
    }));
  }

  @Mutation(() => ProtectionProfileModel, {
    description: 'Sets the profile attachStorage uses when a request names none (a tenant its own; operators any tenant’s).',
  })
  @Roles(Role.OPERATOR, Role.TENANT)
  async setTenantProtectionDefault(
    @Args('input') input: SetTenantProtectionDefaultInput,
    @CurrentPrincipal() p: Principal,
  ): Promise<ProtectionProfileModel> {
    const profile = await this.protection.setTenantDefault(p, input.tenantId ?? '', input.inMotion, input.atRest);
    return { inMotion: [...profile.inMotion], atRest: profile.atRest };
  }

  @Mutation(() => Attestation, {
    description:
      'A node agent’s signed attestation of deletion (docs/attestations.md). Refused (BAD_USER_INPUT naming the field, recorded and audited) when the signature, the node or the time is wrong.',
  })
  @Roles(Role.OPERATOR)
  async submitAttestation(@Args('input') input: SubmitAttestationInput, @CurrentPrincipal() p: Principal): Promise<Attestation> {
    return attestationModel(await this.mountProtection.submit(p, input));
  }

  @Mutation(() => AttestationKey, {
    description: 'Registers or replaces the Ed25519 key a storage system’s or GPU node’s agent signs attestations with.',
  })
  @Roles(Role.OPERATOR)
  registerAttestationKey(@Args('input') input: RegisterAttestationKeyInput, @CurrentPrincipal() p: Principal): Promise<AttestationKey> {
    return this.mountProtection.registerKey(p, input);
  }
}

@Resolver(() => Mount)
export class MountProtectionResolver {
  constructor(private readonly keys: ProtectionService) {}

  @ResolveField(() => MountProtectionModel)
  async protection(@Parent() m: Mount): Promise<MountProtectionModel> {
    const profile = { inMotion: m.protectionInMotion as InMotionProtection[], atRest: m.protectionAtRest as AtRestProtection };
    const measures = postQuantumStandings(profile, m.design, this.keys.hybridTls);
    const key = await this.keys.dataKeyRecord(m.id);
    return {
      inMotion: [...profile.inMotion],
      atRest: profile.atRest,
      postQuantum: overallStanding(measures),
      measures,
      dataKey: key ? { kekId: key.kekId, fingerprint: key.keyFingerprint, createdAt: key.createdAt, destroyedAt: key.destroyedAt } : null,
      certificates: (await this.keys.certificates(m.id)).map((c) => ({
        serial: c.serial,
        role: c.role,
        hop: c.hop,
        subjectName: c.subjectName,
        address: c.address,
        notBefore: c.notBefore,
        notAfter: c.notAfter,
        certificatePem: c.certificatePem,
        revokedAt: c.revokedAt,
      })),
    };
  }

  @ResolveField(() => [TlsCredential], {
    description:
      'NFS_TLS: each certificate with its private key, to install on its host; empty once the mount is detached (the keys are destroyed at revocation).',
  })
  async tlsCredentials(@Parent() m: Mount): Promise<TlsCredential[]> {
    const out: TlsCredential[] = [];
    for (const c of await this.keys.certificates(m.id)) {
      const privateKeyPem = c.revokedAt ? null : this.keys.privateKeyPem(c);
      if (privateKeyPem)
        out.push({
          serial: c.serial,
          role: c.role,
          hop: c.hop,
          subjectName: c.subjectName,
          address: c.address,
          certificatePem: c.certificatePem,
          privateKeyPem,
        });
    }
    return out;
  }
}

export const PROTECTION_RESOLVERS = [ProtectionResolver, MountProtectionResolver];
