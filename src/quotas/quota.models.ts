import { Field, Float, ID, InputType, Int, ObjectType } from '@nestjs/graphql';

@InputType({ description: 'Quotas to change: a number sets one, null clears it (no limit), a field left out keeps it.' })
export class TenantQuotaInput {
  @Field(() => Int, { nullable: true, description: 'Reservations in state HELD at once, 0 to 10000.' })
  maxConcurrentHolds?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Longest window of one reservation, on booking and on extension: 60 to 315360000 s (10 years).',
  })
  maxWindowSeconds?: number | null;

  @Field(() => Int, {
    nullable: true,
    description: 'Channel-hours the tenant may hold on any one link (span) within one calendar month (UTC), 0 to 1000000.',
  })
  maxChannelHoursPerSpanPerMonth?: number | null;
}

@ObjectType({ description: 'Channel-hours a tenant holds on one span within the month.' })
export class SpanChannelHours {
  @Field(() => ID) linkId!: string;
  @Field() linkCode!: string;
  @Field(() => Float, {
    description: 'Hours of its reservations’ windows on this span that fall in the month (every non-final reservation).',
  })
  channelHours!: number;
  @Field(() => Float, {
    nullable: true,
    description: 'What maxChannelHoursPerSpanPerMonth still allows on this span in the month; null without that quota.',
  })
  remainingChannelHours!: number | null;
}

@ObjectType({ description: 'What a tenant uses of its quotas.' })
export class TenantQuotaUsage {
  @Field({ description: 'The calendar month (UTC), as YYYY-MM, in which channel-hours are counted.' })
  month!: string;
  @Field(() => Int, { description: 'Reservations in state HELD now.' })
  holds!: number;
  @Field(() => [SpanChannelHours], { description: 'Spans the tenant holds channel-hours on in the month, by link code.' })
  spans!: SpanChannelHours[];
}

@ObjectType({ description: 'A tenant’s quotas (null: no limit) and its usage of them.' })
export class TenantQuota {
  @Field(() => ID) tenantId!: string;
  @Field(() => Int, { nullable: true, description: 'Reservations in state HELD at once.' })
  maxConcurrentHolds!: number | null;
  @Field(() => Int, { nullable: true, description: 'Longest window of one reservation, in seconds.' })
  maxWindowSeconds!: number | null;
  @Field(() => Int, { nullable: true, description: 'Channel-hours on any one span within one calendar month (UTC).' })
  maxChannelHoursPerSpanPerMonth!: number | null;
  @Field(() => Date, { nullable: true, description: 'When an operator last set a quota of this tenant; null if none is set.' })
  updatedAt!: Date | null;
  @Field(() => TenantQuotaUsage)
  usage!: TenantQuotaUsage;
}
