import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { AppError, ErrorCode } from '../core/errors/app-error';
import type { Principal } from './principal';
import { ApiKeyEntity, Role } from './tenancy.entities';

const KEY_PREFIX = 'apn';
/**
 * Verified API keys are remembered this long, saving a database round trip on most requests. A key that is
 * revoked (or deleted with its tenant) stops working within this time on every replica: the time runs from
 * before the row was read, so a revocation committed earlier than that read was seen by it. The replica that
 * revokes, and any replica listening for revocations (it holds subscriptions), forget the key at once.
 */
export const KEY_CACHE_TTL_MS = 5_000;
const KEY_CACHE_MAX_ENTRIES = 10_000;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

export function unauthenticated(message: string): AppError {
  return new AppError(ErrorCode.UNAUTHENTICATED, message);
}

/**
 * Bearer-token authentication. API key secrets have the form `apn_<keyId>_<secret>`: the id finds the row,
 * the secret is compared by SHA-256 in constant time.
 */
@Injectable()
export class AuthService {
  private readonly adminTokenHash: Buffer | null;
  private readonly verifiedKeys = new Map<string, { principal: Principal; until: number }>();

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly dataSource: DataSource,
  ) {
    this.adminTokenHash = config.adminToken ? createHash('sha256').update(config.adminToken).digest() : null;
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (!authorization) {
      throw unauthenticated('Missing Authorization header; send "Authorization: Bearer <token>".');
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!match) throw unauthenticated('Authorization header must be "Bearer <token>".');
    const token = match[1];
    const tokenHash = createHash('sha256').update(token).digest();
    if (this.adminTokenHash && timingSafeEqual(tokenHash, this.adminTokenHash)) {
      return { role: Role.OPERATOR, tenantId: null, keyId: null, actor: 'admin-token' };
    }
    const cacheKey = tokenHash.toString('hex');
    const cached = this.verifiedKeys.get(cacheKey);
    if (cached && cached.until > performance.now()) return cached.principal;
    const parts = token.split('_');
    const keyId = parts[1];
    if (parts.length < 3 || parts[0] !== KEY_PREFIX || !/^[0-9a-f-]{36}$/.test(keyId)) {
      throw unauthenticated('Unknown or revoked token.');
    }
    const checkedAt = performance.now();
    const rows: Array<{ role: Role; tenant_id: string | null; secret_sha256: string }> = await this.dataSource.query(
      'SELECT role, tenant_id, secret_sha256 FROM api_keys WHERE id = $1 AND revoked_at IS NULL',
      [keyId],
    );
    const row = rows[0];
    if (!row || !timingSafeEqual(Buffer.from(row.secret_sha256, 'hex'), tokenHash)) {
      throw unauthenticated('Unknown or revoked token.');
    }
    const principal: Principal = { role: row.role, tenantId: row.tenant_id, keyId, actor: `key:${keyId}` };
    this.verifiedKeys.delete(cacheKey);
    if (this.verifiedKeys.size >= KEY_CACHE_MAX_ENTRIES) {
      this.verifiedKeys.delete(this.verifiedKeys.keys().next().value as string);
    }
    this.verifiedKeys.set(cacheKey, { principal, until: checkedAt + KEY_CACHE_TTL_MS });
    return principal;
  }

  /** Drops a key from this process's memory of verified keys: its next use reads the database. */
  forget(keyId: string): void {
    for (const [cacheKey, entry] of this.verifiedKeys) {
      if (entry.principal.keyId === keyId) this.verifiedKeys.delete(cacheKey);
    }
  }

  /** Creates a key; the returned secret is never stored and cannot be shown again. */
  newKey(role: Role, tenantId: string | null, label: string | null): { entity: ApiKeyEntity; secret: string } {
    const id = randomUUID();
    const secret = `${KEY_PREFIX}_${id}_${randomBytes(32).toString('base64url')}`;
    const entity = Object.assign(new ApiKeyEntity(), {
      id,
      role,
      tenantId,
      label,
      secretSha256: sha256(secret),
      revokedAt: null,
    });
    return { entity, secret };
  }
}
