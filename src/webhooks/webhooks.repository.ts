import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { DeliveryState, WebhookDeliveryEntity, WebhookSubscriptionEntity, WebhookTopic } from './webhook.entities';

/** A delivery as the queue needs it: which one, and which round of attempts. */
export type QueuedDelivery = Pick<WebhookDeliveryEntity, 'id' | 'round'>;

/** One page of a list, read one row past the page to tell whether another follows. */
export interface WebhookPage<T> {
  rows: T[];
  hasNextPage: boolean;
}

/** A keyset position: the (createdAt, id) of the last row of the previous page. */
export interface WebhookCursor {
  createdAt: Date;
  id: string;
}

export interface DeliveryListFilter {
  /** Only deliveries of subscriptions this actor created; null: every delivery. */
  owner: string | null;
  state?: DeliveryState | null;
  subscriptionId?: string | null;
  first: number;
  after: WebhookCursor | null;
}

/** Rows are paged on created_at to the millisecond, as precise as the cursor that carries it. */
const CREATED_MS = (alias: string) => `date_trunc('milliseconds', ${alias}.created_at)`;

/** Every statement on webhook_subscriptions and webhook_deliveries. */
@Injectable()
export class WebhooksRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `fn` in one transaction; the repository's methods take its manager. */
  transaction<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  private manager(manager?: EntityManager): EntityManager {
    return manager ?? this.dataSource.manager;
  }

  async insertSubscription(subscription: WebhookSubscriptionEntity, manager?: EntityManager): Promise<void> {
    await this.manager(manager).getRepository(WebhookSubscriptionEntity).insert(subscription);
  }

  /** The subscription, if it exists and (with `owner`) that actor created it. */
  subscriptionOf(id: string, owner: string | null): Promise<WebhookSubscriptionEntity | null> {
    return this.manager()
      .getRepository(WebhookSubscriptionEntity)
      .findOneBy(owner === null ? { id } : { id, createdBy: owner });
  }

  subscription(id: string): Promise<WebhookSubscriptionEntity> {
    return this.manager().getRepository(WebhookSubscriptionEntity).findOneByOrFail({ id });
  }

  async deactivate(id: string, manager?: EntityManager): Promise<void> {
    await this.manager(manager).query('UPDATE webhook_subscriptions SET active = false WHERE id = $1', [id]);
  }

  /** Subscriptions oldest first (by creation, then id); with `owner`, those that actor created. */
  async subscriptions(filter: {
    owner: string | null;
    first: number;
    after: WebhookCursor | null;
  }): Promise<WebhookPage<WebhookSubscriptionEntity>> {
    const q = this.manager().getRepository(WebhookSubscriptionEntity).createQueryBuilder('s');
    if (filter.owner !== null) q.andWhere('s.created_by = :owner', { owner: filter.owner });
    if (filter.after) {
      q.andWhere(`(${CREATED_MS('s')}, s.id) > (:createdAt, :id)`, { createdAt: filter.after.createdAt, id: filter.after.id });
    }
    const rows = await q
      .orderBy(CREATED_MS('s'), 'ASC')
      .addOrderBy('s.id', 'ASC')
      .limit(filter.first + 1)
      .getMany();
    return { rows: rows.slice(0, filter.first), hasNextPage: rows.length > filter.first };
  }

  /** Deliveries newest first (ties by id); with `owner`, those of the subscriptions that actor created. */
  async deliveries(filter: DeliveryListFilter): Promise<WebhookPage<WebhookDeliveryEntity>> {
    const q = this.manager().getRepository(WebhookDeliveryEntity).createQueryBuilder('d');
    if (filter.owner !== null) q.innerJoin('d.subscription', 's').andWhere('s.created_by = :owner', { owner: filter.owner });
    if (filter.state) q.andWhere('d.state = :state', { state: filter.state });
    if (filter.subscriptionId) q.andWhere('d.subscription_id = :s', { s: filter.subscriptionId });
    if (filter.after) {
      // Newest first, and within one millisecond by id: after the cursor is older, or as old with a greater id.
      q.andWhere(`(${CREATED_MS('d')} < :createdAt OR (${CREATED_MS('d')} = :createdAt AND d.id > :id))`, {
        createdAt: filter.after.createdAt,
        id: filter.after.id,
      });
    }
    const rows = await q
      .orderBy(CREATED_MS('d'), 'DESC')
      .addOrderBy('d.id', 'ASC')
      .limit(filter.first + 1)
      .getMany();
    return { rows: rows.slice(0, filter.first), hasNextPage: rows.length > filter.first };
  }

  delivery(id: string): Promise<WebhookDeliveryEntity | null> {
    return this.manager().getRepository(WebhookDeliveryEntity).findOneBy({ id });
  }

  /** The delivery, locked for update until the transaction ends, or null. */
  async lockDelivery(id: string, manager: EntityManager): Promise<WebhookDeliveryEntity | null> {
    const [delivery] = await manager.getRepository(WebhookDeliveryEntity).find({ where: { id }, lock: { mode: 'pessimistic_write' } });
    return delivery ?? null;
  }

  /** Whether that actor created the subscription. */
  createdBy(subscriptionId: string, owner: string, manager?: EntityManager): Promise<boolean> {
    return this.manager(manager).getRepository(WebhookSubscriptionEntity).existsBy({ id: subscriptionId, createdBy: owner });
  }

  /** Back to PENDING for a fresh round of attempts. */
  async startRound(id: string, manager?: EntityManager): Promise<void> {
    await this.manager(manager).query(`UPDATE webhook_deliveries SET state = 'PENDING', round = round + 1 WHERE id = $1`, [id]);
  }

  /**
   * A PENDING delivery of each event to every active subscription to the topic (and the event's tenant); a
   * (subscription, event) pair already delivered or queued is left as it is. Returns the new deliveries.
   */
  insertDeliveries(
    topic: WebhookTopic,
    events: ReadonlyArray<{ eventId: string; tenantId: string | null; body: string }>,
  ): Promise<QueuedDelivery[]> {
    return this.dataSource.query(
      `INSERT INTO webhook_deliveries (id, subscription_id, topic, event_id, body, state, attempts, round)
       SELECT gen_random_uuid(), s.id, $1, e.event_id, e.body, 'PENDING', 0, 0
         FROM unnest($2::text[], $3::uuid[], $4::text[]) AS e(event_id, tenant_id, body)
         JOIN webhook_subscriptions s ON s.active AND $1 = ANY (s.topics) AND (s.tenant_id IS NULL OR e.tenant_id IS NULL OR s.tenant_id = e.tenant_id)
       ON CONFLICT ON CONSTRAINT webhook_deliveries_event_key DO NOTHING
       RETURNING id, round`,
      [topic, events.map((e) => e.eventId), events.map((e) => e.tenantId), events.map((e) => e.body)],
    );
  }

  /**
   * A PENDING delivery of stored usage events, as CloudEvents 1.0 JSON built from the stored row, to every
   * active USAGE_EVENT subscription (and the event's tenant): those `keys` name, or without keys every event
   * recorded in the last hour (since the subscription began). Returns the new deliveries.
   */
  insertUsageEventDeliveries(keys?: ReadonlyArray<{ source: string; id: string }>): Promise<QueuedDelivery[]> {
    return this.dataSource.query(
      `INSERT INTO webhook_deliveries (id, subscription_id, topic, event_id, body, state, attempts, round)
       SELECT gen_random_uuid(), s.id, 'USAGE_EVENT', e.source || '#' || e.id,
              jsonb_build_object('specversion', '1.0', 'id', e.id, 'source', e.source, 'type', e.type, 'subject', e.subject,
                                 'time', to_char(e.time AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                                 'datacontenttype', 'application/json', 'data', e.data)::text,
              'PENDING', 0, 0
         FROM usage_events e
         JOIN webhook_subscriptions s ON s.active AND 'USAGE_EVENT' = ANY (s.topics) AND (s.tenant_id IS NULL OR s.tenant_id = e.tenant_id)
        WHERE ${keys ? '(e.source, e.id) IN (SELECT * FROM unnest($1::text[], $2::text[]))' : "e.recorded_at >= greatest(s.created_at, now() - interval '1 hour')"}
       ON CONFLICT ON CONSTRAINT webhook_deliveries_event_key DO NOTHING
       RETURNING id, round`,
      keys ? [keys.map((k) => k.source), keys.map((k) => k.id)] : [],
    );
  }

  /** PENDING deliveries older than a minute, whose job may have been lost (at most 1,000). */
  stalePending(): Promise<QueuedDelivery[]> {
    return this.dataSource.query(
      `SELECT id, round FROM webhook_deliveries WHERE state = 'PENDING' AND created_at < now() - interval '1 minute' LIMIT 1000`,
    );
  }

  async markDelivered(id: string, status: number | null): Promise<void> {
    await this.dataSource.query(
      `UPDATE webhook_deliveries SET state = 'DELIVERED', attempts = attempts + 1, last_status = $2, last_error = NULL, delivered_at = now() WHERE id = $1 AND state = 'PENDING'`,
      [id, status],
    );
  }

  /** Counts a failed attempt; `dead`: it was the last, so the delivery is DEAD. */
  async markFailed(id: string, status: number | null, error: string, dead: boolean): Promise<void> {
    await this.dataSource.query(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = $2, last_error = $3, state = CASE WHEN $4 THEN 'DEAD' ELSE state END
        WHERE id = $1 AND state = 'PENDING'`,
      [id, status, error, dead],
    );
  }

  /** An attempt refused before any connection: DEAD at once, with the reason. */
  async markRefused(id: string, error: string): Promise<void> {
    await this.dataSource.query(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = NULL, last_error = $2, state = 'DEAD' WHERE id = $1 AND state = 'PENDING'`,
      [id, error],
    );
  }
}
