import { Inject, Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { JobName, reservationJobId } from '../core/queue/job-catalogue';
import { JobQueue } from '../core/queue/job-queue.service';
import { SYSTEM_ACTOR } from '../tenancy/principal';
import { TopologyService } from '../topology/topology.service';
import { capacityLocks, tstzrange } from './capacity';
import { CapacityRepository } from './capacity.repository';
import { ReservationEntity } from './reservation.entities';
import { ReservationState } from './reservation-state';
import { ReservationTransitions } from './reservation-transitions';
import { ReservationsRepository } from './reservations.repository';

/**
 * What happens to a booked reservation over time, driven by jobs: its setup and teardown scheduled, its
 * states advanced by provisioning, a reroute around a failed link, its hold expired.
 */
@Injectable()
export class ReservationLifecycle {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly reservations: ReservationsRepository,
    private readonly capacity: CapacityRepository,
    private readonly topology: TopologyService,
    private readonly audit: AuditService,
    private readonly jobs: JobQueue,
    private readonly transitions: ReservationTransitions,
  ) {}

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
    return this.reservations.transaction(async (m) => {
      const r = await this.reservations.lockForUpdate(m, id);
      if (!r || !from.includes(r.state)) return { reservation: r, moved: false };
      await this.transitions.apply(m, r, to, SYSTEM_ACTOR, reason);
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
    return this.reservations.transaction(async (m) => {
      const r = await this.reservations.lockForUpdate(m, id);
      if (!r || r.state !== ReservationState.PROVISIONING) return null;
      const source = snapshot.endpoints.get(r.sourceEndpointId);
      const destination = snapshot.endpoints.get(r.destinationEndpointId);
      const from = source && snapshot.nodeOfEndpoint(source);
      const to = destination && snapshot.nodeOfEndpoint(destination);
      if (!from || !to) return null;
      const window = { start: r.startAt.getTime(), end: r.endAt.getTime() };
      const occupancy = await this.capacity.occupancy(window, [], { excludeReservationId: id }, m);
      const path = snapshot.pathComputer.computePath({ from, to, window, occupancy, excludeLinkIds: new Set(avoidLinkIds) });
      if (!path) return null;
      const previous = { path: r.pathLinkIds, channel: r.channel };
      await this.capacity.lock(m, capacityLocks({ linkIds: path.linkIds, channel: path.channel }, r.startAt, r.endAt));
      await this.capacity.replaceLinks(m, id, path, tstzrange(r.startAt, r.endAt));
      await this.reservations.setPath(m, id, path);
      Object.assign(r, { pathLinkIds: path.linkIds, channel: path.channel, distanceKm: path.distanceKm });
      const codes = (ids: readonly string[]) => ids.map((l) => snapshot.links.get(l)?.code ?? l).join(' ');
      await this.transitions.record(
        m,
        r,
        r.state,
        r.state,
        SYSTEM_ACTOR,
        `rerouted around ${codes(avoidLinkIds)}: now ${codes(path.linkIds)} on channel ${path.channel}`,
      );
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
    return this.reservations.findById(id);
  }

  /**
   * When a setup job is due: APN_SETUP_LEAD_MS before the start. The job then waits for the start itself,
   * so the queue's pickup delay is spent before the start rather than after it.
   */
  setupJobRunAt(start: Date): Date {
    return new Date(start.getTime() - this.config.setupLeadMs);
  }

  /** Setup at start, teardown at end: delayed jobs with deterministic ids, so scheduling twice is harmless. */
  async schedule(r: ReservationEntity): Promise<void> {
    await this.jobs.enqueue(
      JobName.LightpathSetup,
      { reservationId: r.id },
      { jobId: reservationJobId(r.id, JobName.LightpathSetup), runAt: this.setupJobRunAt(r.startAt) },
    );
    await this.jobs.enqueue(
      JobName.LightpathTeardown,
      { reservationId: r.id },
      { jobId: reservationJobId(r.id, JobName.LightpathTeardown), runAt: r.endAt },
    );
  }

  /** Expires a hold whose time has come; safe to run any number of times. */
  async expireHold(reservationId: string): Promise<'expired' | 'not-held' | 'not-yet'> {
    return this.reservations.transaction(async (m) => {
      const r = await this.reservations.lockForUpdate(m, reservationId);
      if (!r || r.state !== ReservationState.HELD) return 'not-held';
      if (r.holdExpiresAt && r.holdExpiresAt.getTime() > Date.now()) return 'not-yet';
      await this.transitions.apply(
        m,
        r,
        ReservationState.EXPIRED,
        SYSTEM_ACTOR,
        `hold not committed within ${this.config.holdTtlSeconds} s`,
      );
      return 'expired';
    });
  }

  /** Ids of holds past their expiry: the sweep's input when a delayed job was lost. */
  overdueHolds(limit = 500): Promise<string[]> {
    return this.reservations.overdueHolds(limit);
  }
}
