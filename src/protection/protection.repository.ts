import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { MountDataKeyEntity, ProtectionMinimumEntity, TenantProtectionDefaultEntity, TlsCertificateEntity } from './protection.entities';

/** A mount's data key as stored: wrapped by the key-encryption key named by `kekId`. */
export interface DataKeyInsert {
  mountId: string;
  kekId: string;
  wrappedKey: Buffer;
  fingerprint: string;
}

/** A revoked certificate on the CRL. */
export interface RevokedCertificateRow {
  serial: string;
  revoked_at: Date;
  now: Date;
}

/**
 * Protection's records: the minimum profiles per sensitivity, the tenants' defaults, the mounts' wrapped data
 * keys and the mount CA's certificates. Methods taking an EntityManager run inside the caller's transaction
 * when one is given.
 */
@Injectable()
export class ProtectionRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  // ---- policy ------------------------------------------------------------------------------------------

  minimum(sensitivity: string): Promise<ProtectionMinimumEntity | null> {
    return this.dataSource.getRepository(ProtectionMinimumEntity).findOneBy({ sensitivity });
  }

  minimums(): Promise<ProtectionMinimumEntity[]> {
    return this.dataSource.getRepository(ProtectionMinimumEntity).find({ order: { sensitivity: 'ASC' } });
  }

  async saveMinimum(row: ProtectionMinimumEntity, m: EntityManager = this.dataSource.manager): Promise<void> {
    await m.getRepository(ProtectionMinimumEntity).upsert(row, ['sensitivity']);
  }

  tenantDefault(tenantId: string): Promise<TenantProtectionDefaultEntity | null> {
    return this.dataSource.getRepository(TenantProtectionDefaultEntity).findOneBy({ tenantId });
  }

  async saveTenantDefault(row: TenantProtectionDefaultEntity, m: EntityManager = this.dataSource.manager): Promise<void> {
    await m.getRepository(TenantProtectionDefaultEntity).upsert(row, ['tenantId']);
  }

  // ---- data keys ---------------------------------------------------------------------------------------

  /** Stores the mount's wrapped data key; a mount that has one keeps it. */
  async insertDataKey(m: EntityManager, key: DataKeyInsert): Promise<void> {
    await m.query(
      `INSERT INTO mount_data_keys (mount_id, kek_id, wrapped_key, key_fingerprint, created_at) VALUES ($1, $2, $3, $4, clock_timestamp())
       ON CONFLICT (mount_id) DO NOTHING`,
      [key.mountId, key.kekId, key.wrappedKey, key.fingerprint],
    );
  }

  dataKey(mountId: string, m: EntityManager = this.dataSource.manager): Promise<MountDataKeyEntity | null> {
    return m.getRepository(MountDataKeyEntity).findOneBy({ mountId });
  }

  /** Forgets the wrapped key. Returns when it was destroyed (now, or before), or null if there was none. */
  async destroyDataKey(m: EntityManager, mountId: string): Promise<Date | null> {
    const rows: Array<{ destroyed_at: Date }> = await m.query(
      // Wrapped in a SELECT: TypeORM answers a bare UPDATE … RETURNING with [rows, count].
      `WITH erased AS (UPDATE mount_data_keys SET wrapped_key = NULL, destroyed_at = coalesce(destroyed_at, clock_timestamp()) WHERE mount_id = $1 RETURNING destroyed_at)
       SELECT destroyed_at FROM erased`,
      [mountId],
    );
    return rows[0]?.destroyed_at ?? null;
  }

  // ---- certificates ------------------------------------------------------------------------------------

  async insertCertificate(m: EntityManager, certificate: Omit<TlsCertificateEntity, 'mount'>): Promise<void> {
    await m.getRepository(TlsCertificateEntity).insert(certificate);
  }

  certificates(mountId: string): Promise<TlsCertificateEntity[]> {
    return this.dataSource
      .getRepository(TlsCertificateEntity)
      .find({ where: { mountId }, order: { role: 'ASC', hop: 'ASC', subjectName: 'ASC' } });
  }

  /** Revokes every certificate of the mount not yet revoked and forgets their private keys. Returns how many. */
  async revokeCertificates(m: EntityManager, mountId: string): Promise<number> {
    const rows: unknown[] = await m.query(
      `WITH revoked AS (UPDATE tls_certificates SET revoked_at = clock_timestamp(), wrapped_private_key = NULL WHERE mount_id = $1 AND revoked_at IS NULL RETURNING serial)
       SELECT serial FROM revoked`,
      [mountId],
    );
    return rows.length;
  }

  /** Every revoked certificate that has not yet expired, in the order revoked. */
  revokedUnexpired(): Promise<RevokedCertificateRow[]> {
    return this.dataSource.query(
      `SELECT serial, revoked_at, now() AS now FROM tls_certificates WHERE revoked_at IS NOT NULL AND not_after > now() ORDER BY revoked_at, serial`,
    );
  }
}
