import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In } from 'typeorm';
import { isUuid } from '../core/ids';
import { TenantEntity } from './tenancy.entities';

/** Every statement on the tenants table. */
@Injectable()
export class TenantsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `fn` in one transaction; the repository's methods take its manager. */
  transaction<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  insert(tenant: TenantEntity, manager: EntityManager): Promise<TenantEntity> {
    return manager.save(tenant);
  }

  /** Whether the tenant exists; a malformed id names none. */
  async exists(id: string): Promise<boolean> {
    return isUuid(id) && (await this.dataSource.getRepository(TenantEntity).exists({ where: { id } }));
  }

  /** Those of `ids` that name a tenant; malformed ids name none. */
  async existing(ids: readonly string[]): Promise<string[]> {
    const candidates = ids.filter(isUuid);
    if (candidates.length === 0) return [];
    const rows = await this.dataSource.getRepository(TenantEntity).find({ select: { id: true }, where: { id: In(candidates) } });
    return rows.map((r) => r.id);
  }

  /** Every tenant, oldest first. */
  list(): Promise<TenantEntity[]> {
    return this.dataSource.getRepository(TenantEntity).find({ order: { createdAt: 'ASC' } });
  }
}
