import { requireText } from '../core/bounds';
import { isUuid } from '../core/ids';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../audit/audit.service';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { AppError, badInput, conflict, forbidden, invalidState, notFound, pgErrorCode, PgErrorCode } from '../core/errors/app-error';
import { decodeCursor, encodeCursor } from '../core/graphql/pagination';
import { AuthService } from './auth.service';
import type { Principal } from './principal';
import { ApiKeyEntity, Role, TenantEntity } from './tenancy.entities';
import { ApiKey, ApiKeyConnection, CreatedApiKey, RotatedApiKey, Tenant } from './tenancy.models';
import { actingTenant, canSee, visibleTenant } from '../core/visibility';
import { ApiKeysRepository } from './api-keys.repository';
import { TenantsRepository } from './tenants.repository';

/** rotateApiKey(overlapSeconds): how long the replaced secret may keep working, at most (7 days). */
export const API_KEY_MAX_OVERLAP_SECONDS = 604_800;
/** An expiry must leave the key at least this long to live (one minute). */
export const API_KEY_MIN_LIFETIME_SECONDS = 60;

export interface ApiKeyFilter {
  tenantId?: string | null;
  first: number;
  after?: string | null;
}

function toApiKey(k: ApiKeyEntity): ApiKey {
  return {
    id: k.id,
    role: k.role,
    tenantId: k.tenantId,
    label: k.label,
    createdAt: k.createdAt,
    revokedAt: k.revokedAt,
    expiresAt: k.expiresAt,
    rotatedAt: k.rotatedAt,
    previousSecretExpiresAt: k.previousSecretExpiresAt,
  };
}

/** Why a key found for rotation is not rotated: it is revoked or expired; null: it may be. */
function rotationRefusal(key: ApiKeyEntity, id: string, now: Date): AppError | null {
  if (key.revokedAt) {
    return invalidState(`API key ${id} was revoked at ${key.revokedAt.toISOString()}; a revoked key is not rotated. Create a new key.`, {
      revokedAt: key.revokedAt.toISOString(),
    });
  }
  if (key.expiresAt && key.expiresAt <= now) {
    return invalidState(`API key ${id} expired at ${key.expiresAt.toISOString()}; an expired key is not rotated. Create a new key.`, {
      expiresAt: key.expiresAt.toISOString(),
    });
  }
  return null;
}

