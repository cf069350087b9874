import { Inject, Injectable } from '@nestjs/common';
import { createPrivateKey } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { AppError, ErrorCode, badInput } from '../core/errors/app-error';
import { isUuid } from '../core/ids';
import type { Principal } from '../tenancy/principal';
import { TenantEntity } from '../tenancy/tenancy.entities';
import { dataKeyFingerprint, kekId, newDataKey, open, seal, unwrapDataKey, wrapDataKey } from './envelope';
import { CertificateAuthority, newLeafKeyPair, newSerial } from './pki';
import { AtRestProtection, InMotionProtection, ProtectionMinimum, ProtectionProfile, normalizeInMotion } from './profile';
import { MountDataKeyEntity, ProtectionMinimumEntity, TenantProtectionDefaultEntity, TlsCertificateEntity } from './protection.entities';
import { isTenantKey } from '../core/visibility';

/** How long a CRL is valid: verifiers fetch a new one at least this often. */
export const CRL_VALIDITY_MS = 3_600_000;

export interface CertificateOrder {
  role: 'CLIENT' | 'SERVER';
  hop: 'LIGHTPATH' | 'DATA_CENTER_LAN';
  subjectName: string;
  address: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Key material and policy of data protection: the operators' minimum profile per sensitivity and the
 * tenants' defaults, per-mount data keys (wrapped by the key-encryption key, destroyed at purge), the
 * mount CA (certificates, revocation, CRL), and the audit of every refused protection operation.
 * Knows mounts by id only; what a mount is belongs to storage.
 */
@Injectable()
export class ProtectionService {
  private authority: CertificateAuthority | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly audit: AuditService,
  ) {}

  get hybridTls(): boolean {
    return this.config.tlsHybridKeyExchange;
  }

  get certificateMaxLifetimeSeconds(): number {
    return this.config.tlsCertMaxLifetimeSeconds;
  }

  get ca(): CertificateAuthority {
    if (!this.config.caKeyPem) throw new Error('the mount CA key is not configured (APN_CA_KEY)');
    return (this.authority ??= new CertificateAuthority(createPrivateKey(this.config.caKeyPem)));
  }

  private get kek(): Buffer {
    if (!this.config.keyEncryptionKey) throw new Error('the key-encryption key is not configured (APN_KEY_ENCRYPTION_KEY)');
    return this.config.keyEncryptionKey;
  }

  /**
   * Appends `protection.refused` (what was asked, the field and why) in a transaction of its own, then
   * throws the error: the refusal is on record though nothing else changed.
   */
  async refuse(actor: string, operation: string, error: AppError, data: Record<string, unknown> = {}): Promise<never> {
    const extensions = error.extensions as { code?: string; field?: string };
    await this.dataSource.transaction((m) =>
      this.audit.append(m, {
        actor,
        action: 'protection.refused',
        entityType: 'protection',
        entityId: null,
        data: { operation, code: extensions.code, field: extensions.field ?? null, reason: error.message, ...data },
      }),
    );
    throw error;
  }

  // ---- policy ------------------------------------------------------------------------------------------

  async minimum(sensitivity: string): Promise<ProtectionMinimum | null> {
    const row = await this.dataSource.getRepository(ProtectionMinimumEntity).findOneBy({ sensitivity });
    return row ? { inMotionAnyOf: row.inMotionAnyOf as InMotionProtection[], atRest: row.atRest as AtRestProtection } : null;
  }

  minimums(): Promise<ProtectionMinimumEntity[]> {
    return this.dataSource.getRepository(ProtectionMinimumEntity).find({ order: { sensitivity: 'ASC' } });
  }

