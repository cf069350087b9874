import { Args, Context, ID, Int, Mutation, Parent, Query, ResolveField, Resolver, Subscription } from '@nestjs/graphql';
import type DataLoader from 'dataloader';
import { pageSize } from '../core/graphql/pagination';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { AvailabilityService } from './availability.service';
import { ReservationEvents, ReservationUpdate as ReservationUpdateEvent } from './reservation-events.service';
import { ReservationQueries } from './reservation-queries.service';
import {
  Availability,
  AvailabilityInput,
  Reservation,
  ReservationConnection,
  ReservationTransition,
  ReservationUpdate,
  ReserveLightpathInput,
} from './reservation.models';
import { ReservationState } from './reservation-state';
import { ReservationsService } from './reservations.service';
import { visibleTenant } from '../core/visibility';

interface LoaderContext {
  loaders?: { history?: DataLoader<string, ReservationTransition[]> };
}

interface SubscriptionContext extends LoaderContext {
  principal?: Principal;
}

@Resolver(() => Reservation)
@Roles(Role.OPERATOR, Role.TENANT)
export class ReservationsResolver {
  constructor(
    private readonly booking: ReservationsService,
    private readonly queries: ReservationQueries,
    private readonly availabilityService: AvailabilityService,
    private readonly events: ReservationEvents,
  ) {}

  @Mutation(() => Reservation, { description: 'Books a lightpath: HELD for APN_HOLD_TTL_S, or RESERVED with autoCommit.' })
  async reserveLightpath(@Args('input') input: ReserveLightpathInput, @CurrentPrincipal() principal: Principal): Promise<Reservation> {
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

  @Subscription(() => ReservationUpdate, {
    description:
      'Every state transition of your reservations as it commits, whichever process made it (graphql-ws at ' +
      '/graphql; authenticate with `{ "authorization": "Bearer <token>" }` as the connection_init payload). ' +
      'Narrow it to one reservation with `id`; operators may narrow it to one tenant.',
    async resolve(this: ReservationsResolver, update: ReservationUpdateEvent, _args: unknown, context: SubscriptionContext) {
      // One context serves the whole subscription: start each event with fresh loaders, not stale history.
      context.loaders = {};
      const reservation = await this.queries.get(context.principal!, update.reservationId);
      return {
        reservationId: update.reservationId,
        state: update.state,
        previousState: update.previousState,
        at: new Date(update.at),
        reason: update.reason,
        reservation: await this.queries.toModel(reservation),
      } satisfies ReservationUpdate;
    },
  })
  async reservationUpdated(
    @CurrentPrincipal() principal: Principal,
    @Args('id', { type: () => ID, nullable: true }) id?: string,
    @Args('tenantId', { type: () => ID, nullable: true }) tenantId?: string,
  ): Promise<AsyncIterableIterator<ReservationUpdateEvent>> {
    if (id) await this.queries.get(principal, id); // NOT_FOUND unless it is the caller's
    const ownTenant = visibleTenant(principal, tenantId);
    return this.events.subscribe((u) => (ownTenant === null || u.tenantId === ownTenant) && (!id || u.reservationId === id));
  }

  @ResolveField(() => [ReservationTransition])
  async history(@Parent() reservation: Reservation, @Context() context: LoaderContext): Promise<ReservationTransition[]> {
    // One loader per request, created on first use: histories of a whole page load in one query.
    context.loaders ??= {};
    context.loaders.history ??= this.queries.historyLoader();
    return context.loaders.history.load(reservation.id);
  }
}
