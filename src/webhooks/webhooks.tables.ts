import { WebhookDeliveryEntity, WebhookSubscriptionEntity } from './webhook.entities';

/** The entities (tables) webhooks owns, registered with the database by src/persistence.ts. */
export const WEBHOOK_TABLES = [WebhookSubscriptionEntity, WebhookDeliveryEntity];
