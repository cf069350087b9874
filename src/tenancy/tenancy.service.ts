import { requireText } from '../core/bounds';
import { isUuid } from '../core/ids';
import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { badInput, conflict, pgErrorCode, PgErrorCode } from '../core/errors/app-error';
import { AuthService } from './auth.service';
import type { Principal } from './principal';
import { Role, TenantEntity } from './tenancy.entities';
import { CreatedApiKey, Tenant } from './tenancy.models';


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
}
