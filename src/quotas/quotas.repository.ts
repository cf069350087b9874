import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { hasAnyQuota, type Month, type QuotaLimits } from './quota-limits';
import { TenantQuotaEntity } from './tenant-quota.entity';

export interface StoredQuota {
  limits: QuotaLimits;
  updatedAt: Date;
  updatedBy: string;
}

/**
 * The SQL of quotas. Usage is read through the database functions the enforcing triggers use
 * (migration TenantQuotas), so what a tenant is shown is what it is held to.
 */
@Injectable()
export class QuotasRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `fn` in one transaction; pass its manager to the methods that take one. */
  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  /**
   * Takes the tenant's quota lock for the rest of the transaction: the triggers take it to check, so a
   * change made under it applies to every booking that checks after it commits.
   */
  async lock(m: EntityManager, tenantId: string): Promise<void> {
    await m.query('SELECT tenant_quota_lock($1)', [tenantId]);
  }

  async find(tenantId: string, m: EntityManager = this.dataSource.manager): Promise<StoredQuota | null> {
    const row = await m.getRepository(TenantQuotaEntity).findOne({ where: { tenantId } });
    if (!row) return null;
    return {
      limits: {
        maxConcurrentHolds: row.maxConcurrentHolds,
        maxWindowSeconds: row.maxWindowSeconds,
        maxChannelHoursPerSpanPerMonth: row.maxChannelHoursPerSpanPerMonth,
      },
      updatedAt: row.updatedAt,
      updatedBy: row.updatedBy,
    };
  }

  /** Stores the limits; limits that bound nothing remove the row, so the tenant has no quota at all. */
  async write(m: EntityManager, tenantId: string, limits: QuotaLimits, actor: string): Promise<void> {
    if (!hasAnyQuota(limits)) {
      await m.query('DELETE FROM tenant_quotas WHERE tenant_id = $1', [tenantId]);
      return;
    }
    await m.query(
      `INSERT INTO tenant_quotas (tenant_id, max_concurrent_holds, max_window_seconds, max_channel_hours_per_span_per_month, updated_at, updated_by)
       VALUES ($1, $2, $3, $4, now(), $5)
       ON CONFLICT (tenant_id) DO UPDATE
         SET max_concurrent_holds = EXCLUDED.max_concurrent_holds,
             max_window_seconds = EXCLUDED.max_window_seconds,
             max_channel_hours_per_span_per_month = EXCLUDED.max_channel_hours_per_span_per_month,
             updated_at = EXCLUDED.updated_at,
             updated_by = EXCLUDED.updated_by`,
      [tenantId, limits.maxConcurrentHolds, limits.maxWindowSeconds, limits.maxChannelHoursPerSpanPerMonth, actor],
    );
  }

  /** Reservations of the tenant in state HELD now. */
  async heldCount(tenantId: string): Promise<number> {
    const rows: Array<{ held: number }> = await this.dataSource.query('SELECT tenant_held_count($1) AS held', [tenantId]);
    return rows[0].held;
  }

  /** Seconds the tenant holds on each link within the month; links it holds nothing on are left out. */
  async spanSeconds(tenantId: string, month: Month): Promise<Array<{ linkId: string; seconds: number }>> {
    const rows: Array<{ link_id: string; seconds: number }> = await this.dataSource.query(
      'SELECT link_id, seconds::float8 AS seconds FROM tenant_span_usage($1, $2::date) WHERE seconds > 0',
      [tenantId, month.firstDay],
    );
    return rows.map((r) => ({ linkId: r.link_id, seconds: r.seconds }));
  }
}
