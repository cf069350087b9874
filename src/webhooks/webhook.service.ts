import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { AppError, ErrorCode, badInput, invalidState, notFound } from '../core/errors/app-error';
import { isUuid } from '../core/ids';
import { JobMeta, JobName, jobIdOf } from '../core/queue/job-catalogue';
import { JobHandlers } from '../core/queue/job-handlers';
import { JobQueue } from '../core/queue/job-queue.service';
import type { Principal } from '../tenancy/principal';
import { Role } from '../tenancy/tenancy.entities';
import { kekId, open, seal } from '../protection/envelope';
import { webhookSecretContext } from '../../migrations/1765110000000-WebhookSecretsSealed';
import { ALLOW_LIST_HINT, TargetRefused, TargetUnresolved, WebhookTargets, type VettedTarget } from './webhook-target';
import { DeliveryState, WebhookDeliveryEntity, WebhookSubscriptionEntity, WebhookTopic } from './webhook.entities';
import { visibleTenant } from '../core/visibility';

export const SIGNATURE_HEADER = 'x-apn-signature';
export const EVENT_ID_HEADER = 'x-apn-event-id';
export const TOPIC_HEADER = 'x-apn-topic';
const DELIVERY_TIMEOUT_MS = 10_000;
/** How long a subscription waits for its host name to resolve before it is refused. */
const SUBSCRIBE_RESOLVE_TIMEOUT_MS = 5_000;
const MAX_ERROR_LENGTH = 500;

/** Input limits, documented on the GraphQL inputs and in the README. */
export const WEBHOOK_LIMITS = {
  /** What browsers, proxies and CDNs reliably carry. */
  urlLength: 2048,
  /** Each topic at most once. */
  topics: Object.keys(WebhookTopic).length,
  deliveriesPage: 500,
} as const;

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the subscription's secret>`. A receiver
 * recomputes it, compares in constant time, refuses a timestamp older than its tolerance (replay), and
 * deduplicates on the event id header (a retried delivery carries the same id and body).
 */
