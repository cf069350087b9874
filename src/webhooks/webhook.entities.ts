import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, Unique } from 'typeorm';

export enum WebhookTopic {
  /** Each usage event as it is recorded (CloudEvents 1.0 JSON). */
  USAGE_EVENT = 'USAGE_EVENT',
  /** An invoice preview, sent on request. */
  INVOICE_PREVIEW = 'INVOICE_PREVIEW',
  /** Each signed checkpoint of the audit chain (docs/audit.md); the only topic a TENANT key may subscribe to. */
  AUDIT_CHECKPOINT = 'AUDIT_CHECKPOINT',
}

export enum DeliveryState {
  PENDING = 'PENDING',
  DELIVERED = 'DELIVERED',
  /** Every attempt failed; visible and re-drivable through the API. */
  DEAD = 'DEAD',
}

/**
 * A billing system's (or, for AUDIT_CHECKPOINT, a tenant's) endpoint; the secret signs every delivery
 * (HMAC-SHA256). The secret is kept sealed (AES-256-GCM) under the key-encryption key from configuration,
 * bound to the subscription's id, and never stored in clear.
 */
@Entity({ name: 'webhook_subscriptions' })
@Check('webhook_subscriptions_url_check', `"url" ~ '^https?://'`)
export class WebhookSubscriptionEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'webhook_subscriptions_pkey' })
  id!: string;

  @Column({ type: 'text' })
  url!: string;

  /** The signing secret, sealed (src/protection/envelope.ts `seal`, context `webhook-secret:<id>`). Shown once, in clear, at creation. */
  @Column({ name: 'secret_sealed', type: 'bytea' })
  secretSealed!: Buffer;

  /** Which key-encryption key sealed it (a hash of the key, never the key). */
  @Column({ name: 'kek_id', type: 'text' })
  kekId!: string;

  @Column({ type: 'text', array: true })
  topics!: WebhookTopic[];

  /** Deliver only this tenant's events; null: every tenant's. */
  @Column({ name: 'tenant_id', type: 'uuid', nullable: true })
  tenantId!: string | null;

  @Column({ type: 'boolean', default: true })
  active!: boolean;

  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

/**
 * One event for one subscription. The body is stored once, so every retry and every re-drive sends the same
 * bytes under the same event id: a receiver deduplicates on it.
 */
@Entity({ name: 'webhook_deliveries' })
@Unique('webhook_deliveries_event_key', ['subscriptionId', 'eventId'])
@Index('webhook_deliveries_state_idx', ['state', 'createdAt'])
@Check('webhook_deliveries_state_check', `"state" IN ('PENDING', 'DELIVERED', 'DEAD')`)
export class WebhookDeliveryEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'webhook_deliveries_pkey' })
  id!: string;

  @Column({ name: 'subscription_id', type: 'uuid' })
  subscriptionId!: string;

  @ManyToOne(() => WebhookSubscriptionEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'subscription_id', foreignKeyConstraintName: 'webhook_deliveries_subscription_id_fkey' })
  subscription?: WebhookSubscriptionEntity;

  @Column({ type: 'text' })
  topic!: WebhookTopic;

  /** The CloudEvents `source` + `id` of a usage event, or the invoice preview's key. */
  @Column({ name: 'event_id', type: 'text' })
  eventId!: string;

  @Column({ type: 'text' })
  body!: string;

  @Column({ type: 'text' })
  state!: DeliveryState;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  /** Re-drives so far: each starts a fresh round of attempts under a new job id. */
  @Column({ type: 'integer', default: 0 })
  round!: number;

  @Column({ name: 'last_status', type: 'integer', nullable: true })
  lastStatus!: number | null;

  @Column({ name: 'last_error', type: 'text', nullable: true })
  lastError!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true })
  deliveredAt!: Date | null;
}
