import { isUuid } from '../core/ids';
import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { AuditRecord, AuditService } from '../audit/audit.service';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { AppError, badInput, ErrorCode, invalidState, noCapacity, notFound, pgErrorCode, PgErrorCode, conflict } from '../core/errors/app-error';
import { JobName, reservationJobId } from '../core/queue/job-catalogue';
import { JobQueue } from '../core/queue/job-queue.service';
import { SYSTEM_ACTOR, type Principal } from '../tenancy/principal';
import { Role } from '../tenancy/tenancy.entities';
import { Occupancy } from '../topology/pce';
import { TopologyService, TopologySnapshot } from '../topology/topology.service';
import { queryPrepared } from '../core/database/prepared';
import { requireText } from '../core/bounds';
import { windowProblem } from '../core/time';
import { busyResources, capacityLocks, loadOccupancy, lockCapacity, lockCapacitySql, tryLockCapacitySql, tstzrange } from './capacity';
import { ReservationEntity } from './reservation.entities';
import { assertTransition, EXTENDABLE_STATES, FINAL_STATES, ReservationState } from './reservation-state';

export interface ReserveRequest {
  sourceEndpointId: string;
  destinationEndpointId: string;
  rateGbps: number;
  start: Date;
  end: Date;
  idempotencyKey?: string | null;
  autoCommit?: boolean | null;
  tenantId?: string | null;
  requireLinkEncryption?: boolean | null;
}

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
/** Grace for a start slightly in the past (clock skew, a request composed "now"). */
const PAST_START_GRACE_MS = 5 * 60_000;


/** What a reservation holds: its path's (link, channel) pairs and its two endpoints. */
function claimOf(r: ReservationEntity) {
  return { linkIds: r.pathLinkIds, channel: r.channel, endpointIds: [r.sourceEndpointId, r.destinationEndpointId] };
}

/**
 * Booking use cases: reserve, commit, cancel, extend, expire. Capacity is guarded by PostgreSQL's
 * exclusion constraints; a lost race (SQLSTATE 23P01) recomputes the path a bounded number of times.
 */
