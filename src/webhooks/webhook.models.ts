import { Field, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Connection } from '../core/graphql/pagination';
import { DeliveryState, WebhookTopic } from './webhook.entities';

registerEnumType(WebhookTopic, { name: 'WebhookTopic', description: 'What a webhook subscription receives.' });
registerEnumType(DeliveryState, {
  name: 'WebhookDeliveryState',
  description: 'PENDING (being tried), DELIVERED, or DEAD (attempts exhausted; re-drivable).',
});

@ObjectType({
  description:
    'An endpoint for usage events and invoice previews (billing), or for audit checkpoints. Its secret is never shown after creation.',
})
export class WebhookSubscription {
  @Field(() => ID) id!: string;
  @Field() url!: string;
  @Field(() => [WebhookTopic]) topics!: WebhookTopic[];
  @Field(() => ID, { nullable: true, description: 'Only this tenant’s events; null: every tenant’s.' }) tenantId!: string | null;
  @Field() active!: boolean;
  @Field() createdAt!: Date;
}

@ObjectType()
export class CreatedWebhookSubscription {
  @Field(() => WebhookSubscription) subscription!: WebhookSubscription;
  @Field({
    description: 'Signs every delivery (HMAC-SHA256); shown once, keep it: the service stores it sealed and never answers it again.',
  })
  secret!: string;
}

@InputType()
export class CreateWebhookSubscriptionInput {
  @Field({
    description:
      'http:// or https:// endpoint that accepts POST, at most 2048 characters. Its host must resolve to public addresses only: loopback, private, link-local, CGNAT, multicast and reserved addresses are refused unless the operator allows them (APN_WEBHOOK_ALLOWED_TARGETS).',
  })
  url!: string;
  @Field(() => [WebhookTopic], { description: 'One or more topics, each at most once.' }) topics!: WebhookTopic[];
  @Field(() => ID, {
    nullable: true,
    description:
      'Only this tenant’s events; omitted: every tenant’s (a TENANT key: its own). Audit checkpoints concern every tenant and go to every AUDIT_CHECKPOINT subscription.',
  })
  tenantId?: string;
}

@ObjectType({ description: 'One event for one subscription, with its attempts.' })
export class WebhookDelivery {
  @Field(() => ID) id!: string;
  @Field(() => ID) subscriptionId!: string;
  @Field(() => WebhookTopic) topic!: WebhookTopic;
  @Field({ description: 'Sent as x-apn-event-id; the same on every attempt and re-drive.' }) eventId!: string;
  @Field(() => DeliveryState) state!: DeliveryState;
  @Field(() => Int) attempts!: number;
  @Field(() => Int, { nullable: true }) lastStatus!: number | null;
  @Field(() => String, { nullable: true }) lastError!: string | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) deliveredAt!: Date | null;
}

@ObjectType()
export class WebhookSubscriptionConnection extends Connection(WebhookSubscription, 'WebhookSubscription') {}

@ObjectType()
export class WebhookDeliveryConnection extends Connection(WebhookDelivery, 'WebhookDelivery') {}
