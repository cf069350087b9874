import { requireText } from '../core/bounds';
import { isUuid } from '../core/ids';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { AppError, badInput, conflict, forbidden, invalidState, notFound, pgErrorCode, PgErrorCode } from '../core/errors/app-error';
import { decodeCursor, encodeCursor } from '../core/graphql/pagination';
import { AuthService } from './auth.service';
import type { Principal } from './principal';
import { ApiKeyEntity, Role, TenantEntity } from './tenancy.entities';
import { ApiKey, ApiKeyConnection, CreatedApiKey, RotatedApiKey, Tenant } from './tenancy.models';
import { visibleTenant } from '../core/visibility';

/** rotateApiKey(overlapSeconds): how long the replaced secret may keep working, at most (7 days). */
export const API_KEY_MAX_OVERLAP_SECONDS = 604_800;
/** An expiry must leave the key at least this long to live (one minute). */
export const API_KEY_MIN_LIFETIME_SECONDS = 60;

export interface ApiKeyFilter {
  tenantId?: string | null;
  first: number;
  after?: string | null;
}

/** Keys are paged on created_at to the millisecond, as precise as the cursor that carries it. */
const KEY_CREATED_MS = "date_trunc('milliseconds', k.created_at)";

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

/** A TENANT key manages its own tenant's keys only; other roles reach every key. */
function tenantScope(principal: Principal): string | null {
  return visibleTenant(principal);
}

@Injectable()
export class TenancyService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dataSource: DataSource,
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
      return await this.dataSource.transaction(async (m) => {
        const tenant = await m.save(Object.assign(new TenantEntity(), { id: randomUUID(), name }));
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
  async exists(id: string): Promise<boolean> {
    return isUuid(id) && (await this.dataSource.getRepository(TenantEntity).exists({ where: { id } }));
  }

  async tenants(): Promise<Tenant[]> {
    const rows = await this.dataSource.getRepository(TenantEntity).find({ order: { createdAt: 'ASC' } });
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
      if (!isUuid(tenantId!) || !(await this.dataSource.getRepository(TenantEntity).exists({ where: { id: tenantId! } }))) {
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
    await this.dataSource.transaction(async (m) => {
      await m.save(entity);
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
    const scope = tenantScope(principal);
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
    const outcome: { key: ApiKeyEntity } | { refused: AppError; tenantId: string | null } = await this.dataSource.transaction(async (m) => {
      const [key] = await m.getRepository(ApiKeyEntity).find({ where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!key || (scope !== null && key.tenantId !== scope)) return { refused: notFound('API key', id), tenantId: null };
      const now = new Date();
      if (key.revokedAt)
        return {
          refused: invalidState(
            `API key ${id} was revoked at ${key.revokedAt.toISOString()}; a revoked key is not rotated. Create a new key.`,
            { revokedAt: key.revokedAt.toISOString() },
          ),
          tenantId: key.tenantId,
        };
      if (key.expiresAt && key.expiresAt <= now)
        return {
          refused: invalidState(
            `API key ${id} expired at ${key.expiresAt.toISOString()}; an expired key is not rotated. Create a new key.`,
            { expiresAt: key.expiresAt.toISOString() },
          ),
          tenantId: key.tenantId,
        };
      const overlapEnd = new Date(now.getTime() + overlapSeconds * 1000);
      const previousSecretExpiresAt = key.expiresAt && key.expiresAt < overlapEnd ? key.expiresAt : overlapEnd;
      const newExpiry = expiresAt === undefined || expiresAt === null ? key.expiresAt : expiresAt;
      await m.query(
        `UPDATE api_keys SET previous_secret_sha256 = secret_sha256, previous_secret_expires_at = $2, secret_sha256 = $3, expires_at = $4, rotated_at = $5 WHERE id = $1`,
        [id, previousSecretExpiresAt, secretSha256, newExpiry, now],
      );
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
    const scope = tenantScope(principal);
    if (scope !== null && f.tenantId && f.tenantId !== scope) {
      throw forbidden('A TENANT key lists the keys of its own tenant only; omit tenantId.');
    }
    const tenantId = scope ?? f.tenantId ?? null;
    const q = this.dataSource.getRepository(ApiKeyEntity).createQueryBuilder('k');
    if (tenantId !== null) q.andWhere('k.tenant_id = :tenantId', { tenantId: isUuid(tenantId) ? tenantId : null });
    if (f.after) {
      const c = decodeCursor(f.after);
      q.andWhere(`(${KEY_CREATED_MS}, k.id) < (:createdAt, :id)`, { createdAt: c.createdAt, id: isUuid(c.id) ? c.id : null });
    }
    const rows = await q
      .orderBy(KEY_CREATED_MS, 'DESC')
      .addOrderBy('k.id', 'DESC')
      .limit(f.first + 1)
      .getMany();
    const edges = rows.slice(0, f.first).map((k) => ({ cursor: encodeCursor(k.createdAt, k.id), node: toApiKey(k) }));
    return { edges, pageInfo: { hasNextPage: rows.length > f.first, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  /**
   * Revokes a key for good: from the commit on, it authenticates nothing, and its open subscriptions end
   * (ApiKeySessions, told by the database). Revoking a revoked key changes nothing and returns it as it is.
   */
  async revokeApiKey(principal: Principal, id: string): Promise<ApiKey> {
    if (!isUuid(id)) throw notFound('API key', id);
    const scope = tenantScope(principal);
    const key = await this.dataSource.transaction(async (m) => {
      const revoked: Array<{ id: string }> = await m.query(
        `WITH revoked AS (
           UPDATE api_keys SET revoked_at = now()
            WHERE id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR tenant_id = $2::uuid)
           RETURNING id)
         SELECT id FROM revoked`,
        [id, scope],
      );
      const found = await m.getRepository(ApiKeyEntity).findOne({ where: { id } });
      if (!found || (scope !== null && found.tenantId !== scope)) throw notFound('API key', id);
      if (revoked.length > 0) {
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
