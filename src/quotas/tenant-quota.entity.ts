import { Check, Column, Entity, JoinColumn, ManyToOne, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { TenantEntity } from '../tenancy/tenancy.entities';

/**
 * A tenant's quotas; null is no limit. A tenant without a row has none at all, and a row always sets at
 * least one, so the triggers that enforce them (migration TenantQuotas) cost a tenant without quotas one
 * lookup and no lock. The bounds are those of QUOTA_BOUNDS.
 */
@Entity({ name: 'tenant_quotas' })
@Check('tenant_quotas_max_concurrent_holds_check', `"max_concurrent_holds" BETWEEN 0 AND 10000`)
@Check('tenant_quotas_max_window_seconds_check', `"max_window_seconds" BETWEEN 60 AND 315360000`)
@Check('tenant_quotas_max_channel_hours_check', `"max_channel_hours_per_span_per_month" BETWEEN 0 AND 1000000`)
@Check(
  'tenant_quotas_some_limit_check',
  `num_nonnulls("max_concurrent_holds", "max_window_seconds", "max_channel_hours_per_span_per_month") > 0`,
)
export class TenantQuotaEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid', primaryKeyConstraintName: 'tenant_quotas_pkey' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'tenant_quotas_tenant_id_fkey' })
  tenant?: TenantEntity;

  /** Reservations in state HELD at once. */
  @Column({ name: 'max_concurrent_holds', type: 'integer', nullable: true })
  maxConcurrentHolds!: number | null;

  /** Longest window of one reservation, in seconds, on booking and on extension. */
  @Column({ name: 'max_window_seconds', type: 'integer', nullable: true })
  maxWindowSeconds!: number | null;

  /** Channel-hours held on one link within one calendar month (UTC). */
  @Column({ name: 'max_channel_hours_per_span_per_month', type: 'integer', nullable: true })
  maxChannelHoursPerSpanPerMonth!: number | null;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;

  @Column({ name: 'updated_by', type: 'text' })
  updatedBy!: string;
}