  async setMinimum(
    principal: Principal,
    sensitivity: string,
    inMotionAnyOf: InMotionProtection[],
    atRest: AtRestProtection,
  ): Promise<ProtectionMinimumEntity> {
    const anyOf = [...new Set(inMotionAnyOf)];
    if (anyOf.includes(InMotionProtection.NONE)) {
      await this.refuse(
        principal.actor,
        'setProtectionMinimum',
        badInput(
          'input.inMotionAnyOf',
          'input.inMotionAnyOf: NONE protects nothing and cannot be a minimum; list the measures of which one is required, or none.',
        ),
        { sensitivity },
      );
    }
    const row = Object.assign(new ProtectionMinimumEntity(), {
      sensitivity,
      inMotionAnyOf: normalizeInMotion(anyOf).filter((m) => m !== InMotionProtection.NONE),
      atRest,
      updatedAt: new Date(),
    });
    await this.dataSource.transaction(async (m) => {
      await m.getRepository(ProtectionMinimumEntity).upsert(row, ['sensitivity']);
      await this.audit.append(m, {
        actor: principal.actor,
        action: 'protection.minimum-set',
        entityType: 'protection',
        entityId: null,
        data: { sensitivity, inMotionAnyOf: row.inMotionAnyOf, atRest },
      });
    });
    return row;
  }

  async tenantDefault(tenantId: string): Promise<ProtectionProfile | null> {
    const row = await this.dataSource.getRepository(TenantProtectionDefaultEntity).findOneBy({ tenantId });
    return row ? { inMotion: row.inMotion as InMotionProtection[], atRest: row.atRest as AtRestProtection } : null;
  }

  async setTenantDefault(
    principal: Principal,
    tenantId: string,
    inMotion: InMotionProtection[],
    atRest: AtRestProtection,
  ): Promise<ProtectionProfile> {
    const tenant = isTenantKey(principal) ? principal.tenantId : tenantId;
    if (isTenantKey(principal) && tenantId && tenantId !== principal.tenantId) {
      await this.refuse(
        principal.actor,
        'setTenantProtectionDefault',
        new AppError(ErrorCode.FORBIDDEN, 'A tenant sets its own default profile only.', { field: 'input.tenantId' }),
      );
    }
    if (!tenant || !isUuid(tenant) || !(await this.dataSource.getRepository(TenantEntity).existsBy({ id: tenant }))) {
      await this.refuse(
        principal.actor,
        'setTenantProtectionDefault',
        badInput('input.tenantId', `input.tenantId: tenant ${tenant} does not exist.`),
      );
    }
    const measures = normalizeInMotion(inMotion);
    if (measures.includes(InMotionProtection.NONE) && measures.length > 1) {
      await this.refuse(
        principal.actor,
        'setTenantProtectionDefault',
        badInput('input.inMotion', 'input.inMotion: NONE says nothing protects the path; it cannot stand with other measures.'),
        { tenantId: tenant },
      );
    }
    const row = Object.assign(new TenantProtectionDefaultEntity(), {
      tenantId: tenant!,
      inMotion: measures,
      atRest,
      updatedAt: new Date(),
    });
    await this.dataSource.transaction(async (m) => {
      await m.getRepository(TenantProtectionDefaultEntity).upsert(row, ['tenantId']);
      await this.audit.append(m, {
        actor: principal.actor,
        action: 'protection.tenant-default-set',
        entityType: 'tenant',
        entityId: tenant!,
        data: { inMotion: measures, atRest },
      });
    });
    return { inMotion: measures, atRest };
  }

  // ---- data keys ---------------------------------------------------------------------------------------

  /** Creates the mount's data key, wrapped; a second call keeps the first key. */
  async createDataKey(m: EntityManager, mountId: string): Promise<void> {
    const key = newDataKey();
    await m.query(
      `INSERT INTO mount_data_keys (mount_id, kek_id, wrapped_key, key_fingerprint, created_at) VALUES ($1, $2, $3, $4, clock_timestamp())
       ON CONFLICT (mount_id) DO NOTHING`,
      [mountId, kekId(this.kek), wrapDataKey(this.kek, key, `mount:${mountId}`), dataKeyFingerprint(key)],
    );
    key.fill(0);
  }

