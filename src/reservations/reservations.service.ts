import { isUuid } from '../core/ids';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import {
  AppError,
  badInput,
  ErrorCode,
  invalidState,
  noCapacity,
  notFound,
  pgErrorCode,
  PgErrorCode,
  conflict,
} from '../core/errors/app-error';
import { JobName, reservationJobId } from '../core/queue/job-catalogue';
import { JobQueue } from '../core/queue/job-queue.service';
import { SYSTEM_ACTOR, type Principal } from '../tenancy/principal';
import { Role } from '../tenancy/tenancy.entities';
import { TenancyService } from '../tenancy/tenancy.service';
import { Occupancy } from '../topology/pce';
import { TopologyService, TopologySnapshot } from '../topology/topology.service';
import { requireText } from '../core/bounds';
import { windowProblem } from '../core/time';
import { busyResources, capacityLocks, claimOf, tstzrange } from './capacity';
import { CapacityRepository } from './capacity.repository';
import { ReservationEntity } from './reservation.entities';
import { EXTENDABLE_STATES, ReservationState } from './reservation-state';
import { ReservationLifecycle } from './reservation-lifecycle.service';
import { ReservationTransitions } from './reservation-transitions';
import { ReservationsRepository } from './reservations.repository';
import { type ReserveRequest, fingerprintOf, validateBooking } from './booking-request';
import { actingTenant, canSee, isTenantKey } from '../core/visibility';

export type { ReserveRequest };

interface Booking {
  input: ReserveRequest;
  tenantId: string;
  actor: string;
  state: ReservationState;
  holdExpiresAt: Date | null;
  idempotencyKey: string | null;
  fingerprint: string;
}

/** States in which a reservation has its setup or teardown job scheduled. */
const LIFECYCLE_SCHEDULED: ReadonlySet<ReservationState> = new Set([
  ReservationState.RESERVED,
  ReservationState.PROVISIONING,
  ReservationState.ACTIVE,
]);

/** How stale a topology snapshot may be when a booking starts; the insert re-checks the revision. */
const SNAPSHOT_MAX_AGE_MS = 1000;
/**
 * How many times one attempt takes another channel because its keys were busy before it queues for them:
 * each round costs one statement, never a wait, and skips the channels concurrent bookings are claiming.
 */
const MAX_BUSY_ROUNDS = 8;
/** A cancellation reason is kept in the history of the reservation: a sentence, not a document. */
export const MAX_REASON_LENGTH = 500;

/**
 * Booking use cases: reserve, commit, cancel, extend. Capacity is guarded by PostgreSQL's
 * exclusion constraints; a lost race (SQLSTATE 23P01) recomputes the path a bounded number of times.
 */