@Injectable()
export class ReservationsService {
  /** Named prepared statements on a PostgreSQL server; the embedded engine's shared session cannot have them. */
  private readonly usePrepared: boolean;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly topology: TopologyService,
    private readonly audit: AuditService,
    private readonly jobs: JobQueue,
  ) {
    this.usePrepared = Boolean(config.databaseUrl);
  }

  async reserve(principal: Principal, input: ReserveRequest): Promise<ReservationEntity> {
    const tenantId = await this.bookingTenant(principal, input.tenantId ?? null);
    // A snapshot checked within the last second is enough to compute a path: the insert itself verifies
    // that the topology revision has not moved on, and a booking computed on an old one is recomputed.
    let snapshot = await this.topology.snapshot({ maxAgeMs: SNAPSHOT_MAX_AGE_MS });
    this.validate(snapshot, input);
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
          this.validate(snapshot, input);
          continue;
        }
        if (reservation.state === ReservationState.HELD && reservation.holdExpiresAt) {
          await this.jobs.enqueue(
            JobName.HoldExpiry,
            { reservationId: reservation.id },
            { jobId: reservationJobId(reservation.id, JobName.HoldExpiry), runAt: reservation.holdExpiresAt },
          );
        } else {
          await this.scheduleLifecycle(reservation);
        }
        return reservation;
      } catch (error) {
        const code = pgErrorCode(error);
        const lostRace = code === PgErrorCode.EXCLUSION_VIOLATION || code === PgErrorCode.DEADLOCK_DETECTED;
        // The booking this one collided with (on the key, a channel or a port) may be the same request sent
        // again: then its reservation is the answer, whichever process wrote it.
        const collided = lostRace || code === PgErrorCode.UNIQUE_VIOLATION || (error instanceof AppError && error.code === ErrorCode.NO_CAPACITY);
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
    const ends = this.validate(snapshot, input);
    const window = { start: input.start.getTime(), end: input.end.getTime() };
    const m = this.dataSource.manager;
    const occupancy = await loadOccupancy(m, window, [input.sourceEndpointId, input.destinationEndpointId], {
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
      const outcome = await this.insertBooking(m, entity, snapshot.revision, wait || round >= MAX_BUSY_ROUNDS ? 'wait' : 'try', {
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
      });
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
    const result = await this.dataSource.transaction(async (m) => {
      const r = await this.lockVisible(m, principal, id);
      if (r.state === ReservationState.RESERVED) return r;
      if (r.state !== ReservationState.HELD) {
        throw invalidState(`Reservation ${id} is ${r.state}; only a HELD reservation can be committed.`, { state: r.state });
      }
      if (r.holdExpiresAt && r.holdExpiresAt.getTime() <= Date.now()) {
        await this.transition(m, r, ReservationState.EXPIRED, SYSTEM_ACTOR, 'hold expired before commit');
        expired = true;
        return r;
      }
      await this.transition(m, r, ReservationState.RESERVED, principal.actor, 'committed');
      return r;
    });
    if (expired) {
      throw invalidState(`The hold on reservation ${id} expired before it was committed; book again.`, {
        state: ReservationState.EXPIRED,
      });
    }
    await this.jobs.cancel(JobName.HoldExpiry, reservationJobId(id, JobName.HoldExpiry));
    await this.scheduleLifecycle(result);
    return result;
  }

  /**
   * Cancels a reservation. Before it starts, it is CANCELLED and its capacity freed at once; once the
   * lightpath is being set up or is up, it is torn down now (RELEASING, then RELEASED).
   */
  async cancel(principal: Principal, id: string, reason: string | null): Promise<ReservationEntity> {
    const why = (reason === null ? '' : requireText('reason', reason, MAX_REASON_LENGTH, { optional: true })) || 'cancelled';
    const result = await this.dataSource.transaction(async (m) => {
      const r = await this.lockVisible(m, principal, id);
      switch (r.state) {
        case ReservationState.CANCELLED:
          return r;
        case ReservationState.HELD:
        case ReservationState.RESERVED:
          await this.transition(m, r, ReservationState.CANCELLED, principal.actor, why);
          return r;
        case ReservationState.PROVISIONING:
        case ReservationState.ACTIVE:
          await this.transition(m, r, ReservationState.RELEASING, principal.actor, `cancelled while ${r.state}: ${why}`);
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
      await this.jobs.reschedule(JobName.LightpathTeardown, { reservationId: id }, { jobId: reservationJobId(id, JobName.LightpathTeardown) });
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
      return await this.dataSource.transaction(async (m) => {
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
        await lockCapacity(m, capacityLocks(claimOf(r), r.startAt, end));
        await m.query('UPDATE link_allocations SET during = $2::tstzrange WHERE reservation_id = $1', [id, range]);
        await m.query('UPDATE endpoint_allocations SET during = $2::tstzrange WHERE reservation_id = $1', [id, range]);
        await m.query('UPDATE reservations SET end_at = $2, updated_at = now() WHERE id = $1', [id, end]);
        r.endAt = end;
        await this.recordTransition(m, r, r.state, r.state, principal.actor, `end extended from ${previousEnd.toISOString()} to ${end.toISOString()}`);
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

  /**
   * One step of the lifecycle, taken by the provisioning jobs: moves the reservation to `to` if it is in
   * one of `from`, with history and audit, in one transaction. Returns the reservation as it now is and
   * whether it moved; a job that finds it elsewhere (cancelled meanwhile, or a step already done by an
   * earlier run) acts on that instead.
   */
  async advance(
    id: string,
    from: readonly ReservationState[],
    to: ReservationState,
    reason: string,
  ): Promise<{ reservation: ReservationEntity | null; moved: boolean }> {
    return this.dataSource.transaction(async (m) => {
      const rows = await m.getRepository(ReservationEntity).find({ where: { id }, lock: { mode: 'pessimistic_write' } });
      const r = rows[0] ?? null;
      if (!r || !from.includes(r.state)) return { reservation: r, moved: false };
      await this.transition(m, r, to, SYSTEM_ACTOR, reason);
      return { reservation: r, moved: true };
    });
  }

  /**
   * Moves a reservation that is being set up onto another path (and channel) that avoids `avoidLinkIds`,
   * replacing its link allocations atomically. Returns the updated reservation, or null when no other path
   * has a channel free for the whole window.
   */
  async reroute(id: string, avoidLinkIds: readonly string[]): Promise<ReservationEntity | null> {
    // Read before the transaction: inside it, only its own connection may be used (on the embedded engine a
    // second connection would wait for this transaction to end).
    const snapshot = await this.topology.snapshot();
    return this.dataSource.transaction(async (m) => {
      const rows = await m.getRepository(ReservationEntity).find({ where: { id }, lock: { mode: 'pessimistic_write' } });
      const r = rows[0];
      if (!r || r.state !== ReservationState.PROVISIONING) return null;
      const source = snapshot.endpoints.get(r.sourceEndpointId);
      const destination = snapshot.endpoints.get(r.destinationEndpointId);
      const from = source && snapshot.nodeOfEndpoint(source);
      const to = destination && snapshot.nodeOfEndpoint(destination);
      if (!from || !to) return null;
      const window = { start: r.startAt.getTime(), end: r.endAt.getTime() };
      const occupancy = await loadOccupancy(m, window, [], { excludeReservationId: id });
      const path = snapshot.pathComputer.computePath({ from, to, window, occupancy, excludeLinkIds: new Set(avoidLinkIds) });
      if (!path) return null;
      const previous = { path: r.pathLinkIds, channel: r.channel };
      await lockCapacity(m, capacityLocks({ linkIds: path.linkIds, channel: path.channel }, r.startAt, r.endAt));
      await m.query('DELETE FROM link_allocations WHERE reservation_id = $1', [id]);
      await m.query(
        `INSERT INTO link_allocations (reservation_id, link_id, channel, during)
         SELECT $1, l, $2, $3::tstzrange FROM unnest($4::uuid[]) AS l`,
        [id, path.channel, tstzrange(r.startAt, r.endAt), [...path.linkIds].sort()],
      );
      await m.query(
        'UPDATE reservations SET path_link_ids = $2::uuid[], channel = $3, distance_km = $4, updated_at = now() WHERE id = $1',
        [id, path.linkIds, path.channel, path.distanceKm],
      );
      Object.assign(r, { pathLinkIds: path.linkIds, channel: path.channel, distanceKm: path.distanceKm });
      const codes = (ids: readonly string[]) => ids.map((l) => snapshot.links.get(l)?.code ?? l).join(' ');
      await this.recordTransition(m, r, r.state, r.state, SYSTEM_ACTOR,
        `rerouted around ${codes(avoidLinkIds)}: now ${codes(path.linkIds)} on channel ${path.channel}`);
      await this.audit.append(m, {
        actor: SYSTEM_ACTOR,
        action: 'reservation.rerouted',
        entityType: 'reservation',
        entityId: id,
        data: { avoid: [...avoidLinkIds], from: previous, to: { path: path.linkIds, channel: path.channel } },
      });
      return r;
    });
  }

  async find(id: string): Promise<ReservationEntity | null> {
    return this.dataSource.getRepository(ReservationEntity).findOne({ where: { id } });
  }

  /**
   * When a setup job is due: APN_SETUP_LEAD_MS before the start. The job then waits for the start itself,
   * so the queue's pickup delay is spent before the start rather than after it.
   */
  setupJobRunAt(start: Date): Date {
    return new Date(start.getTime() - this.config.setupLeadMs);
  }

  /** Setup at start, teardown at end: delayed jobs with deterministic ids, so scheduling twice is harmless. */
  private async scheduleLifecycle(r: ReservationEntity): Promise<void> {
    await this.jobs.enqueue(JobName.LightpathSetup, { reservationId: r.id }, { jobId: reservationJobId(r.id, JobName.LightpathSetup), runAt: this.setupJobRunAt(r.startAt) });
    await this.jobs.enqueue(JobName.LightpathTeardown, { reservationId: r.id }, { jobId: reservationJobId(r.id, JobName.LightpathTeardown), runAt: r.endAt });
  }

  /** Expires a hold whose time has come; safe to run any number of times. */
  async expireHold(reservationId: string): Promise<'expired' | 'not-held' | 'not-yet'> {
    return this.dataSource.transaction(async (m) => {
      const rows = await m.getRepository(ReservationEntity).find({ where: { id: reservationId }, lock: { mode: 'pessimistic_write' } });
      const r = rows[0];
      if (!r || r.state !== ReservationState.HELD) return 'not-held';
      if (r.holdExpiresAt && r.holdExpiresAt.getTime() > Date.now()) return 'not-yet';
      await this.transition(m, r, ReservationState.EXPIRED, SYSTEM_ACTOR, `hold not committed within ${this.config.holdTtlSeconds} s`);
      return 'expired';
    });
  }

  /** Ids of holds past their expiry: the sweep's input when a delayed job was lost. */
  async overdueHolds(limit = 500): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `SELECT id FROM reservations WHERE state = 'HELD' AND hold_expires_at <= now() ORDER BY hold_expires_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }

  // --- internals ---------------------------------------------------------------------------------

  private async bookingTenant(principal: Principal, requested: string | null): Promise<string> {
    if (principal.role === Role.TENANT) {
      if (requested && requested !== principal.tenantId) {
        throw new AppError(ErrorCode.FORBIDDEN, 'A tenant key books for its own tenant only; omit input.tenantId.');
      }
      return principal.tenantId as string;
    }
    if (principal.role !== Role.OPERATOR) {
      throw new AppError(ErrorCode.FORBIDDEN, `Role ${principal.role} cannot book lightpaths.`);
    }
    if (!requested) throw badInput('input.tenantId', 'Operators must name the tenant to book for in input.tenantId.');
    if (!isUuid(requested)) throw badInput('input.tenantId', `input.tenantId ${requested} is not a tenant id.`);
    const rows: unknown[] = await this.dataSource.query('SELECT 1 FROM tenants WHERE id = $1', [requested]);
    if (rows.length === 0) throw badInput('input.tenantId', `Tenant ${requested} does not exist.`);
    return requested;
  }

  private validate(snapshot: TopologySnapshot, input: ReserveRequest): { sourceNodeId: string; destinationNodeId: string } {
    const now = Date.now();
    if (input.start.getTime() >= input.end.getTime()) {
      throw badInput('input.end', `end (${input.end.toISOString()}) must be after start (${input.start.toISOString()}).`);
    }
    if (input.end.getTime() <= now) {
      throw badInput('input.end', `end (${input.end.toISOString()}) is in the past; book a window that ends in the future.`);
    }
    if (input.start.getTime() < now - PAST_START_GRACE_MS) {
      throw badInput('input.start', `start (${input.start.toISOString()}) is in the past; use a start at or after now.`);
    }
    const durationS = (input.end.getTime() - input.start.getTime()) / 1000;
    if (durationS < this.config.minDurationSeconds) {
      throw badInput('input.end', `The window lasts ${durationS} s; the minimum is ${this.config.minDurationSeconds} s. Move end later.`);
    }
    const unbounded = windowProblem({ start: 'input.start', end: 'input.end' }, input.start, input.end, this.config, now);
    if (unbounded) throw badInput(unbounded.field, unbounded.message);
    if (input.idempotencyKey !== undefined && input.idempotencyKey !== null && (input.idempotencyKey.length < 1 || input.idempotencyKey.length > 200)) {
      throw badInput('input.idempotencyKey', 'idempotencyKey must be 1 to 200 characters.');
    }
    const ends = (['source', 'destination'] as const).map((side) => {
      const field = `input.${side}EndpointId`;
      const id = side === 'source' ? input.sourceEndpointId : input.destinationEndpointId;
      const endpoint = isUuid(id) ? snapshot.endpoints.get(id) : undefined;
      if (!endpoint) throw badInput(field, `${field}: endpoint ${id} does not exist; list endpoints with the endpoints query.`);
      if (endpoint.rateGbps !== input.rateGbps) {
        throw badInput(field, `${field}: endpoint ${endpoint.code} runs at ${endpoint.rateGbps} Gbps, not ${input.rateGbps}; pick an endpoint of that rate or set rateGbps to ${endpoint.rateGbps}.`);
      }
      if (input.requireLinkEncryption && !endpoint.encryption) {
        throw badInput(field, `${field}: the transponder of endpoint ${endpoint.code} cannot encrypt, and requireLinkEncryption asks for both ends to; pick an endpoint with encryption (see endpoints { code encryption }).`);
      }
      const nodeId = snapshot.nodeOfEndpoint(endpoint);
      if (!nodeId) throw badInput(field, `${field}: the site of endpoint ${endpoint.code} is not attached to an APN node.`);
      return { endpoint, nodeId };
    });
    if (ends[0].endpoint.siteId === ends[1].endpoint.siteId) {
      throw badInput('input.destinationEndpointId', 'Source and destination are at the same site; a lightpath joins two different sites.');
    }
    return { sourceNodeId: ends[0].nodeId, destinationNodeId: ends[1].nodeId };
  }

  private async findByIdempotencyKey(tenantId: string, key: string, fingerprint: string): Promise<ReservationEntity | null> {
    const existing = await this.dataSource.getRepository(ReservationEntity).findOne({ where: { tenantId, idempotencyKey: key } });
    if (!existing) return null;
    if (existing.requestFingerprint !== fingerprint) {
      throw conflict(
        `idempotencyKey ${JSON.stringify(key)} was already used for a different request (reservation ${existing.id}); use a new key for a new booking.`,
        'input.idempotencyKey',
      );
    }
    return existing;
  }

  /**
   * Writes the reservation, its allocations, its first history entry and its audit entry in one statement,
   * provided the topology is still at `revision` and the capacity keys it claims could be taken. With
   * `wait`, it queues for the keys (see lockCapacitySql), so that writers that could collide wait for
   * milliseconds instead of deadlocking inside the exclusion constraint check; with `try`, it takes none if
   * another transaction holds one, writes nothing and reports the keys that were busy (tryLockCapacitySql).
   */
  private async insertBooking(
    m: EntityManager,
    r: ReservationEntity,
    revision: string,
    mode: 'try' | 'wait',
    history: { reason: string; audit: AuditRecord },
  ): Promise<{ inserted: boolean; revisionCurrent: boolean; busy: string[] }> {
    const audit = this.audit.appendStatement(history.audit, 22, 'FROM reservation');
    const locks = capacityLocks(claimOf(r), r.startAt, r.endAt);
    const n = 22 + audit.values.length;
    const locked =
      mode === 'try'
        ? `locked AS (${tryLockCapacitySql(n)}), claimed AS (SELECT coalesce(bool_and(ok), true) AS ok, coalesce(array_agg(k) FILTER (WHERE NOT ok), '{}') AS busy FROM locked)`
        : `locked AS (${lockCapacitySql(n)}), claimed AS (SELECT count(*) >= 0 AS ok, '{}'::text[] AS busy FROM locked)`;
    const rows = await queryPrepared<{ inserted: number; revision_current: boolean; busy: string[] }>(
      m,
      this.usePrepared,
      mode === 'try' ? 'apn_book_try_v3' : 'apn_book_wait_v3',
      `WITH ${locked}, current AS (
         SELECT (SELECT coalesce(max(id), 0) FROM topology_revisions) = $21::bigint AS ok
       ), reservation AS (
         INSERT INTO reservations (id, tenant_id, source_endpoint_id, destination_endpoint_id, rate_gbps, start_at, end_at,
           state, channel, path_link_ids, distance_km, hold_expires_at, idempotency_key, request_fingerprint, created_at, updated_at)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10::uuid[], $11, $12, $13, $14, $15, $15
          WHERE (SELECT ok FROM claimed) AND (SELECT ok FROM current)
         RETURNING id
       ), endpoints AS (
         INSERT INTO endpoint_allocations (reservation_id, endpoint_id, during)
         SELECT reservation.id, e, $16::tstzrange FROM reservation, unnest($17::uuid[]) AS e
       ), links AS (
         INSERT INTO link_allocations (reservation_id, link_id, channel, during)
         SELECT reservation.id, l, $9, $16::tstzrange FROM reservation, unnest($18::uuid[]) AS l
       ), history AS (
         INSERT INTO reservation_transitions (reservation_id, from_state, to_state, at, actor, reason)
         SELECT reservation.id, NULL, $8, clock_timestamp(), $19, $20 FROM reservation
       ), audit AS (${audit.sql})
       SELECT (SELECT count(*)::int FROM reservation) AS inserted, (SELECT ok FROM current) AS revision_current,
              (SELECT busy FROM claimed) AS busy`,
      [r.id, r.tenantId, r.sourceEndpointId, r.destinationEndpointId, r.rateGbps, r.startAt, r.endAt, r.state, r.channel,
        r.pathLinkIds, r.distanceKm, r.holdExpiresAt, r.idempotencyKey, r.requestFingerprint, r.createdAt,
        tstzrange(r.startAt, r.endAt), [r.sourceEndpointId, r.destinationEndpointId].sort(), [...r.pathLinkIds].sort(),
        history.audit.actor, history.reason, revision, ...audit.values,
        locks.exclusive, locks.shared],
    );
    const row = rows[0];
    return { inserted: row.inserted === 1, revisionCurrent: row.revision_current, busy: row.busy ?? [] };
  }

  private async lockVisible(m: EntityManager, principal: Principal, id: string): Promise<ReservationEntity> {
    if (!isUuid(id)) throw notFound('Reservation', id);
    const rows = await m.getRepository(ReservationEntity).find({ where: { id }, lock: { mode: 'pessimistic_write' } });
    const r = rows[0];
    if (!r || (principal.role === Role.TENANT && r.tenantId !== principal.tenantId)) throw notFound('Reservation', id);
    if (principal.role === Role.BILLING) throw new AppError(ErrorCode.FORBIDDEN, 'Billing keys cannot change reservations.');
    return r;
  }

  /** Changes state, records history and audit, and frees capacity on entering a final state: one transaction. */
  private async transition(
    m: EntityManager,
    r: ReservationEntity,
    to: ReservationState,
    actor: string,
    reason: string,
  ): Promise<void> {
    assertTransition(r.id, r.state, to);
    const from = r.state;
    if (FINAL_STATES.has(to)) {
      await m.query('DELETE FROM link_allocations WHERE reservation_id = $1', [r.id]);
      await m.query('DELETE FROM endpoint_allocations WHERE reservation_id = $1', [r.id]);
    }
    // No transition leads into HELD, so whatever the new state, the hold is over.
    await m.query('UPDATE reservations SET state = $2, hold_expires_at = NULL, updated_at = now() WHERE id = $1', [r.id, to]);
    r.state = to;
    r.holdExpiresAt = null;
    await this.recordTransition(m, r, from, to, actor, reason);
    await this.audit.append(m, {
      actor,
      action: 'reservation.state-changed',
      entityType: 'reservation',
      entityId: r.id,
      data: { from, to, reason },
    });
  }

  private async recordTransition(
    m: EntityManager,
    r: ReservationEntity,
    from: ReservationState,
    to: ReservationState,
    actor: string,
    reason: string,
  ): Promise<void> {
    await m.query(
      'INSERT INTO reservation_transitions (reservation_id, from_state, to_state, at, actor, reason) VALUES ($1, $2, $3, clock_timestamp(), $4, $5)',
      [r.id, from, to, actor, reason],
    );
  }
}

function fingerprintOf(tenantId: string, input: ReserveRequest): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        tenantId,
        input.sourceEndpointId,
        input.destinationEndpointId,
        input.rateGbps,
        input.start.toISOString(),
        input.end.toISOString(),
        Boolean(input.autoCommit),
        // Appended only when asked, so the fingerprints of earlier bookings stay what they were.
        ...(input.requireLinkEncryption ? ['requireLinkEncryption'] : []),
      ]),
    )
    .digest('hex');
}
