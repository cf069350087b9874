import type { Authenticator } from '../core/authentication';
import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { AppError, ErrorCode } from '../core/errors/app-error';
import { type ApiKeyCredentials, ApiKeysRepository } from './api-keys.repository';
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
const newSecret = (keyId: string) => `${KEY_PREFIX}_${keyId}_${randomBytes(32).toString('base64url')}`;

export function unauthenticated(message: string): AppError {
  return new AppError(ErrorCode.UNAUTHENTICATED, message);
}

/**
 * Which of a key's secrets `tokenHash` is, and until when it works: the current secret until the key's
 * expiry; the previous one (after a rotation) until the end of its overlap. Null: neither (a wrong secret).
 * `ended` says why a secret that was one of the key's no longer works, with `<key>` for the key's name.
 */
export function secretStanding(
  row: ApiKeyCredentials,
  tokenHash: Buffer,
  now: number,
): { validUntil: Date | null; ended: string | null } | null {
  const matches = (hex: string | null) => hex !== null && hex.length === 64 && timingSafeEqual(Buffer.from(hex, 'hex'), tokenHash);
  if (matches(row.secret_sha256)) {
    const until = row.expires_at ? new Date(row.expires_at) : null;
    return {
      validUntil: until,
      ended: until && until.getTime() <= now ? `<key> expired at ${until.toISOString()}; ask for a new key.` : null,
    };
  }
  if (matches(row.previous_secret_sha256)) {
    const until = new Date(row.previous_secret_expires_at!);
    return {
      validUntil: until,
      ended:
        until.getTime() <= now
          ? `This secret of <key> was replaced by a rotation and stopped working at ${until.toISOString()}; use the new secret.`
          : null,
    };
  }
  return null;
}

/**
 * Bearer-token authentication. API key secrets have the form `apn_<keyId>_<secret>`: the id finds the row,
 * the secret is compared by SHA-256 in constant time.
 */
@Injectable()
export class AuthService implements Authenticator {
  private readonly adminTokenHash: Buffer | null;
  private readonly verifiedKeys = new Map<string, { principal: Principal; until: number }>();

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly keys: ApiKeysRepository,
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
    const row = await this.keys.credentials(keyId);
    const standing = row ? secretStanding(row, tokenHash, Date.now()) : null;
    if (!row || !standing) throw unauthenticated('Unknown or revoked token.');
    if (standing.ended) throw unauthenticated(standing.ended.replace('<key>', `API key ${keyId}`));
    const validUntil = standing.validUntil;
    const principal: Principal = {
      role: row.role,
      tenantId: row.tenant_id,
      keyId,
      actor: `key:${keyId}`,
      credential: { tokenSha256: cacheKey, validUntil },
    };
    this.verifiedKeys.delete(cacheKey);
    if (this.verifiedKeys.size >= KEY_CACHE_MAX_ENTRIES) {
      this.verifiedKeys.delete(this.verifiedKeys.keys().next().value as string);
    }
    // Remembered no longer than the secret works: an expiry or a rotation's overlap ends on time on every replica.
    const until =
      validUntil === null
        ? checkedAt + KEY_CACHE_TTL_MS
        : Math.min(checkedAt + KEY_CACHE_TTL_MS, checkedAt + (validUntil.getTime() - Date.now()));
    this.verifiedKeys.set(cacheKey, { principal, until });
    return principal;
  }

  /** Drops a key from this process's memory of verified keys: its next use reads the database. */
  forget(keyId: string): void {
    for (const [cacheKey, entry] of this.verifiedKeys) {
      if (entry.principal.keyId === keyId) this.verifiedKeys.delete(cacheKey);
    }
  }

  /** Creates a key; the returned secret is never stored and cannot be shown again. */
  newKey(
    role: Role,
    tenantId: string | null,
    label: string | null,
    expiresAt: Date | null = null,
  ): { entity: ApiKeyEntity; secret: string } {
    const id = randomUUID();
    const secret = newSecret(id);
    const entity = Object.assign(new ApiKeyEntity(), {
      id,
      role,
      tenantId,
      label,
      secretSha256: sha256(secret),
      revokedAt: null,
      expiresAt,
      previousSecretSha256: null,
      previousSecretExpiresAt: null,
      rotatedAt: null,
    });
    return { entity, secret };
  }

  /** A new secret for an existing key (a rotation): the token and the SHA-256 to store. */
  newSecretFor(keyId: string): { secret: string; sha256: string } {
    const secret = newSecret(keyId);
    return { secret, sha256: sha256(secret) };
  }
}