export function signature(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

export interface WebhookEvent {
  /** Unique per topic forever: a usage event's `source` + `id`, an invoice preview's tenant and period, a checkpoint's seq. */
  eventId: string;
  /** The tenant the event is about, or null for an event of the whole service (an audit checkpoint): every subscription to the topic receives it. */
  tenantId: string | null;
  body: unknown;
}

/** What a TENANT key may subscribe to: the audit checkpoints, so that they leave the service to the tenant itself. */
const TENANT_TOPICS: readonly WebhookTopic[] = [WebhookTopic.AUDIT_CHECKPOINT];

function assertManager(principal: Principal): void {
  if (principal.role !== Role.OPERATOR && principal.role !== Role.BILLING && principal.role !== Role.TENANT) {
    throw new AppError(
      ErrorCode.FORBIDDEN,
      `Webhooks are managed by OPERATOR, BILLING or (for AUDIT_CHECKPOINT) TENANT keys; your token has role ${String(principal.role)}.`,
    );
  }
}

/**
 * Whose subscriptions a caller manages: an OPERATOR all of them (null), a BILLING or TENANT key those it
 * created. Another key's subscription, and its deliveries, are NOT_FOUND to it, exactly like ones that do not exist.
 */
function ownerFilter(principal: Principal): string | null {
  return principal.role === Role.OPERATOR ? null : principal.actor;
}

/** A malformed id names no row: refused before it reaches a uuid column, without echoing it back. */
function requireId(field: string, id: string, what: string, listedBy: string): void {
  if (!isUuid(id)) throw badInput(field, `${field}: is not ${what} id (a UUID); take one from ${listedBy}.`);
}

/**
 * Billing integrations: subscriptions receive usage events and invoice previews, signed, delivered by
 * BullMQ jobs with retries and exponential backoff; a delivery that exhausts its attempts is DEAD, listed
 * and re-drivable through GraphQL. The body is stored with the delivery, so the same event is re-delivered
 * under the same id, never re-minted.
 */
@Injectable()
export class WebhookService implements OnModuleInit {
  private readonly logger = new Logger(WebhookService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly jobs: JobQueue,
    private readonly handlers: JobHandlers,
    private readonly audit: AuditService,
    private readonly targets: WebhookTargets,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private get kek(): Buffer {
    if (!this.config.keyEncryptionKey) throw new Error('the key-encryption key is not configured (APN_KEY_ENCRYPTION_KEY)');
    return this.config.keyEncryptionKey;
  }

  /** The subscription's signing secret, opened for signing a delivery; never logged, never answered. */
  private secretOf(subscription: WebhookSubscriptionEntity): string {
    return open(this.kek, subscription.secretSealed, webhookSecretContext(subscription.id)).toString('utf8');
  }

  onModuleInit(): void {
    this.handlers.register(JobName.WebhookDeliver, ({ deliveryId }, meta) => this.deliver(deliveryId, meta));
  }

  async subscribe(
    principal: Principal,
    input: { url: string; topics: WebhookTopic[]; tenantId?: string | null },
  ): Promise<{ subscription: WebhookSubscriptionEntity; secret: string }> {
    assertManager(principal);
    let tenantId = input.tenantId ?? null;
    if (principal.role === Role.TENANT) {
      const refuse = (error: AppError) =>
        this.audit.refuse(
          principal,
          { action: 'webhook.refused', operation: 'createWebhookSubscription', entityType: 'webhook_subscription' },
          error,
        );
      const other = input.topics.find((t) => !TENANT_TOPICS.includes(t));
      if (other !== undefined) {
        await refuse(
          badInput(
            'input.topics',
            `input.topics: a TENANT key subscribes to ${TENANT_TOPICS.join(', ')} only; ${other} is for OPERATOR and BILLING keys.`,
          ),
        );
      }
      if (tenantId !== null && tenantId !== principal.tenantId) {
        await refuse(
          new AppError(ErrorCode.FORBIDDEN, 'input.tenantId: a tenant subscribes for itself only; omit tenantId.', {
            field: 'input.tenantId',
          }),
        );
      }
      tenantId = principal.tenantId;
    }
    if (input.url.length > WEBHOOK_LIMITS.urlLength) {
      throw badInput('input.url', `input.url: is ${input.url.length} characters long; at most ${WEBHOOK_LIMITS.urlLength} are accepted.`);
    }
    let url: URL;
    try {
      url = new URL(input.url);
    } catch {
      throw badInput('input.url', `input.url: ${JSON.stringify(input.url)} is not a URL; give an https:// endpoint.`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw badInput('input.url', 'input.url: use an http:// or https:// URL.');
    if (url.href.length > WEBHOOK_LIMITS.urlLength) {
      // Percent-encoding can lengthen a URL; the limit holds for what is stored and sent.
      throw badInput(
        'input.url',
        `input.url: is ${url.href.length} characters long once percent-encoded; at most ${WEBHOOK_LIMITS.urlLength} are accepted.`,
      );
    }
    if (url.username || url.password)
      throw badInput('input.url', 'input.url: put no credentials in the URL; verify the signature instead.');
    if (input.topics.length === 0) throw badInput('input.topics', 'input.topics: name at least one topic.');
    if (input.topics.length > WEBHOOK_LIMITS.topics || new Set(input.topics).size !== input.topics.length) {
      throw badInput(
        'input.topics',
        `input.topics: name each topic once; there are ${WEBHOOK_LIMITS.topics} (${Object.values(WebhookTopic).join(', ')}).`,
      );
    }
    if (tenantId) {
      if (!isUuid(tenantId)) throw badInput('input.tenantId', 'input.tenantId: is not a tenant id (a UUID).');
      const [{ n }] = await this.dataSource.query<Array<{ n: number }>>('SELECT count(*)::int AS n FROM tenants WHERE id = $1', [tenantId]);
      if (n === 0) throw badInput('input.tenantId', `input.tenantId: tenant ${tenantId} does not exist.`);
    }
    await this.vetAtSubscription(url);
    const secret = `whsec_${randomBytes(24).toString('base64url')}`;
    const id = randomUUID();
    const subscription = Object.assign(new WebhookSubscriptionEntity(), {
      id,
      url: url.toString(),
      secretSealed: seal(this.kek, Buffer.from(secret, 'utf8'), webhookSecretContext(id)),
      kekId: kekId(this.kek),
      topics: [...new Set(input.topics)],
      tenantId,
      active: true,
      createdBy: principal.actor,
    });
    await this.dataSource.transaction(async (m) => {
      await m.getRepository(WebhookSubscriptionEntity).insert(subscription);
      await this.audit.append(m, {
        actor: principal.actor,
        action: 'webhook.subscribed',
        entityType: 'webhook_subscription',
        entityId: subscription.id,
        // A tenant's own subscription is on its record; a billing subscription filtered to a tenant is not the tenant's object.
        tenantId: visibleTenant(principal),
        data: { url: subscription.url, topics: subscription.topics },
      });
    });
    return { subscription, secret };
  }

  /** Refuses a target inside the network, after resolving its host name; deliveries check again. */
  private async vetAtSubscription(url: URL): Promise<void> {
    try {
      await this.targets.vet(url, AbortSignal.timeout(SUBSCRIBE_RESOLVE_TIMEOUT_MS));
    } catch (error) {
      if (error instanceof TargetRefused) {
        throw badInput(
          'input.url',
          `input.url: ${error.message}; webhooks are not sent inside the service's network. Give a public endpoint, or, for an on-premises billing system, ${ALLOW_LIST_HINT}.`,
        );
      }
      if (error instanceof TargetUnresolved) {
        throw badInput(
          'input.url',
          `input.url: ${error.message}, so its addresses cannot be checked; correct the host name, or try again if DNS is failing.`,
        );
      }
      throw error;
    }
  }

  async unsubscribe(principal: Principal, id: string): Promise<WebhookSubscriptionEntity> {
    assertManager(principal);
    requireId('id', id, 'a webhook subscription', 'webhookSubscriptions');
    const owner = ownerFilter(principal);
    const s = await this.dataSource.getRepository(WebhookSubscriptionEntity).findOneBy(owner === null ? { id } : { id, createdBy: owner });
    if (!s) throw notFound('Webhook subscription', id);
    await this.dataSource.transaction(async (m) => {
      await m.query('UPDATE webhook_subscriptions SET active = false WHERE id = $1', [id]);
      await this.audit.append(m, {
        actor: principal.actor,
        action: 'webhook.unsubscribed',
        entityType: 'webhook_subscription',
        entityId: id,
        tenantId: visibleTenant(principal),
        data: {},
      });
    });
    return Object.assign(s, { active: false });
  }

  subscriptions(principal: Principal): Promise<WebhookSubscriptionEntity[]> {
    assertManager(principal);
    const owner = ownerFilter(principal);
    return this.dataSource
      .getRepository(WebhookSubscriptionEntity)
      .find({ where: owner === null ? {} : { createdBy: owner }, order: { createdAt: 'ASC', id: 'ASC' } });
  }

  deliveries(
    principal: Principal,
    filter: { state?: DeliveryState | null; subscriptionId?: string | null; first: number },
  ): Promise<WebhookDeliveryEntity[]> {
    assertManager(principal);
    if (!Number.isInteger(filter.first) || filter.first < 1 || filter.first > WEBHOOK_LIMITS.deliveriesPage) {
      throw badInput('first', `first must be between 1 and ${WEBHOOK_LIMITS.deliveriesPage}.`);
    }
    if (filter.subscriptionId) requireId('subscriptionId', filter.subscriptionId, 'a webhook subscription', 'webhookSubscriptions');
    const q = this.dataSource.getRepository(WebhookDeliveryEntity).createQueryBuilder('d');
    const owner = ownerFilter(principal);
    if (owner !== null) q.innerJoin('d.subscription', 's').andWhere('s.created_by = :owner', { owner });
    if (filter.state) q.andWhere('d.state = :state', { state: filter.state });
    if (filter.subscriptionId) q.andWhere('d.subscription_id = :s', { s: filter.subscriptionId });
    return q.orderBy('d.created_at', 'DESC').addOrderBy('d.id', 'ASC').limit(filter.first).getMany();
  }

  /** Sends a DEAD delivery again: same id, same body, a fresh round of attempts. */
  async redrive(principal: Principal, id: string): Promise<WebhookDeliveryEntity> {
    assertManager(principal);
    requireId('id', id, 'a webhook delivery', 'webhookDeliveries');
    const owner = ownerFilter(principal);
    const d = await this.dataSource.transaction(async (m) => {
      const [delivery] = await m.getRepository(WebhookDeliveryEntity).find({ where: { id }, lock: { mode: 'pessimistic_write' } });
      const visible =
        delivery &&
        (owner === null || (await m.getRepository(WebhookSubscriptionEntity).existsBy({ id: delivery.subscriptionId, createdBy: owner })));
      if (!visible) throw notFound('Webhook delivery', id);
      if (delivery.state !== DeliveryState.DEAD)
        throw invalidState(`Delivery ${id} is ${delivery.state}; only DEAD deliveries are re-driven.`, { state: delivery.state });
      await m.query(`UPDATE webhook_deliveries SET state = 'PENDING', round = round + 1 WHERE id = $1`, [id]);
      await this.audit.append(m, {
        actor: principal.actor,
        action: 'webhook.redriven',
        entityType: 'webhook_delivery',
        entityId: id,
        data: { eventId: delivery.eventId },
      });
      return Object.assign(delivery, { state: DeliveryState.PENDING, round: delivery.round + 1 });
    });
    await this.enqueue(d);
    return d;
  }

  /**
   * Queues the events for every active subscription to the topic (and the tenant). A (subscription, event)
   * pair is delivered once: publishing the same event again changes nothing.
   */
  async publish(topic: WebhookTopic, events: readonly WebhookEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    const created: WebhookDeliveryEntity[] = await this.dataSource.query(
      `INSERT INTO webhook_deliveries (id, subscription_id, topic, event_id, body, state, attempts, round)
       SELECT gen_random_uuid(), s.id, $1, e.event_id, e.body, 'PENDING', 0, 0
         FROM unnest($2::text[], $3::uuid[], $4::text[]) AS e(event_id, tenant_id, body)
         JOIN webhook_subscriptions s ON s.active AND $1 = ANY (s.topics) AND (s.tenant_id IS NULL OR e.tenant_id IS NULL OR s.tenant_id = e.tenant_id)
       ON CONFLICT ON CONSTRAINT webhook_deliveries_event_key DO NOTHING
       RETURNING id, round`,
      [topic, events.map((e) => e.eventId), events.map((e) => e.tenantId), events.map((e) => JSON.stringify(e.body))],
    );
    for (const d of created) await this.enqueue(d);
    return created.length;
  }

  /**
   * Fans stored usage events out to the USAGE_EVENT subscriptions, as CloudEvents 1.0 JSON built from the
   * stored row, so every retry sends the event as it was recorded. `keys` limits it to those events;
   * without keys, every event recorded in the last hour (since the subscription began) is covered, which
   * the reconciler runs so that an event whose fan-out was cut short by a crash is still delivered.
   */
  async publishUsageEvents(keys?: ReadonlyArray<{ source: string; id: string }>): Promise<number> {
    if (keys && keys.length === 0) return 0;
    const created: WebhookDeliveryEntity[] = await this.dataSource.query(
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
    for (const d of created) await this.enqueue(d);
    return created.length;
  }

  /** Re-queues PENDING deliveries whose job was lost, and fans out usage events a crash left undelivered. */
  async sweep(): Promise<void> {
    await this.publishUsageEvents();
    const pending: WebhookDeliveryEntity[] = await this.dataSource.query(
      `SELECT id, round FROM webhook_deliveries WHERE state = 'PENDING' AND created_at < now() - interval '1 minute' LIMIT 1000`,
    );
    for (const d of pending) await this.enqueue(d);
  }

  async deliver(id: string, meta: JobMeta): Promise<void> {
    const delivery = await this.dataSource.getRepository(WebhookDeliveryEntity).findOneBy({ id });
    if (!delivery || delivery.state !== DeliveryState.PENDING) return;
    const subscription = await this.dataSource.getRepository(WebhookSubscriptionEntity).findOneByOrFail({ id: delivery.subscriptionId });
    const signal = AbortSignal.timeout(DELIVERY_TIMEOUT_MS);
    let status: number | null = null;
    let failure: string | null = null;
    try {
      const target = await this.deliveryTarget(subscription.url, signal);
      const now = Math.floor(Date.now() / 1000);
      status = await this.targets.post(
        target,
        {
          'content-type': delivery.topic === WebhookTopic.USAGE_EVENT ? 'application/cloudevents+json' : 'application/json',
          [SIGNATURE_HEADER]: signature(this.secretOf(subscription), delivery.body, now),
          [EVENT_ID_HEADER]: delivery.eventId,
          [TOPIC_HEADER]: delivery.topic,
          'user-agent': 'apn-orchestrator-webhooks',
        },
        delivery.body,
        signal,
      );
      if (status < 200 || status >= 300) failure = `HTTP ${status}`;
    } catch (error) {
      if (error instanceof TargetRefused) {
        await this.refuse(delivery, subscription, error.message);
        return;
      }
      failure =
        signal.aborted && !(error instanceof TargetUnresolved) ? `no answer within ${DELIVERY_TIMEOUT_MS} ms` : (error as Error).message;
    }
    if (!failure) {
      await this.dataSource.query(
        `UPDATE webhook_deliveries SET state = 'DELIVERED', attempts = attempts + 1, last_status = $2, last_error = NULL, delivered_at = now() WHERE id = $1 AND state = 'PENDING'`,
        [id, status],
      );
      return;
    }
    const dead = meta.finalAttempt;
    await this.dataSource.query(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = $2, last_error = $3, state = CASE WHEN $4 THEN 'DEAD' ELSE state END
        WHERE id = $1 AND state = 'PENDING'`,
      [id, status, failure.slice(0, MAX_ERROR_LENGTH), dead],
    );
    if (dead) {
      this.logger.warn(
        { deliveryId: id, url: subscription.url, eventId: delivery.eventId, err: failure },
        'webhook delivery is dead after its last attempt',
      );
      return;
    }
    throw new Error(`webhook delivery to ${subscription.url} failed: ${failure}`);
  }

  /** The subscription's target as of now: resolved and checked again at every attempt. */
  private deliveryTarget(url: string, signal: AbortSignal): Promise<VettedTarget> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TargetRefused(`${JSON.stringify(url)} is not a URL`);
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new TargetRefused(`${parsed.protocol} is not http: or https:`);
    return this.targets.vet(parsed, signal);
  }

  /**
   * A target inside the network is not tried, and not retried: retries would only repeat the refusal. The
   * delivery is DEAD at once with the reason; once the target is fixed or allowed, a re-drive sends it.
   */
  private async refuse(delivery: WebhookDeliveryEntity, subscription: WebhookSubscriptionEntity, reason: string): Promise<void> {
    const error = `refused, not sent: ${reason}; webhooks are not sent inside the service's network. Point the subscription at a public endpoint, or ${ALLOW_LIST_HINT}, then re-drive.`;
    await this.dataSource.query(
      `UPDATE webhook_deliveries SET attempts = attempts + 1, last_status = NULL, last_error = $2, state = 'DEAD' WHERE id = $1 AND state = 'PENDING'`,
      [delivery.id, error.slice(0, MAX_ERROR_LENGTH)],
    );
    this.logger.warn(
      { deliveryId: delivery.id, subscriptionId: subscription.id, eventId: delivery.eventId, reason },
      'webhook delivery refused: target inside the network',
    );
  }

  private enqueue(d: Pick<WebhookDeliveryEntity, 'id' | 'round'>): Promise<void> {
    return this.jobs.enqueue(
      JobName.WebhookDeliver,
      { deliveryId: d.id },
      { jobId: jobIdOf(d.id, JobName.WebhookDeliver, String(d.round)) },
    );
  }
}
