import { Args, Context, ID, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import type DataLoader from 'dataloader';
import { pageSize } from '../core/graphql/pagination';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { AvailabilityService } from './availability.service';
import { ReservationQueries } from './reservation-queries.service';
import {
  Availability,
  AvailabilityInput,
  Reservation,
  ReservationConnection,
  ReservationTransition,
  ReserveLightpathInput,
} from './reservation.models';
import { ReservationState } from './reservation-state';
import { ReservationsService } from './reservations.service';

interface LoaderContext {
  loaders?: { history?: DataLoader<string, ReservationTransition[]> };
}

@Resolver(() => Reservation)
@Roles(Role.OPERATOR, Role.TENANT)
export class ReservationsResolver {
  constructor(
    private readonly booking: ReservationsService,
    private readonly queries: ReservationQueries,
    private readonly availabilityService: AvailabilityService,
  ) {}

  @Mutation(() => Reservation, { description: 'Books a lightpath: HELD for APN_HOLD_TTL_S, or RESERVED with autoCommit.' })
  async reserveLightpath(
    @Args('input') input: ReserveLightpathInput,
    @CurrentPrincipal() principal: Principal,
  ): Promise<Reservation> {
    return this.queries.toModel(await this.booking.reserve(principal, input));
  }

  @Mutation(() => Reservation, { description: 'Turns a HELD reservation into RESERVED before its hold expires.' })
  async commitReservation(@Args('id', { type: () => ID }) id: string, @CurrentPrincipal() principal: Principal): Promise<Reservation> {
    return this.queries.toModel(await this.booking.commit(principal, id));
  }

  @Mutation(() => Reservation, { description: 'Cancels a HELD or RESERVED reservation and frees its capacity.' })
  async cancelReservation(
    @Args('id', { type: () => ID }) id: string,
    @Args('reason', { type: () => String, nullable: true }) reason: string | null,
    @CurrentPrincipal() principal: Principal,
  ): Promise<Reservation> {
    return this.queries.toModel(await this.booking.cancel(principal, id, reason ?? null));
  }

  @Mutation(() => Reservation, { description: 'Moves the end of a reservation later, on the same path and channel, if capacity allows.' })
  async extendReservation(
    @Args('id', { type: () => ID }) id: string,
    @Args('end') end: Date,
    @CurrentPrincipal() principal: Principal,
  ): Promise<Reservation> {
    return this.queries.toModel(await this.booking.extend(principal, id, end));
  }

  @Query(() => Reservation, { description: 'A reservation of yours (NOT_FOUND otherwise).' })
  async reservation(@Args('id', { type: () => ID }) id: string, @CurrentPrincipal() principal: Principal): Promise<Reservation> {
    return this.queries.toModel(await this.queries.get(principal, id));
  }

  @Query(() => ReservationConnection, { description: 'Your reservations, newest first. Operators see all, or one tenant’s.' })
  async reservations(
    @CurrentPrincipal() principal: Principal,
    @Args('first', { type: () => Int, nullable: true }) first?: number,
    @Args('after', { type: () => String, nullable: true }) after?: string,
    @Args('state', { type: () => ReservationState, nullable: true }) state?: ReservationState,
    @Args('tenantId', { type: () => ID, nullable: true }) tenantId?: string,
  ): Promise<ReservationConnection> {
    const page = await this.queries.list(principal, { first: pageSize(first), after, state, tenantId });
    return this.queries.toConnection(page);
  }

  @Query(() => Availability, { description: 'How many lightpaths fit in a window, and the earliest start at which one fits.' })
  async availability(@Args('input') input: AvailabilityInput): Promise<Availability> {
    return this.availabilityService.availability(input);
  }

  @ResolveField(() => [ReservationTransition])
  async history(@Parent() reservation: Reservation, @Context() context: LoaderContext): Promise<ReservationTransition[]> {
    // One loader per request, created on first use: histories of a whole page load in one query.
    context.loaders ??= {};
    context.loaders.history ??= this.queries.historyLoader();
    return context.loaders.history.load(reservation.id);
  }
}