@Injectable()
export class ReservationsService {
  /** Named prepared statements on a PostgreSQL server; the embedded engine's shared session cannot have them. */
  private readonly usePrepared: boolean;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly topology: TopologyService,
    private readonly audit: AuditService,
    private readonly jobs: JobQueue,
    private readonly transitions: ReservationTransitions,
    private readonly lifecycle: ReservationLifecycle,
    private readonly tenancy: TenancyService,
    private readonly reservations: ReservationsRepository,
    private readonly capacity: CapacityRepository,
  ) {
    this.usePrepared = Boolean(config.databaseUrl);
  }

  async reserve(principal: Principal, input: ReserveRequest): Promise<ReservationEntity> {
    const tenantId = await this.bookingTenant(principal, input.tenantId ?? null);
    // A snapshot checked within the last second is enough to compute a path: the insert itself verifies
    // that the topology revision has not moved on, and a booking computed on an old one is recomputed.
    let snapshot = await this.topology.snapshot({ maxAgeMs: SNAPSHOT_MAX_AGE_MS });
    validateBooking(snapshot, input, this.config);
    const fingerprint = fingerprintOf(tenantId, input);
    const key = input.idempotencyKey ?? null;
    if (key !== null) {
      const existing = await this.findByIdempotencyKey(tenantId, key, fingerprint);
      if (existing) return existing;
    }
    const state = input.autoCommit ? ReservationState.RESERVED : ReservationState.HELD;
    const booking: Booking = {
      input,
      tenantId,
      actor: principal.actor,
      state,
      holdExpiresAt: state === ReservationState.HELD ? new Date(Date.now() + this.config.holdTtlSeconds * 1000) : null,
      idempotencyKey: key,
      fingerprint,
    };

    for (let attempt = 1; attempt <= this.config.bookingAttempts; attempt++) {
      try {
        const reservation = await this.book(snapshot, booking);
        if (!reservation) {
          // The topology changed after the snapshot was taken: nothing was written; recompute on the new one.
          snapshot = await this.topology.snapshot();
          validateBooking(snapshot, input, this.config);
          continue;
        }
        if (reservation.state === ReservationState.HELD && reservation.holdExpiresAt) {
          await this.jobs.enqueue(
            JobName.HoldExpiry,
            { reservationId: reservation.id },
            { jobId: reservationJobId(reservation.id, JobName.HoldExpiry), runAt: reservation.holdExpiresAt },
          );
        } else {
          await this.lifecycle.schedule(reservation);
        }
        return reservation;
      } catch (error) {
        const code = pgErrorCode(error);
        const lostRace = code === PgErrorCode.EXCLUSION_VIOLATION || code === PgErrorCode.DEADLOCK_DETECTED;
        // The booking this one collided with (on the key, a channel or a port) may be the same request sent
        // again: then its reservation is the answer, whichever process wrote it.
        const collided =
          lostRace || code === PgErrorCode.UNIQUE_VIOLATION || (error instanceof AppError && error.code === ErrorCode.NO_CAPACITY);
        if (key !== null && collided) {
          const existing = await this.findByIdempotencyKey(tenantId, key, fingerprint);
          if (existing) return existing;
        }
        // A concurrent booking won a channel or port between our read and our write: read again.
        if (lostRace) continue;
        throw error;
      }
    }
    throw noCapacity(
      `Capacity for this window was taken by concurrent bookings ${this.config.bookingAttempts} times in a row; ` +
        'try again or choose another window.',
    );
  }

  /**
   * One attempt: read the occupancy of the window, compute a path, write the booking. No explicit
   * transaction: the read only proposes a path, and the single statement that writes the booking is atomic,
   * with the exclusion constraints deciding whether it stands. Returns null if the topology moved on.
   *
   * The write first tries the capacity keys without waiting. A key held by another transaction means a
   * concurrent booking is claiming that channel right now: this one marks the channel busy and takes the
   * next free one at once, instead of queueing behind the other and then losing on the constraint (which
   * cost a whole re-read per loser, one loser after another). Only when every alternative is busy, or the
   * contended key is a port (which has no alternative), does it wait for the keys.
   */
  private async book(snapshot: TopologySnapshot, b: Booking): Promise<ReservationEntity | null> {
    const { input } = b;
    const ends = validateBooking(snapshot, input, this.config);
    const window = { start: input.start.getTime(), end: input.end.getTime() };
    const occupancy = await this.capacity.occupancy(window, [input.sourceEndpointId, input.destinationEndpointId], {
      prepared: this.usePrepared,
    });
    for (const [field, endpointId] of [
      ['input.sourceEndpointId', input.sourceEndpointId],
      ['input.destinationEndpointId', input.destinationEndpointId],
    ] as const) {
      if (!occupancy.endpointFree(endpointId, window)) {
        throw noCapacity(
          `Endpoint ${snapshot.endpoints.get(endpointId)?.code} is already booked in part of [${input.start.toISOString()}, ${input.end.toISOString()}); ` +
            'choose another endpoint or window (the availability query finds the earliest free start).',
          { field },
        );
      }
    }
    const route = { from: ends.sourceNodeId, to: ends.destinationNodeId, window };
    let busy: Occupancy | null = null;
    let wait = false;
    for (let round = 0; ; round++) {
      let path = snapshot.pathComputer.computePath({ ...route, occupancy: busy ?? occupancy });
      if (!path && busy) {
        // Every alternative is being claimed by someone else: queue for the first-fit path after all.
        path = snapshot.pathComputer.computePath({ ...route, occupancy });
        wait = true;
      }
      if (!path) {
        throw noCapacity(
          'No path between the two sites has a channel free on every hop for the whole window; ' +
            'try another window (see availability.earliestStart).',
        );
      }
      const entity = this.reservationOf(b, path);
      const outcome = await this.capacity.insertBooking(
        { audit: this.audit, usePrepared: this.usePrepared },
        entity,
        snapshot.revision,
        wait || round >= MAX_BUSY_ROUNDS ? 'wait' : 'try',
        {
          reason: b.holdExpiresAt ? `held until ${b.holdExpiresAt.toISOString()}` : 'booked with autoCommit',
          audit: {
            actor: b.actor,
            action: 'reservation.created',
            entityType: 'reservation',
            entityId: entity.id,
            data: {
              tenantId: b.tenantId,
              state: b.state,
              source: input.sourceEndpointId,
              destination: input.destinationEndpointId,
              rateGbps: input.rateGbps,
              start: input.start.toISOString(),
              end: input.end.toISOString(),
              channel: path.channel,
              path: path.linkIds,
            },
          },
        },
      );
      if (outcome.inserted) return entity;
      if (!outcome.revisionCurrent) return null;
      const held = busyResources(outcome.busy);
      if (held.links.length === 0) {
        // A port or GPU node is being claimed: there is nothing else to take, so wait for it.
        wait = true;
        continue;
      }
      busy ??= occupancy.clone();
      for (const l of held.links) busy.addLinkBooking({ linkId: l.linkId, channel: l.channel, start: window.start, end: window.end });
    }
  }

  private reservationOf(b: Booking, path: { channel: number; linkIds: string[]; distanceKm: number }): ReservationEntity {
    const { input } = b;
    return Object.assign(new ReservationEntity(), {
      id: randomUUID(),
      tenantId: b.tenantId,
      sourceEndpointId: input.sourceEndpointId,
      destinationEndpointId: input.destinationEndpointId,
      rateGbps: input.rateGbps,
      startAt: input.start,
      endAt: input.end,
      state: b.state,
      channel: path.channel,
      pathLinkIds: path.linkIds,
      distanceKm: path.distanceKm,
      holdExpiresAt: b.holdExpiresAt,
      idempotencyKey: b.idempotencyKey,
      requestFingerprint: b.fingerprint,
      createdAt: new Date(),
      updatedAt: new Date(),
    });
  }

  async commit(principal: Principal, id: string): Promise<ReservationEntity> {
    let expired = false;
    const result = await this.reservations.transaction(async (m) => {
      const r = await this.lockVisible(m, principal, id);
      if (r.state === ReservationState.RESERVED) return r;
      if (r.state !== ReservationState.HELD) {
        throw invalidState(`Reservation ${id} is ${r.state}; only a HELD reservation can be committed.`, { state: r.state });
      }
      if (r.holdExpiresAt && r.holdExpiresAt.getTime() <= Date.now()) {
        await this.transitions.apply(m, r, ReservationState.EXPIRED, SYSTEM_ACTOR, 'hold expired before commit');
        expired = true;
        return r;
      }
      await this.transitions.apply(m, r, ReservationState.RESERVED, principal.actor, 'committed');
      return r;
    });
    if (expired) {
      throw invalidState(`The hold on reservation ${id} expired before it was committed; book again.`, {
        state: ReservationState.EXPIRED,
      });
    }
    await this.jobs.cancel(JobName.HoldExpiry, reservationJobId(id, JobName.HoldExpiry));
    await this.lifecycle.schedule(result);
    return result;
  }

  /**
   * Cancels a reservation. Before it starts, it is CANCELLED and its capacity freed at once; once the
   * lightpath is being set up or is up, it is torn down now (RELEASING, then RELEASED).
   */
  async cancel(principal: Principal, id: string, reason: string | null): Promise<ReservationEntity> {
    const why = (reason === null ? '' : requireText('reason', reason, MAX_REASON_LENGTH, { optional: true })) || 'cancelled';
    const result = await this.reservations.transaction(async (m) => {
      const r = await this.lockVisible(m, principal, id);
      switch (r.state) {
        case ReservationState.CANCELLED:
          return r;
        case ReservationState.HELD:
        case ReservationState.RESERVED:
          await this.transitions.apply(m, r, ReservationState.CANCELLED, principal.actor, why);
          return r;
        case ReservationState.PROVISIONING:
        case ReservationState.ACTIVE:
          await this.transitions.apply(m, r, ReservationState.RELEASING, principal.actor, `cancelled while ${r.state}: ${why}`);
          return r;
        default:
          throw invalidState(`Reservation ${id} is ${r.state}; it can no longer be cancelled.`, { state: r.state });
      }
    });
    if (result.state === ReservationState.CANCELLED) {
      await Promise.all(
        [JobName.HoldExpiry, JobName.LightpathSetup, JobName.LightpathTeardown].map((job) =>
          this.jobs.cancel(job, reservationJobId(id, job)),
        ),
      );
    } else if (result.state === ReservationState.RELEASING) {
      await this.jobs.reschedule(
        JobName.LightpathTeardown,
        { reservationId: id },
        { jobId: reservationJobId(id, JobName.LightpathTeardown) },
      );
    }
    return result;
  }

  /** Moves the end later, keeping path and channel; the constraints refuse it if the capacity is taken. */
  async extend(principal: Principal, id: string, end: Date): Promise<ReservationEntity> {
    const extended = await this.extendInDatabase(principal, id, end);
    if (LIFECYCLE_SCHEDULED.has(extended.state)) {
      await this.jobs.reschedule(
        JobName.LightpathTeardown,
        { reservationId: id },
        { jobId: reservationJobId(id, JobName.LightpathTeardown), runAt: extended.endAt },
      );
    }
    return extended;
  }

  private async extendInDatabase(principal: Principal, id: string, end: Date): Promise<ReservationEntity> {
    try {
      return await this.reservations.transaction(async (m) => {
        const r = await this.lockVisible(m, principal, id);
        if (!EXTENDABLE_STATES.has(r.state)) {
          throw invalidState(`Reservation ${id} is ${r.state}; its end can no longer be extended.`, { state: r.state });
        }
        if (end.getTime() <= r.endAt.getTime()) {
          throw badInput('end', `end must be after the current end ${r.endAt.toISOString()}; extending cannot shorten a reservation.`);
        }
        const unbounded = windowProblem({ start: 'end', end: 'end' }, r.startAt, end, this.config);
        if (unbounded) throw badInput(unbounded.field, unbounded.message);
        const previousEnd = r.endAt;
        const range = tstzrange(r.startAt, end);
        await this.capacity.lock(m, capacityLocks(claimOf(r), r.startAt, end));
        await this.capacity.resize(m, id, range);
        await this.reservations.setEnd(m, id, end);
        r.endAt = end;
        await this.transitions.record(
          m,
          r,
          r.state,
          r.state,
          principal.actor,
          `end extended from ${previousEnd.toISOString()} to ${end.toISOString()}`,
        );
        await this.audit.append(m, {
          actor: principal.actor,
          action: 'reservation.extended',
          entityType: 'reservation',
          entityId: id,
          data: { from: previousEnd.toISOString(), to: end.toISOString() },
        });
        return r;
      });
    } catch (error) {
      if (pgErrorCode(error) === PgErrorCode.EXCLUSION_VIOLATION) {
        throw noCapacity(
          `Reservation ${id} cannot be extended to ${end.toISOString()}: its channel or an endpoint is booked by another reservation before then.`,
        );
      }
      throw error;
    }
  }

  // --- internals ---------------------------------------------------------------------------------

  private async bookingTenant(principal: Principal, requested: string | null): Promise<string> {
    if (isTenantKey(principal)) {
      return actingTenant(
        principal,
        requested,
        () => new AppError(ErrorCode.FORBIDDEN, 'A tenant key books for its own tenant only; omit input.tenantId.'),
      ) as string;
    }
    if (principal.role !== Role.OPERATOR) {
      throw new AppError(ErrorCode.FORBIDDEN, `Role ${principal.role} cannot book lightpaths.`);
    }
    if (!requested) throw badInput('input.tenantId', 'Operators must name the tenant to book for in input.tenantId.');
    if (!isUuid(requested)) throw badInput('input.tenantId', `input.tenantId ${requested} is not a tenant id.`);
    if (!(await this.tenancy.exists(requested))) throw badInput('input.tenantId', `Tenant ${requested} does not exist.`);
    return requested;
  }

  private async findByIdempotencyKey(tenantId: string, key: string, fingerprint: string): Promise<ReservationEntity | null> {
    const existing = await this.reservations.findByIdempotencyKey(tenantId, key);
    if (!existing) return null;
    if (existing.requestFingerprint !== fingerprint) {
      throw conflict(
        `idempotencyKey ${JSON.stringify(key)} was already used for a different request (reservation ${existing.id}); use a new key for a new booking.`,
        'input.idempotencyKey',
      );
    }
    return existing;
  }

  private async lockVisible(m: EntityManager, principal: Principal, id: string): Promise<ReservationEntity> {
    if (!isUuid(id)) throw notFound('Reservation', id);
    const r = await this.reservations.lockForUpdate(m, id);
    if (!r || !canSee(principal, r.tenantId)) throw notFound('Reservation', id);
    if (principal.role === Role.BILLING) throw new AppError(ErrorCode.FORBIDDEN, 'Billing keys cannot change reservations.');
    return r;
  }
}
