import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Connection } from '../core/graphql/pagination';
import { Endpoint, Link } from '../topology/topology.models';
import { ReservationState } from './reservation-state';

registerEnumType(ReservationState, { name: 'ReservationState', description: 'Lifecycle state of a lightpath booking.' });

@ObjectType({ description: 'The tenant that owns an object.' })
export class TenantRef {
  @Field(() => ID) id!: string;
}

@ObjectType({ description: 'One step of a reservation’s life: when, by whom and why.' })
export class ReservationTransition {
  @Field(() => ReservationState) state!: ReservationState;
  @Field(() => ReservationState, { nullable: true }) fromState!: ReservationState | null;
  @Field() at!: Date;
  @Field() actor!: string;
  @Field() reason!: string;
}

@ObjectType({ description: 'A lightpath booking between an office endpoint and a data-center endpoint.' })
export class Reservation {
  @Field(() => ID) id!: string;
  @Field(() => ReservationState) state!: ReservationState;
  @Field(() => TenantRef) tenant!: TenantRef;
  @Field(() => Endpoint) source!: Endpoint;
  @Field(() => Endpoint) destination!: Endpoint;
  @Field(() => Int) rateGbps!: number;
  @Field({ description: 'Start of the half-open window [start, end).' }) start!: Date;
  @Field() end!: Date;
  @Field(() => Int, { description: 'Channel on the 50 GHz grid, the same on every hop.' }) channel!: number;
  @Field(() => Float, { description: 'Centre frequency of the channel: 191.35 THz + channel × 0.05 THz.' })
  frequencyThz!: number;
  @Field(() => [Link], { description: 'Links of the lightpath, from source to destination.' }) path!: Link[];
  @Field(() => Float) distanceKm!: number;
  @Field(() => Float, { description: 'Round-trip propagation time at 4.9 µs/km.' }) rttMs!: number;
  @Field({
    description:
      'Whether the transponders at both ends encrypt the optical payload: only such a lightpath carries a LINK_ENCRYPTION mount.',
  })
  linkEncryption!: boolean;
  @Field(() => Date, { nullable: true, description: 'When an uncommitted hold expires.' })
  holdExpiresAt!: Date | null;
  @Field(() => String, { nullable: true }) idempotencyKey!: string | null;
  @Field() createdAt!: Date;
  @Field(() => [ReservationTransition]) history!: ReservationTransition[];
}

@ObjectType()
export class ReservationConnection extends Connection(Reservation, 'Reservation') {}

@InputType()
export class ReserveLightpathInput {
  @Field(() => ID) sourceEndpointId!: string;
  @Field(() => ID) destinationEndpointId!: string;
  @Field(() => Int) rateGbps!: number;
  @Field() start!: Date;
  @Field() end!: Date;
  @Field(() => String, {
    nullable: true,
    description: 'Repeat a request with the same key to get the same reservation back instead of a second booking.',
  })
  idempotencyKey?: string | null;
  @Field(() => Boolean, { nullable: true, defaultValue: false, description: 'Book straight to RESERVED, skipping the hold.' })
  autoCommit?: boolean | null;
  @Field(() => ID, { nullable: true, description: 'Operators booking on behalf of a tenant name it here.' })
  tenantId?: string | null;
  @Field(() => Boolean, {
    nullable: true,
    defaultValue: false,
    description:
      'Book only if the transponders at both endpoints can encrypt (topology flag `encryption`), so the lightpath can carry LINK_ENCRYPTION mounts.',
  })
  requireLinkEncryption?: boolean | null;
}

@InputType()
export class AvailabilityInput {
  @Field(() => ID, { nullable: true, description: 'A source endpoint, or give sourceSiteId.' })
  sourceEndpointId?: string | null;
  @Field(() => ID, { nullable: true }) destinationEndpointId?: string | null;
  @Field(() => ID, { nullable: true, description: 'Any endpoint of this site at the rate.' }) sourceSiteId?: string | null;
  @Field(() => ID, { nullable: true }) destinationSiteId?: string | null;
  @Field(() => Int) rateGbps!: number;
  @Field() start!: Date;
  @Field() end!: Date;
  @Field(() => Int, {
    nullable: true,
    description: 'Duration for the earliest-start search, in seconds; defaults to end − start.',
  })
  durationSeconds?: number | null;
  @Field(() => Date, { nullable: true, description: 'Search for an earliest start up to this instant; default start + 30 days.' })
  searchUntil?: Date | null;
}

@ObjectType()
export class Availability {
  @Field(() => Int, { description: 'How many more lightpaths fit between the two ends in [start, end).' })
  lightpaths!: number;
  @Field(() => Date, { nullable: true, description: 'Earliest start ≥ start at which one lightpath of the duration fits.' })
  earliestStart!: Date | null;
  @Field(() => Date, { nullable: true }) earliestEnd!: Date | null;
  @Field(() => [Link], { nullable: true, description: 'The path a booking at earliestStart would take.' })
  earliestPath!: Link[] | null;
  @Field(() => Int, { nullable: true }) earliestChannel!: number | null;
}

@ObjectType({ description: 'A reservation changed state: the transition, and the reservation as it is now.' })
export class ReservationUpdate {
  @Field(() => ID) reservationId!: string;
  @Field(() => ReservationState, { description: 'The state this transition entered.' }) state!: ReservationState;
  @Field(() => ReservationState, { nullable: true }) previousState!: ReservationState | null;
  @Field({ description: 'When the transition was committed.' }) at!: Date;
  @Field() reason!: string;
  @Field(() => Reservation, { description: 'The reservation when this event is delivered (it may have moved on since).' })
  reservation!: Reservation;
}
