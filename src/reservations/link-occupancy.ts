import { Injectable } from '@nestjs/common';
import { Args, Field, Float, ID, Int, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { DataSource } from 'typeorm';
import { badInput, notFound } from '../core/errors/app-error';
import { isUuid } from '../core/ids';
import { Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { frequencyThz } from '../topology/pce';
import { Link } from '../topology/topology.models';
import { TopologyService } from '../topology/topology.service';
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

/** Reads of which channel of a link each booking uses when: the rows behind an occupancy chart. */
@Injectable()
export class LinkOccupancyRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Bookings in every state, cancelled and finished ones too: the chart shows what happened, not only what holds capacity. */
  async overlapping(linkId: string, from: Date, to: Date, limit: number): Promise<OccupancyBlock[]> {
    const rows: Array<{ id: string; tenant_id: string; channel: number; start_at: Date; end_at: Date; state: ReservationState }> =
      await this.dataSource.query(
        `SELECT id, tenant_id, channel, start_at, end_at, state FROM reservations
          WHERE $1::uuid = ANY(path_link_ids) AND start_at < $3 AND end_at > $2
          ORDER BY start_at, channel, id LIMIT $4`,
        [linkId, from, to, limit],
      );
    return rows.map((r) =>
      Object.assign(new OccupancyBlock(), {
        reservationId: r.id,
        tenantId: r.tenant_id,
        channel: r.channel,
        frequencyThz: frequencyThz(r.channel),
        start: r.start_at,
        end: r.end_at,
        state: r.state,
      }),
    );
  }
}

@Resolver()
@Roles(Role.OPERATOR)
export class LinkOccupancyResolver {
  constructor(
    private readonly occupancy: LinkOccupancyRepository,
    private readonly topology: TopologyService,
  ) {}

  @Query(() => LinkOccupancy, {
    description: `Which channel of a link each booking uses over [from, to) (at most ${OCCUPANCY_BOUNDS.maxSpanDays} days), in every state. Operator only.`,
  })
  async linkOccupancy(
    @Args('linkId', { type: () => ID }) linkId: string,
    @Args('from') from: Date,
    @Args('to') to: Date,
  ): Promise<LinkOccupancy> {
    if (!(to.getTime() > from.getTime())) throw badInput('to', 'to must be later than from.');
    if (to.getTime() - from.getTime() > OCCUPANCY_BOUNDS.maxSpanDays * 86_400_000) {
      throw badInput('to', `The span from \`from\` to \`to\` may be at most ${OCCUPANCY_BOUNDS.maxSpanDays} days.`);
    }
    const link = isUuid(linkId) ? (await this.topology.snapshot({ maxAgeMs: 1000 })).links.get(linkId) : undefined;
    if (!link) throw notFound('Link', linkId);
    const blocks = await this.occupancy.overlapping(linkId, from, to, OCCUPANCY_BOUNDS.maxBlocks + 1);
    return Object.assign(new LinkOccupancy(), {
      link: Link.from(link),
      from,
      to,
      blocks: blocks.slice(0, OCCUPANCY_BOUNDS.maxBlocks),
      truncated: blocks.length > OCCUPANCY_BOUNDS.maxBlocks,
    });
  }
}
