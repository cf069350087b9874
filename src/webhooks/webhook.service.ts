import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
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
import { canSee, isTenantKey, visibleTenant } from '../core/visibility';
import { decodeCursor } from '../core/graphql/pagination';
import { TenancyService } from '../tenancy/tenancy.service';
import { type QueuedDelivery, type WebhookPage, WebhooksRepository } from './webhooks.repository';

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
  /** webhookSubscriptions(first) and webhookDeliveries(first): at most this many a page. */
  page: 500,
  /** ... and this many when first is omitted. */
  defaultPage: 100,
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

/** A page size of a webhook list: 1 to WEBHOOK_LIMITS.page, WEBHOOK_LIMITS.defaultPage when omitted. */
export function webhookPageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return WEBHOOK_LIMITS.defaultPage;
  if (!Number.isInteger(first) || first < 1 || first > WEBHOOK_LIMITS.page) {
    throw badInput('first', `first must be between 1 and ${WEBHOOK_LIMITS.page}.`);
  }
  return first;
}

/** The endpoint a subscription may name: an http(s) URL within the length limit, without credentials. */
function subscriptionUrl(raw: string): URL {
  if (raw.length > WEBHOOK_LIMITS.urlLength) {
    throw badInput('input.url', `input.url: is ${raw.length} characters long; at most ${WEBHOOK_LIMITS.urlLength} are accepted.`);
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw badInput('input.url', `input.url: ${JSON.stringify(raw)} is not a URL; give an https:// endpoint.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw badInput('input.url', 'input.url: use an http:// or https:// URL.');
  if (url.href.length > WEBHOOK_LIMITS.urlLength) {
    // Percent-encoding can lengthen a URL; the limit holds for what is stored and sent.
    throw badInput(
      'input.url',
      `input.url: is ${url.href.length} characters long once percent-encoded; at most ${WEBHOOK_LIMITS.urlLength} are accepted.`,
    );
  }
  if (url.username || url.password) throw badInput('input.url', 'input.url: put no credentials in the URL; verify the signature instead.');
  return url;
}

function checkTopics(topics: readonly WebhookTopic[]): void {
  if (topics.length === 0) throw badInput('input.topics', 'input.topics: name at least one topic.');
  if (topics.length > WEBHOOK_LIMITS.topics || new Set(topics).size !== topics.length) {
    throw badInput(
      'input.topics',
      `input.topics: name each topic once; there are ${WEBHOOK_LIMITS.topics} (${Object.values(WebhookTopic).join(', ')}).`,
    );
  }
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
    private readonly repository: WebhooksRepository,
    private readonly tenancy: TenancyService,
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
    const tenantId = await this.subscriberTenant(principal, input);
    const url = subscriptionUrl(input.url);
    checkTopics(input.topics);
    if (tenantId) {
      if (!isUuid(tenantId)) throw badInput('input.tenantId', 'input.tenantId: is not a tenant id (a UUID).');
      if (!(await this.tenancy.exists(tenantId))) throw badInput('input.tenantId', `input.tenantId: tenant ${tenantId} does not exist.`);
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
    await this.repository.transaction(async (m) => {
      await this.repository.insertSubscription(subscription, m);
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

  /**
   * The tenant whose events a new subscription receives: the one named (null: every tenant's); a TENANT
   * key's own, which subscribes to TENANT_TOPICS only and names no other tenant (refusals are audited).
   */
  private async subscriberTenant(
    principal: Principal,
    input: { topics: WebhookTopic[]; tenantId?: string | null },
  ): Promise<string | null> {
    const named = input.tenantId ?? null;
    if (!isTenantKey(principal)) return named;
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
    if (named !== null && !canSee(principal, named)) {
      await refuse(
        new AppError(ErrorCode.FORBIDDEN, 'input.tenantId: a tenant subscribes for itself only; omit tenantId.', {
          field: 'input.tenantId',
        }),
      );
    }
    return visibleTenant(principal, named);
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
    const s = await this.repository.subscriptionOf(id, ownerFilter(principal));
    if (!s) throw notFound('Webhook subscription', id);
    await this.repository.transaction(async (m) => {
      await this.repository.deactivate(id, m);
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

  /** The subscriptions the caller manages, oldest first, a page at a time. */
  subscriptions(
    principal: Principal,
    page: { first?: number | null; after?: string | null },
  ): Promise<WebhookPage<WebhookSubscriptionEntity>> {
    assertManager(principal);
    const first = webhookPageSize(page.first);
    const after = page.after ? decodeCursor(page.after) : null;
    return this.repository.subscriptions({ owner: ownerFilter(principal), first, after });
  }

  /** Deliveries of the subscriptions the caller manages, newest first, a page at a time. */
  deliveries(
    principal: Principal,
    filter: { state?: DeliveryState | null; subscriptionId?: string | null; first?: number | null; after?: string | null },
  ): Promise<WebhookPage<WebhookDeliveryEntity>> {
    assertManager(principal);
    const first = webhookPageSize(filter.first);
    if (filter.subscriptionId) requireId('subscriptionId', filter.subscriptionId, 'a webhook subscription', 'webhookSubscriptions');
    const after = filter.after ? decodeCursor(filter.after) : null;
    return this.repository.deliveries({ ...filter, owner: ownerFilter(principal), first, after });
  }

  /** Sends a DEAD delivery again: same id, same body, a fresh round of attempts. */
  async redrive(principal: Principal, id: string): Promise<WebhookDeliveryEntity> {
    assertManager(principal);
    requireId('id', id, 'a webhook delivery', 'webhookDeliveries');
    const owner = ownerFilter(principal);
    const d = await this.repository.transaction(async (m) => {
      const delivery = await this.repository.lockDelivery(id, m);
      const visible = delivery && (owner === null || (await this.repository.createdBy(delivery.subscriptionId, owner, m)));
      if (!visible) throw notFound('Webhook delivery', id);
      if (delivery.state !== DeliveryState.DEAD)
        throw invalidState(`Delivery ${id} is ${delivery.state}; only DEAD deliveries are re-driven.`, { state: delivery.state });
      await this.repository.startRound(id, m);
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
    const created = await this.repository.insertDeliveries(
      topic,
      events.map((e) => ({ eventId: e.eventId, tenantId: e.tenantId, body: JSON.stringify(e.body) })),
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
    const created = await this.repository.insertUsageEventDeliveries(keys);
    for (const d of created) await this.enqueue(d);
    return created.length;
  }

  /** Re-queues PENDING deliveries whose job was lost, and fans out usage events a crash left undelivered. */
  async sweep(): Promise<void> {
    await this.publishUsageEvents();
    for (const d of await this.repository.stalePending()) await this.enqueue(d);
  }

  async deliver(id: string, meta: JobMeta): Promise<void> {
    const delivery = await this.repository.delivery(id);
    if (!delivery || delivery.state !== DeliveryState.PENDING) return;
    const subscription = await this.repository.subscription(delivery.subscriptionId);
    const signal = AbortSignal.timeout(DELIVERY_TIMEOUT_MS);
    let status: number | null = null;
    let failure: string | null = null;
    try {
      status = await this.post(delivery, subscription, signal);
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
      await this.repository.markDelivered(id, status);
      return;
    }
    const dead = meta.finalAttempt;
    await this.repository.markFailed(id, status, failure.slice(0, MAX_ERROR_LENGTH), dead);
    if (dead) {
      this.logger.warn(
        { deliveryId: id, url: subscription.url, eventId: delivery.eventId, err: failure },
        'webhook delivery is dead after its last attempt',
      );
      return;
    }
    throw new Error(`webhook delivery to ${subscription.url} failed: ${failure}`);
  }

  /** One attempt: the body, signed now, posted to the target as checked now; answers the HTTP status. */
  private async post(delivery: WebhookDeliveryEntity, subscription: WebhookSubscriptionEntity, signal: AbortSignal): Promise<number> {
    const target = await this.deliveryTarget(subscription.url, signal);
    const now = Math.floor(Date.now() / 1000);
    return this.targets.post(
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
    await this.repository.markRefused(delivery.id, error.slice(0, MAX_ERROR_LENGTH));
    this.logger.warn(
      { deliveryId: delivery.id, subscriptionId: subscription.id, eventId: delivery.eventId, reason },
      'webhook delivery refused: target inside the network',
    );
  }

  private enqueue(d: QueuedDelivery): Promise<void> {
    return this.jobs.enqueue(
      JobName.WebhookDeliver,
      { deliveryId: d.id },
      { jobId: jobIdOf(d.id, JobName.WebhookDeliver, String(d.round)) },
    );
  }
}
