import { Field, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { JSONScalar } from '../core/graphql/scalars';
import { UsageGroupBy } from './billing.service';

registerEnumType(UsageGroupBy, { name: 'UsageGroupBy', description: 'Keys usage totals are grouped by, besides the meter.' });

@InputType({ description: 'A usage event, CloudEvents 1.0: type is the meter, subject the tenant id, time the start of an hour window.' })
export class UsageEventInput {
  @Field() specversion!: string;
  @Field() id!: string;
  @Field() source!: string;
  @Field() type!: string;
  @Field() subject!: string;
  @Field({ description: 'RFC 3339, on the hour.' }) time!: string;
  @Field(() => JSONScalar, {
    description: '{ quantity: "decimal text", unit?, resourceId?, rateGbps?, distanceClass?, design?, site?, appliesTo? }',
  })
  data!: unknown;
  @Field(() => Int, {
    nullable: true,
    description: 'Extension: 1 for a first report; a correction of (type, data.resourceId, time) sends a higher one.',
  })
  revision?: number;
}

@ObjectType()
export class UsageRejection {
  @Field(() => Int, { description: 'Position of the event in the batch.' }) index!: number;
  @Field() field!: string;
  @Field() reason!: string;
}

@ObjectType()
export class RecordUsageResult {
  @Field(() => Int) accepted!: number;
  @Field(() => Int, { description: 'Events whose source and id were already recorded: kept once, not errors.' }) duplicates!: number;
  @Field(() => [UsageRejection]) rejected!: UsageRejection[];
}

@ObjectType()
export class UsageTotal {
  @Field() meter!: string;
  @Field() unit!: string;
  @Field({ description: 'Decimal text, in the unit.' }) quantity!: string;
  @Field(() => Int) events!: number;
  @Field(() => Date, { nullable: true }) day!: Date | null;
  @Field(() => String, { nullable: true }) resourceId!: string | null;
  @Field(() => String, { nullable: true }) distanceClass!: string | null;
  @Field(() => String, { nullable: true }) design!: string | null;
  @Field(() => ID, { nullable: true }) tenantId!: string | null;
}

@ObjectType()
export class RateCardModel {
  @Field(() => ID) id!: string;
  @Field(() => Int) version!: number;
  @Field() effectiveFrom!: string;
  @Field() currency!: string;
  @Field(() => JSONScalar, {
    description:
      'lightpathHourUsd, distanceClassMultiplier, lightpathSetupUsd, mountHourUsd, replicaGbHourUsd, cacheGbHourUsd, gpuNodeHourUsd, internetEgressTiers, basis',
  })
  prices!: unknown;
  @Field(() => Date, { nullable: true, description: 'Null for the built-in reference card.' }) createdAt!: Date | null;
}

@InputType()
export class CreateRateCardInput {
  @Field({ description: 'The first day of a month, 00:00 UTC.' }) effectiveFrom!: Date;
  @Field(() => JSONScalar, { description: 'Every price of the card (see RateCard.prices); decimals as text or numbers, USD.' })
  prices!: unknown;
}

@ObjectType()
export class InvoiceLineModel {
  @Field() meter!: string;
  @Field() description!: string;
  @Field({ description: 'In the billing unit, 6 decimals.' }) quantity!: string;
  @Field() unit!: string;
  @Field() unitPrice!: string;
  @Field() amount!: string;
  @Field() usageQuantity!: string;
  @Field() usageUnit!: string;
  @Field(() => Int, { nullable: true }) rateGbps!: number | null;
  @Field(() => String, { nullable: true }) distanceClass!: string | null;
  @Field(() => String, { nullable: true }) design!: string | null;
  @Field(() => Int, { nullable: true }) tier!: number | null;
  @Field({ description: 'Shadow: shown, not billed.' }) energyKwh!: string;
  @Field({ description: 'Of energyKwh, the part computed from measured power samples (a training run’s) instead of rated power.' })
  energyMeasuredKwh!: string;
  @Field(() => String, { nullable: true, description: 'What energyKwh rests on: measured, rated, or mixed; null without energy.' })
  energyBasis!: string | null;
  @Field({ description: 'Shadow: shown, not billed.' }) co2Kg!: string;
}

@ObjectType()
export class InvoiceTotalsModel {
  @Field() amount!: string;
  @Field() energyKwh!: string;
  @Field() co2Kg!: string;
}

@ObjectType()
export class UnratedUsage {
  @Field() meter!: string;
  @Field() reason!: string;
}

@ObjectType()
export class InvoicePreview {
  @Field(() => ID) tenantId!: string;
  @Field() period!: string;
  @Field() from!: Date;
  @Field() to!: Date;
  @Field() currency!: string;
  @Field(() => Int) rateCardVersion!: number;
  @Field(() => ID) rateCardId!: string;
  @Field(() => Int, { description: 'Usage events (latest revisions) in the period.' }) events!: number;
  @Field(() => [InvoiceLineModel]) lines!: InvoiceLineModel[];
  @Field(() => InvoiceTotalsModel) totals!: InvoiceTotalsModel;
  @Field(() => [UnratedUsage], { description: 'Usage with no price (e.g. external meters), never dropped silently.' })
  unrated!: UnratedUsage[];
}
