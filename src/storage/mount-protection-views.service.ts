import { Injectable } from '@nestjs/common';
import { AtRestProtection, InMotionProtection, overallStanding, postQuantumStandings } from '../protection/profile';
import { ProtectionService } from '../protection/protection.service';
import type { MountEntity } from './storage.entities';
import type { MountProtectionModel, TlsCredential } from './storage.models';

/** What a mount's protection fields are built from. */
export type MountProtectionSource = Pick<MountEntity, 'id' | 'design' | 'protectionInMotion' | 'protectionAtRest'>;

/** A mount's protection as the schema shows it: its profile and standings, its data key, its certificates and their keys. */
@Injectable()
export class MountProtectionViews {
  constructor(private readonly protection: ProtectionService) {}

  async of(m: MountProtectionSource): Promise<MountProtectionModel> {
    const profile = { inMotion: m.protectionInMotion as InMotionProtection[], atRest: m.protectionAtRest as AtRestProtection };
    const measures = postQuantumStandings(profile, m.design, this.protection.hybridTls);
    const key = await this.protection.dataKeyRecord(m.id);
    return {
      inMotion: [...profile.inMotion],
      atRest: profile.atRest,
      postQuantum: overallStanding(measures),
      measures,
      dataKey: key ? { kekId: key.kekId, fingerprint: key.keyFingerprint, createdAt: key.createdAt, destroyedAt: key.destroyedAt } : null,
      certificates: (await this.protection.certificates(m.id)).map((c) => ({
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

  /** Each live certificate of the mount with its private key; none once the keys were destroyed at revocation. */
  async tlsCredentials(mountId: string): Promise<TlsCredential[]> {
    const out: TlsCredential[] = [];
    for (const c of await this.protection.certificates(mountId)) {
      const privateKeyPem = c.revokedAt ? null : this.protection.privateKeyPem(c);
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
