import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, Unique } from 'typeorm';
import { TenantEntity } from '../tenancy/tenancy.entities';

/**
 * One usage event, CloudEvents 1.0: `source` + `id` identify it forever, `type` is the meter, `subject` the
 * tenant, `time` the start of the hour window the quantity was integrated over, `data` the quantity (decimal
 * text), its unit and the attributes. Rows are never updated except `superseded`, which is set when a later
 * revision of the same meter, resource and window arrives; the price attributes are copied out of `data`
 * into columns so an invoice aggregates without reading JSON.
 */
@Entity({ name: 'usage_events' })
@Index('usage_events_tenant_time_idx', ['tenantId', 'time'])
@Index('usage_events_series_idx', ['type', 'resourceId', 'time', 'revision'])
@Check('usage_events_time_check', `extract(epoch FROM "time") % 3600 = 0`)
@Check('usage_events_quantity_check', `"quantity" >= 0`)
@Check('usage_events_revision_check', `"revision" >= 1`)
export class UsageEventEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'usage_events_pkey' })
  source!: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'usage_events_pkey' })
  id!: string;

  @Column({ type: 'text' })
  type!: string;

  @Column({ type: 'text' })
  subject!: string;

  @Column({ type: 'timestamptz' })
  time!: Date;

  @Column({ type: 'jsonb' })
  data!: Record<string, unknown>;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'usage_events_tenant_id_fkey' })
  tenant?: TenantEntity;

  /** The metered thing (reservation, mount, allocation id); for an ingested event without one, `source/id`. */
  @Column({ name: 'resource_id', type: 'text' })
  resourceId!: string;

  @Column({ type: 'integer' })
  revision!: number;

  @Column({ type: 'boolean', default: false })
  superseded!: boolean;

  @Column({ type: 'numeric' })
  quantity!: string;

  @Column({ name: 'rate_gbps', type: 'integer', nullable: true })
  rateGbps!: number | null;

  @Column({ name: 'distance_class', type: 'text', nullable: true })
  distanceClass!: string | null;

  @Column({ type: 'text', nullable: true })
  design!: string | null;

  @Column({ name: 'applies_to', type: 'text', nullable: true })
  appliesTo!: string | null;

  @CreateDateColumn({ name: 'recorded_at', type: 'timestamptz' })
  recordedAt!: Date;
}

/** A version of the prices. Immutable: a new price is a new version. */
@Entity({ name: 'rate_cards' })
@Unique('rate_cards_version_key', ['version'])
@Check('rate_cards_version_check', `"version" >= 2`)
export class RateCardEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'rate_cards_pkey' })
  id!: string;

  @Column({ type: 'integer' })
  version!: number;

  @Column({ name: 'effective_from', type: 'timestamptz' })
  effectiveFrom!: Date;

  @Column({ type: 'text' })
  currency!: string;

  @Column({ type: 'jsonb' })
  prices!: Record<string, unknown>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

/**
 * Latest-revision usage summed per tenant, UTC day, meter and price attributes, kept by triggers on
 * usage_events (a row added unless stored superseded; a row taken away when superseded), so an invoice
 * reads a few hundred rows instead of every event. Absent attributes are '' and 0, to be part of the key.
 */
@Entity({ name: 'usage_daily_totals' })
export class UsageDailyTotalEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid', primaryKeyConstraintName: 'usage_daily_totals_pkey' })
  tenantId!: string;

  @PrimaryColumn({ type: 'date', primaryKeyConstraintName: 'usage_daily_totals_pkey' })
  day!: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'usage_daily_totals_pkey' })
  type!: string;

  @PrimaryColumn({ name: 'rate_gbps', type: 'integer', primaryKeyConstraintName: 'usage_daily_totals_pkey' })
  rateGbps!: number;

  @PrimaryColumn({ name: 'distance_class', type: 'text', primaryKeyConstraintName: 'usage_daily_totals_pkey' })
  distanceClass!: string;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'usage_daily_totals_pkey' })
  design!: string;

  @PrimaryColumn({ name: 'applies_to', type: 'text', primaryKeyConstraintName: 'usage_daily_totals_pkey' })
  appliesTo!: string;

  @Column({ type: 'numeric' })
  quantity!: string;

  /** Of `quantity`, what the service's shadow energy events computed from measured power (see usage_measured_quantity). */
  @Column({ name: 'measured_quantity', type: 'numeric', default: 0 })
  measuredQuantity!: string;

  @Column({ type: 'bigint' })
  events!: string;
}
