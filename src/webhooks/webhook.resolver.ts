import { Args, ID, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { DeliveryState } from './webhook.entities';
import { webhookConnection, webhookDeliveryModel, webhookSubscriptionModel } from './webhook.mappers';
import {
  CreateWebhookSubscriptionInput,
  CreatedWebhookSubscription,
  WebhookDelivery,
  WebhookDeliveryConnection,
  WebhookSubscription,
  WebhookSubscriptionConnection,
} from './webhook.models';
import { WEBHOOK_LIMITS, WebhookService } from './webhook.service';

const PAGE = `1 to ${WEBHOOK_LIMITS.page}.`;

/**
 * OPERATOR keys manage every subscription; a BILLING key only those it created (others are NOT_FOUND to it);
 * a TENANT key, likewise, only those it created, and to AUDIT_CHECKPOINT only.
 */
@Resolver()
@Roles(Role.OPERATOR, Role.BILLING, Role.TENANT)
export class WebhookResolver {
  constructor(private readonly webhooks: WebhookService) {}

  @Mutation(() => CreatedWebhookSubscription, {
    description:
      'Subscribes an endpoint; the signing secret is in the answer, once (it is stored sealed and never shown again). A TENANT key subscribes to AUDIT_CHECKPOINT only, for itself.',
  })
  async createWebhookSubscription(
    @Args('input') input: CreateWebhookSubscriptionInput,
    @CurrentPrincipal() p: Principal,
  ): Promise<CreatedWebhookSubscription> {
    const { subscription, secret } = await this.webhooks.subscribe(p, input);
    return { subscription: webhookSubscriptionModel(subscription), secret };
  }

  @Mutation(() => WebhookSubscription, {
    description: 'Stops new deliveries to the endpoint. A BILLING key deletes only subscriptions it created.',
  })
  async deleteWebhookSubscription(
    @Args('id', { type: () => ID }) id: string,
    @CurrentPrincipal() p: Principal,
  ): Promise<WebhookSubscription> {
    return webhookSubscriptionModel(await this.webhooks.unsubscribe(p, id));
  }

  @Mutation(() => WebhookDelivery, {
    description: 'Sends a DEAD delivery again, with the same event id and body, to the target as checked now.',
  })
  async redriveWebhookDelivery(@Args('id', { type: () => ID }) id: string, @CurrentPrincipal() p: Principal): Promise<WebhookDelivery> {
    return webhookDeliveryModel(await this.webhooks.redrive(p, id));
  }

  @Query(() => WebhookSubscriptionConnection, {
    description: 'Every subscription for an OPERATOR; for a BILLING or TENANT key, those it created. Oldest first.',
  })
  async webhookSubscriptions(
    @CurrentPrincipal() p: Principal,
    @Args('first', { type: () => Int, nullable: true, defaultValue: WEBHOOK_LIMITS.defaultPage, description: PAGE })
    first = WEBHOOK_LIMITS.defaultPage,
    @Args('after', { type: () => String, nullable: true }) after?: string,
  ): Promise<WebhookSubscriptionConnection> {
    return webhookConnection(await this.webhooks.subscriptions(p, { first, after }), webhookSubscriptionModel);
  }

  @Query(() => WebhookDeliveryConnection, {
    description: 'Deliveries of the subscriptions you manage, newest first; state: DEAD lists the dead letters.',
  })
  async webhookDeliveries(
    @CurrentPrincipal() p: Principal,
    @Args('state', { type: () => DeliveryState, nullable: true }) state?: DeliveryState,
    @Args('subscriptionId', { type: () => ID, nullable: true }) subscriptionId?: string,
    @Args('first', { type: () => Int, nullable: true, defaultValue: WEBHOOK_LIMITS.defaultPage, description: PAGE })
    first = WEBHOOK_LIMITS.defaultPage,
    @Args('after', { type: () => String, nullable: true }) after?: string,
  ): Promise<WebhookDeliveryConnection> {
    return webhookConnection(await this.webhooks.deliveries(p, { state, subscriptionId, first, after }), webhookDeliveryModel);
  }
}
