import { encodeCursor } from '../core/graphql/pagination';
import type { WebhookDeliveryEntity, WebhookSubscriptionEntity } from './webhook.entities';
import { WebhookDelivery, WebhookSubscription } from './webhook.models';

/** A subscription as the API shows it: never its sealed secret. */
export function webhookSubscriptionModel(e: WebhookSubscriptionEntity): WebhookSubscription {
  return Object.assign(new WebhookSubscription(), {
    id: e.id,
    url: e.url,
    topics: e.topics,
    tenantId: e.tenantId,
    active: e.active,
    createdAt: e.createdAt,
  });
}

/** A delivery as the API shows it: its state and attempts, not the body it carries. */
export function webhookDeliveryModel(e: WebhookDeliveryEntity): WebhookDelivery {
  return Object.assign(new WebhookDelivery(), {
    id: e.id,
    subscriptionId: e.subscriptionId,
    topic: e.topic,
    eventId: e.eventId,
    state: e.state,
    attempts: e.attempts,
    lastStatus: e.lastStatus,
    lastError: e.lastError,
    createdAt: e.createdAt,
    deliveredAt: e.deliveredAt,
  });
}

/** A page of entities as a connection of models, each edge's cursor the keyset position of its row. */
export function webhookConnection<E extends { id: string; createdAt: Date }, M>(
  page: { rows: E[]; hasNextPage: boolean },
  model: (e: E) => M,
): { edges: Array<{ cursor: string; node: M }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } {
  const edges = page.rows.map((e) => ({ cursor: encodeCursor(e.createdAt, e.id), node: model(e) }));
  return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
}
