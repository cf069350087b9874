import { requireText } from '../core/bounds';
import { isUuid } from '../core/ids';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { badInput, conflict, forbidden, notFound, pgErrorCode, PgErrorCode } from '../core/errors/app-error';
import { decodeCursor, encodeCursor } from '../core/graphql/pagination';
import { AuthService } from './auth.service';
import type { Principal } from './principal';
import { ApiKeyEntity, Role, TenantEntity } from './tenancy.entities';
import { ApiKey, ApiKeyConnection, CreatedApiKey, Tenant } from './tenancy.models';

export interface ApiKeyFilter {
  tenantId?: string | null;
  first: number;
  after?: string | null;
}

/** Keys are paged on created_at to the millisecond, as precise as the cursor that carries it. */
const KEY_CREATED_MS = "date_trunc('milliseconds', k.created_at)";

function toApiKey(k: ApiKeyEntity): ApiKey {
  return { id: k.id, role: k.role, tenantId: k.tenantId, label: k.label, createdAt: k.createdAt, revokedAt: k.revokedAt };
}

/** A TENANT key manages its own tenant's keys only; other roles reach every key. */
function tenantScope(principal: Principal): string | null {
  return principal.role === Role.TENANT ? principal.tenantId : null;
}


@Injectable()
export class TenancyService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly auth: AuthService,
    private readonly audit: AuditService,
  ) {}

  async createTenant(principal: Principal, rawName: string): Promise<Tenant> {
    const name = rawName.trim();
    if (name.length < 1 || name.length > 200) throw badInput('name', 'name must be 1 to 200 characters.');
    try {
      return await this.dataSource.transaction(async (m) => {
        const tenant = await m.save(Object.assign(new TenantEntity(), { id: randomUUID(), name }));
        await this.audit.append(m, { actor: principal.actor, action: 'tenant.created', entityType: 'tenant', entityId: tenant.id, data: { name } });
        return { id: tenant.id, name: tenant.name, createdAt: tenant.createdAt };
      });
    } catch (error) {
      if (pgErrorCode(error) === PgErrorCode.UNIQUE_VIOLATION) throw conflict(`A tenant named ${JSON.stringify(name)} already exists.`, 'name');
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

  async createApiKey(principal: Principal, role: Role, tenantId: string | null, label: string | null): Promise<CreatedApiKey> {
    if (role === Role.TENANT) {
      if (!tenantId) throw badInput('tenantId', 'A TENANT key needs tenantId: the tenant it acts for.');
      if (!isUuid(tenantId) || !(await this.dataSource.getRepository(TenantEntity).exists({ where: { id: tenantId } }))) {
        throw badInput('tenantId', `Tenant ${tenantId} does not exist; create it with createTenant first.`);
      }
    } else if (tenantId) {
      throw badInput('tenantId', `A ${role} key acts for all tenants; omit tenantId.`);
    }
    const keyLabel = label === null ? null : requireText('label', label, 200, { optional: true }) || null;
    const { entity, secret } = this.auth.newKey(role, tenantId, keyLabel);
    await this.dataSource.transaction(async (m) => {
      await m.save(entity);
      await this.audit.append(m, {
        actor: principal.actor,
        action: 'api-key.created',
        entityType: 'api-key',
        entityId: entity.id,
        data: { role, tenantId, label: keyLabel },
      });
    });
    return { id: entity.id, secret, role, tenantId };
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
    const rows = await q.orderBy(KEY_CREATED_MS, 'DESC').addOrderBy('k.id', 'DESC').limit(f.first + 1).getMany();
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
