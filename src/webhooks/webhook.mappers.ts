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