@Injectable()
export class TenancyService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tenantRows: TenantsRepository,
    private readonly keys: ApiKeysRepository,
    private readonly auth: AuthService,
    private readonly audit: AuditService,
  ) {}

  /** Appends `api-key.refused` (operation, code, field, reason) on its own, then throws: nothing else changed. */
  private refuseKeyOperation(
    principal: Principal,
    operation: string,
    error: AppError,
    key: { id?: string | null; tenantId?: string | null } = {},
  ): Promise<never> {
    return this.audit.refuse(
      principal,
      // A tenant's refusal is on its own record; an operator's, on the record of the key's tenant (found from the key).
      {
        action: 'api-key.refused',
        operation,
        entityType: 'api-key',
        entityId: key.id ?? null,
        tenantId: visibleTenant(principal, key.tenantId),
      },
      error,
    );
  }

  /** An expiry given for a key or a rotated secret: later than a minute from now, within APN_API_KEY_MAX_LIFETIME_S. */
  private expiryProblem(expiresAt: Date): AppError | null {
    const now = Date.now();
    const max = this.config.apiKeyMaxLifetimeSeconds;
    if (expiresAt.getTime() < now + API_KEY_MIN_LIFETIME_SECONDS * 1000) {
      return badInput('expiresAt', `expiresAt (${expiresAt.toISOString()}) must be at least ${API_KEY_MIN_LIFETIME_SECONDS} s from now.`);
    }
    if (expiresAt.getTime() > now + max * 1000) {
      return badInput(
        'expiresAt',
        `expiresAt (${expiresAt.toISOString()}) must be at most ${max} s (APN_API_KEY_MAX_LIFETIME_S) from now, i.e. by ${new Date(now + max * 1000).toISOString()}.`,
        { maxLifetimeSeconds: max },
      );
    }
    return null;
  }

  async createTenant(principal: Principal, rawName: string): Promise<Tenant> {
    const name = rawName.trim();
    if (name.length < 1 || name.length > 200) throw badInput('name', 'name must be 1 to 200 characters.');
    try {
      return await this.tenantRows.transaction(async (m) => {
        const tenant = await this.tenantRows.insert(Object.assign(new TenantEntity(), { id: randomUUID(), name }), m);
        await this.audit.append(m, {
          actor: principal.actor,
          action: 'tenant.created',
          entityType: 'tenant',
          entityId: tenant.id,
          data: { name },
        });
        return { id: tenant.id, name: tenant.name, createdAt: tenant.createdAt };
      });
    } catch (error) {
      if (pgErrorCode(error) === PgErrorCode.UNIQUE_VIOLATION)
        throw conflict(`A tenant named ${JSON.stringify(name)} already exists.`, 'name');
      throw error;
    }
  }

  /** Whether the tenant exists: how other capabilities learn it, rather than reading the table. */
  exists(id: string): Promise<boolean> {
    return this.tenantRows.exists(id);
  }

  /** Those of `ids` that name a tenant: for checking a batch at once. */
  existing(ids: readonly string[]): Promise<string[]> {
    return this.tenantRows.existing(ids);
  }

  async tenants(): Promise<Tenant[]> {
    const rows = await this.tenantRows.list();
    return rows.map((t) => ({ id: t.id, name: t.name, createdAt: t.createdAt }));
  }

  async createApiKey(
    principal: Principal,
    role: Role,
    tenantId: string | null,
    label: string | null,
    expiresAt: Date | null = null,
  ): Promise<CreatedApiKey> {
    const refuse = (error: AppError) =>
      this.refuseKeyOperation(principal, 'createApiKey', error, { tenantId: tenantId && isUuid(tenantId) ? tenantId : null });
    if (role === Role.TENANT) {
      if (!tenantId) await refuse(badInput('tenantId', 'A TENANT key needs tenantId: the tenant it acts for.'));
      if (!(await this.tenantRows.exists(tenantId!))) {
        await this.refuseKeyOperation(
          principal,
          'createApiKey',
          badInput('tenantId', `Tenant ${tenantId} does not exist; create it with createTenant first.`),
        );
      }
    } else if (tenantId) {
      await this.refuseKeyOperation(principal, 'createApiKey', badInput('tenantId', `A ${role} key acts for all tenants; omit tenantId.`));
    }
    let keyLabel: string | null = null;
    try {
      keyLabel = label === null ? null : requireText('label', label, 200, { optional: true }) || null;
    } catch (error) {
      await refuse(error as AppError);
    }
    const expiryProblem = expiresAt ? this.expiryProblem(expiresAt) : null;
    if (expiryProblem) await refuse(expiryProblem);
    const { entity, secret } = this.auth.newKey(role, tenantId, keyLabel, expiresAt);
    await this.keys.transaction(async (m) => {
      await this.keys.insert(entity, m);
      await this.audit.append(m, {
        actor: principal.actor,
        action: 'api-key.created',
        entityType: 'api-key',
        entityId: entity.id,
        tenantId,
        data: { role, tenantId, label: keyLabel, expiresAt: expiresAt?.toISOString() ?? null },
      });
    });
    return { id: entity.id, secret, role, tenantId, expiresAt };
  }

  /**
   * Gives a key a new secret without downtime: the old secret keeps working for `overlapSeconds` more (or
   * until the key's expiry, if earlier), then is refused (UNAUTHENTICATED): on time on every replica when
   * the overlap is at least KEY_CACHE_TTL_MS (a replica remembers a verified secret no longer than it works),
   * within KEY_CACHE_TTL_MS of the rotation on the other replicas for a shorter one, as a revocation; the key id,
   * role, tenant and label stay, so history and audit keep one actor. `expiresAt` sets the new secret's
   * expiry (default: the key's current one). A second rotation replaces the previous secret: the one before
   * it stops at once. Revoked or expired keys are not rotated. Every refusal is audited and changes nothing.
   */
  async rotateApiKey(principal: Principal, id: string, overlapSeconds: number, expiresAt: Date | null | undefined): Promise<RotatedApiKey> {
    const refuse = (error: AppError, key: { tenantId?: string | null } = {}) =>
      this.refuseKeyOperation(principal, 'rotateApiKey', error, { id: isUuid(id) ? id : null, ...key });
    if (!isUuid(id)) await refuse(badInput('id', 'id: is not an API key id (a UUID); take one from apiKeys.'));
    if (!Number.isInteger(overlapSeconds) || overlapSeconds < 0 || overlapSeconds > API_KEY_MAX_OVERLAP_SECONDS) {
      await refuse(
        badInput(
          'overlapSeconds',
          `overlapSeconds must be a whole number from 0 to ${API_KEY_MAX_OVERLAP_SECONDS} (7 days); got ${overlapSeconds}.`,
          { maxOverlapSeconds: API_KEY_MAX_OVERLAP_SECONDS },
        ),
      );
    }
    if (expiresAt) {
      const problem = this.expiryProblem(expiresAt);
      if (problem) await refuse(problem);
    }
    const { secret, sha256: secretSha256 } = this.auth.newSecretFor(id);
    const outcome: { key: ApiKeyEntity } | { refused: AppError; tenantId: string | null } = await this.keys.transaction(async (m) => {
      const key = await this.keys.lock(id, m);
      if (!key || !canSee(principal, key.tenantId)) return { refused: notFound('API key', id), tenantId: null };
      const now = new Date();
      const refused = rotationRefusal(key, id, now);
      if (refused) return { refused, tenantId: key.tenantId };
      const overlapEnd = new Date(now.getTime() + overlapSeconds * 1000);
      const previousSecretExpiresAt = key.expiresAt && key.expiresAt < overlapEnd ? key.expiresAt : overlapEnd;
      const newExpiry = expiresAt === undefined || expiresAt === null ? key.expiresAt : expiresAt;
      await this.keys.rotate(id, { previousSecretExpiresAt, secretSha256, expiresAt: newExpiry, rotatedAt: now }, m);
      await this.audit.append(m, {
        actor: principal.actor,
        action: 'api-key.rotated',
        entityType: 'api-key',
        entityId: id,
        tenantId: key.tenantId,
        data: {
          overlapSeconds,
          previousSecretExpiresAt: previousSecretExpiresAt.toISOString(),
          expiresAt: newExpiry?.toISOString() ?? null,
          ...(key.previousSecretExpiresAt && key.previousSecretExpiresAt > now ? { earlierSecretEndedAt: now.toISOString() } : {}),
        },
      });
      return { key: Object.assign(key, { previousSecretExpiresAt, expiresAt: newExpiry, rotatedAt: now }) };
    });
    if ('refused' in outcome) return refuse(outcome.refused, { tenantId: outcome.tenantId });
    // This process forgets the key's secrets at once; the others within KEY_CACHE_TTL_MS, and never past the old secret's end.
    this.auth.forget(id);
    return { id, secret, expiresAt: outcome.key.expiresAt, previousSecretExpiresAt: outcome.key.previousSecretExpiresAt! };
  }

  /** Keys newest first: every key (or one tenant's) for an operator, its own tenant's for a tenant. */
  async apiKeys(principal: Principal, f: ApiKeyFilter): Promise<ApiKeyConnection> {
    const tenantId = actingTenant(principal, f.tenantId, () =>
      forbidden('A TENANT key lists the keys of its own tenant only; omit tenantId.'),
    );
    const after = f.after ? decodeCursor(f.after) : null;
    const page = await this.keys.page({ tenantId, first: f.first, after });
    const edges = page.rows.map((k) => ({ cursor: encodeCursor(k.createdAt, k.id), node: toApiKey(k) }));
    return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  /**
   * Revokes a key for good: from the commit on, it authenticates nothing, and its open subscriptions end
   * (ApiKeySessions, told by the database). Revoking a revoked key changes nothing and returns it as it is.
   */
  async revokeApiKey(principal: Principal, id: string): Promise<ApiKey> {
    if (!isUuid(id)) throw notFound('API key', id);
    const key = await this.keys.transaction(async (m) => {
      const revoked = await this.keys.revoke(id, visibleTenant(principal), m);
      const found = await this.keys.find(id, m);
      if (!found || !canSee(principal, found.tenantId)) throw notFound('API key', id);
      if (revoked) {
        await this.audit.append(m, {
          actor: principal.actor,
          action: 'api-key.revoked',
          entityType: 'api-key',
          entityId: id,
          data: { role: found.role, tenantId: found.tenantId, label: found.label },
        });
      }
      return found;
    });
    this.auth.forget(id);
    return toApiKey(key);
  }
}