  /** The mount's data key in clear, for handing to the storage node; null when there is none or it was destroyed. */
  async dataKey(mountId: string): Promise<Buffer | null> {
    const row = await this.dataSource.getRepository(MountDataKeyEntity).findOneBy({ mountId });
    if (!row?.wrappedKey) return null;
    return unwrapDataKey(this.kek, row.wrappedKey, `mount:${mountId}`);
  }

  /** Read through `manager` inside a transaction: on the embedded database another connection would wait for it. */
  dataKeyRecord(mountId: string, manager: EntityManager = this.dataSource.manager): Promise<MountDataKeyEntity | null> {
    return manager.getRepository(MountDataKeyEntity).findOneBy({ mountId });
  }

  /** Crypto-erase: forgets the wrapped key. Returns when it was destroyed (now, or before), or null if there was none. */
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

  /** Issues each certificate with a fresh key pair; the private keys are kept wrapped by the key-encryption key. */
  async issueCertificates(m: EntityManager, mountId: string, orders: CertificateOrder[]): Promise<void> {
    for (const order of orders) {
      const pair = newLeafKeyPair();
      const serial = newSerial();
      const certificatePem = this.ca.issue({
        serial,
        commonName: order.subjectName,
        publicKey: pair.publicKey,
        notBefore: order.notBefore,
        notAfter: order.notAfter,
        usage: order.role,
        ipAddresses: isIpLike(order.address) ? [order.address] : [],
        dnsNames: isIpLike(order.address) ? [] : [order.address],
        uris: [`urn:apn-orchestrator:mount:${mountId}`],
      });
      await m.getRepository(TlsCertificateEntity).insert({
        serial,
        mountId,
        role: order.role,
        hop: order.hop,
        subjectName: order.subjectName,
        address: order.address,
        notBefore: order.notBefore,
        notAfter: order.notAfter,
        certificatePem,
        wrappedPrivateKey: seal(this.kek, Buffer.from(pair.privateKeyPem, 'utf8'), `tls:${serial}`),
        issuedAt: new Date(),
        revokedAt: null,
      });
    }
  }

  certificates(mountId: string): Promise<TlsCertificateEntity[]> {
    return this.dataSource
      .getRepository(TlsCertificateEntity)
      .find({ where: { mountId }, order: { role: 'ASC', hop: 'ASC', subjectName: 'ASC' } });
  }

  /** A certificate's private key in PEM, or null once revoked. */
  privateKeyPem(certificate: TlsCertificateEntity): string | null {
    return certificate.wrappedPrivateKey
      ? open(this.kek, certificate.wrappedPrivateKey, `tls:${certificate.serial}`).toString('utf8')
      : null;
  }

  /** Revokes every certificate of the mount and forgets their private keys. Returns how many were revoked now. */
  async revokeCertificates(m: EntityManager, mountId: string): Promise<number> {
    const rows: unknown[] = await m.query(
      `WITH revoked AS (UPDATE tls_certificates SET revoked_at = clock_timestamp(), wrapped_private_key = NULL WHERE mount_id = $1 AND revoked_at IS NULL RETURNING serial)
       SELECT serial FROM revoked`,
      [mountId],
    );
    return rows.length;
  }

  /** The current CRL: every revoked certificate that has not yet expired, numbered by the time it was made. */
  async crl(): Promise<{ der: Buffer; pem: string }> {
    const rows: Array<{ serial: string; revoked_at: Date; now: Date }> = await this.dataSource.query(
      `SELECT serial, revoked_at, now() AS now FROM tls_certificates WHERE revoked_at IS NOT NULL AND not_after > now() ORDER BY revoked_at, serial`,
    );
    const now = new Date();
    return this.ca.crl(
      rows.map((r) => ({ serial: r.serial, at: r.revoked_at })),
      now,
      new Date(now.getTime() + CRL_VALIDITY_MS),
      BigInt(now.getTime()),
    );
  }
}

const isIpLike = (address: string) => /^[0-9.]+$/.test(address) || address.includes(':');
