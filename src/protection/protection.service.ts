import { Inject, Injectable } from '@nestjs/common';
import { createPrivateKey } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { AppError, ErrorCode, badInput } from '../core/errors/app-error';
import type { Principal } from '../tenancy/principal';
import { TenancyService } from '../tenancy/tenancy.service';
import { dataKeyFingerprint, kekId, newDataKey, open, seal, unwrapDataKey, wrapDataKey } from './envelope';
import { CertificateAuthority, newLeafKeyPair, newSerial } from './pki';
import { AtRestProtection, InMotionProtection, ProtectionMinimum, ProtectionProfile, normalizeInMotion } from './profile';
import { MountDataKeyEntity, ProtectionMinimumEntity, TenantProtectionDefaultEntity, TlsCertificateEntity } from './protection.entities';
import { ProtectionRepository } from './protection.repository';
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
    private readonly records: ProtectionRepository,
    private readonly audit: AuditService,
    private readonly tenancy: TenancyService,
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
    await this.records.transaction((m) =>
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
    const row = await this.records.minimum(sensitivity);
    return row ? { inMotionAnyOf: row.inMotionAnyOf as InMotionProtection[], atRest: row.atRest as AtRestProtection } : null;
  }

  minimums(): Promise<ProtectionMinimumEntity[]> {
    return this.records.minimums();
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
    await this.records.transaction(async (m) => {
      await this.records.saveMinimum(row, m);
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
    const row = await this.records.tenantDefault(tenantId);
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
    if (!tenant || !(await this.tenancy.exists(tenant))) {
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
    await this.records.transaction(async (m) => {
      await this.records.saveTenantDefault(row, m);
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
    await this.records.insertDataKey(m, {
      mountId,
      kekId: kekId(this.kek),
      wrappedKey: wrapDataKey(this.kek, key, `mount:${mountId}`),
      fingerprint: dataKeyFingerprint(key),
    });
    key.fill(0);
  }

  /** The mount's data key in clear, for handing to the storage node; null when there is none or it was destroyed. */
  async dataKey(mountId: string): Promise<Buffer | null> {
    const row = await this.records.dataKey(mountId);
    if (!row?.wrappedKey) return null;
    return unwrapDataKey(this.kek, row.wrappedKey, `mount:${mountId}`);
  }

  /** Read through `manager` inside a transaction: on the embedded database another connection would wait for it. */
  dataKeyRecord(mountId: string, manager?: EntityManager): Promise<MountDataKeyEntity | null> {
    return this.records.dataKey(mountId, manager);
  }

  /** Crypto-erase: forgets the wrapped key. Returns when it was destroyed (now, or before), or null if there was none. */
  destroyDataKey(m: EntityManager, mountId: string): Promise<Date | null> {
    return this.records.destroyDataKey(m, mountId);
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
      await this.records.insertCertificate(m, {
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
    return this.records.certificates(mountId);
  }

  /** A certificate's private key in PEM, or null once revoked. */
  privateKeyPem(certificate: TlsCertificateEntity): string | null {
    return certificate.wrappedPrivateKey
      ? open(this.kek, certificate.wrappedPrivateKey, `tls:${certificate.serial}`).toString('utf8')
      : null;
  }

  /** Revokes every certificate of the mount and forgets their private keys. Returns how many were revoked now. */
  revokeCertificates(m: EntityManager, mountId: string): Promise<number> {
    return this.records.revokeCertificates(m, mountId);
  }

  /** The current CRL: every revoked certificate that has not yet expired, numbered by the time it was made. */
  async crl(): Promise<{ der: Buffer; pem: string }> {
    const rows = await this.records.revokedUnexpired();
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
