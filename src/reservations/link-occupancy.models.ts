import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import { Link } from '../topology/topology.models';
import { ReservationState } from './reservation-state';

/** The longest span one occupancy read may cover, and the most bookings it returns. */
export const OCCUPANCY_BOUNDS = { maxSpanDays: 31, maxBlocks: 2000 } as const;

@ObjectType({ description: 'One booking of a channel on a link for a window, in any state.' })
export class OccupancyBlock {
  @Field(() => ID) reservationId!: string;
  @Field(() => ID) tenantId!: string;
  @Field(() => Int, { description: 'Channel on the 50 GHz grid.' }) channel!: number;
  @Field(() => Float) frequencyThz!: number;
  @Field({ description: 'Start of the half-open window [start, end).' }) start!: Date;
  @Field() end!: Date;
  @Field(() => ReservationState) state!: ReservationState;
}

@ObjectType({ description: 'Every booking of a link’s channels that overlaps [from, to): spectrum × time.' })
export class LinkOccupancy {
  @Field(() => Link) link!: Link;
  @Field() from!: Date;
  @Field() to!: Date;
  @Field(() => [OccupancyBlock], { description: 'By start, then channel.' }) blocks!: OccupancyBlock[];
  @Field({ description: `Whether more than ${OCCUPANCY_BOUNDS.maxBlocks} bookings overlap the span and only the first were returned.` })
  truncated!: boolean;
}
