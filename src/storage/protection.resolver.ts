import { Args, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { ProtectionService } from '../protection/protection.service';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { MountProtection } from './mount-protection.service';
import { MountProtectionViews } from './mount-protection-views.service';
import { attestationModel, toProtectionMinimum, toProtectionProfile } from './storage.mappers';
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
    return toProtectionMinimum(await this.protection.setMinimum(p, input.sensitivity, input.inMotionAnyOf, input.atRest));
  }

  @Query(() => [ProtectionMinimumModel], { description: 'The minimum protection per dataset sensitivity.' })
  @Roles(Role.OPERATOR, Role.TENANT)
  async protectionMinimums(): Promise<ProtectionMinimumModel[]> {
    return (await this.protection.minimums()).map(toProtectionMinimum);
  }

  @Mutation(() => ProtectionProfileModel, {
    description: 'Sets the profile attachStorage uses when a request names none (a tenant its own; operators any tenant’s).',
  })
  @Roles(Role.OPERATOR, Role.TENANT)
  async setTenantProtectionDefault(
    @Args('input') input: SetTenantProtectionDefaultInput,
    @CurrentPrincipal() p: Principal,
  ): Promise<ProtectionProfileModel> {
    return toProtectionProfile(await this.protection.setTenantDefault(p, input.tenantId ?? '', input.inMotion, input.atRest));
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
  constructor(private readonly views: MountProtectionViews) {}

  @ResolveField(() => MountProtectionModel)
  protection(@Parent() m: Mount): Promise<MountProtectionModel> {
    return this.views.of(m);
  }

  @ResolveField(() => [TlsCredential], {
    description:
      'NFS_TLS: each certificate with its private key, to install on its host; empty once the mount is detached (the keys are destroyed at revocation).',
  })
  tlsCredentials(@Parent() m: Mount): Promise<TlsCredential[]> {
    return this.views.tlsCredentials(m.id);
  }
}

export const PROTECTION_RESOLVERS = [ProtectionResolver, MountProtectionResolver];
