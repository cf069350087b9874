import { Args, ID, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import { createHash } from 'node:crypto';
import { validatesItemsItself } from '../core/graphql/input-guard';
import { WebhookTopic } from '../webhooks/webhook.entities';
import { WebhookService } from '../webhooks/webhook.service';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { BillingService, UsageGroupBy } from './billing.service';
import { MeteringService } from './metering.service';
import { CreateRateCardInput, InvoicePreview, RateCardModel, RecordUsageResult, UsageEventInput, UsageTotal } from './metering.models';
import type { RateCard } from './rating';
import { METER_UNITS } from './usage-events';

const cardModel = (card: RateCard & { createdAt: Date | null }): RateCardModel => {
  const { id, version, effectiveFrom, currency, createdAt, ...prices } = card;
  return { id, version, effectiveFrom, currency, createdAt, prices };
};

validatesItemsItself(
  'recordUsage',
  'events',
  'each event is validated on its own and refused by index; the good events of a batch are kept',
);

@Resolver()
export class MeteringResolver {
  constructor(
    private readonly metering: MeteringService,
    private readonly billing: BillingService,
    private readonly webhooks: WebhookService,
  ) {}

  @Mutation(() => Int, { description: 'Meters every hour window closed by `until` (default now) at once; returns the events written.' })
  @Roles(Role.OPERATOR)
  async collectUsage(@Args('until', { type: () => Date, nullable: true }) until?: Date | null): Promise<number> {
    const written = await this.metering.collect(until ?? new Date());
    if (written > 0) await this.webhooks.publishUsageEvents();
    return written;
  }

  @Mutation(() => RecordUsageResult, { description: 'Ingests usage events; bad ones are rejected by index while the good ones are kept.' })
  @Roles(Role.OPERATOR, Role.BILLING)
  recordUsage(@Args('events', { type: () => [UsageEventInput] }) events: UsageEventInput[]): Promise<RecordUsageResult> {
    return this.billing.record(events);
  }

  @Mutation(() => RateCardModel, { description: 'Adds a rate card version, in force from the first of a month; versions are immutable.' })
  @Roles(Role.OPERATOR)
  async createRateCard(@Args('input') input: CreateRateCardInput): Promise<RateCardModel> {
    return cardModel(await this.billing.createRateCard(input));
  }

  @Query(() => [RateCardModel], { description: 'Every rate card version, the built-in reference card (version 1) first.' })
  @Roles(Role.OPERATOR, Role.BILLING, Role.TENANT)
  async rateCards(): Promise<RateCardModel[]> {
    return (await this.billing.rateCards()).map(cardModel);
  }

  @Query(() => [UsageTotal], { description: 'Usage totals per meter (and the group keys) over [from, to); tenants see their own.' })
  @Roles(Role.OPERATOR, Role.BILLING, Role.TENANT)
  async usage(
    @CurrentPrincipal() p: Principal,
    @Args('from', { type: () => Date }) from: Date,
    @Args('to', { type: () => Date }) to: Date,
    @Args('tenantId', { type: () => ID, nullable: true }) tenantId?: string | null,
    @Args('groupBy', { type: () => [UsageGroupBy], nullable: true }) groupBy?: UsageGroupBy[] | null,
  ): Promise<UsageTotal[]> {
    const rows = await this.billing.usage(p, { tenantId, from, to, groupBy });
    return rows.map((r) => ({ ...r, unit: METER_UNITS[r.meter] ?? 'unit' }));
  }

  @Query(() => InvoicePreview, { description: 'The invoice of a month (YYYY-MM, UTC) as it stands: lines, shadow energy and CO2, totals.' })
  @Roles(Role.OPERATOR, Role.BILLING, Role.TENANT)
  async invoicePreview(
    @CurrentPrincipal() p: Principal,
    @Args('period') period: string,
    @Args('tenantId', { type: () => ID, nullable: true }) tenantId?: string | null,
  ): Promise<InvoicePreview> {
    return this.preview(p, period, tenantId);
  }

  @Mutation(() => Int, {
    description:
      'Sends a tenant’s invoice preview of a month to the INVOICE_PREVIEW webhooks; returns the deliveries queued. ' +
      'The event id is derived from the content: an unchanged invoice is not sent twice.',
  })
  @Roles(Role.OPERATOR, Role.BILLING)
  async sendInvoicePreview(
    @CurrentPrincipal() p: Principal,
    @Args('tenantId', { type: () => ID }) tenantId: string,
    @Args('period') period: string,
  ): Promise<number> {
    const invoice = await this.preview(p, period, tenantId);
    const body = JSON.stringify(invoice);
    const digest = createHash('sha256').update(body).digest('hex').slice(0, 16);
    return this.webhooks.publish(WebhookTopic.INVOICE_PREVIEW, [
      { eventId: `invoice-preview:${tenantId}:${period}:${digest}`, tenantId, body: invoice },
    ]);
  }

  private async preview(p: Principal, period: string, tenantId?: string | null): Promise<InvoicePreview> {
    const { rated, ...rest } = await this.billing.invoicePreview(p, tenantId, period);
    return {
      ...rest,
      currency: rated.currency,
      rateCardVersion: rated.cardVersion,
      rateCardId: rated.cardId,
      lines: rated.lines.map((l) => ({
        meter: l.meter,
        description: l.description,
        quantity: l.quantity,
        unit: l.unit,
        unitPrice: l.unitPriceUsd,
        amount: l.amountUsd,
        usageQuantity: l.usageQuantity,
        usageUnit: l.usageUnit,
        rateGbps: l.rateGbps ?? null,
        distanceClass: l.distanceClass ?? null,
        design: l.design ?? null,
        tier: l.tier ?? null,
        energyKwh: l.energyKwh,
        energyMeasuredKwh: l.energyMeasuredKwh,
        energyBasis: l.energyBasis,
        co2Kg: l.carbonKg,
      })),
      totals: { amount: rated.totals.amountUsd, energyKwh: rated.totals.energyKwh, co2Kg: rated.totals.carbonKg },
      unrated: rated.unrated.map((u) => ({ meter: u.type, reason: u.reason })),
    };
  }
}
