import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { JobName, reservationJobId } from '../core/queue/job-catalogue';
import { JobQueue } from '../core/queue/job-queue.service';
import { SYSTEM_ACTOR } from '../tenancy/principal';
import { TopologyService } from '../topology/topology.service';
import { capacityLocks, loadOccupancy, lockCapacity, tstzrange } from './capacity';
import { ReservationEntity } from './reservation.entities';
import { ReservationState } from './reservation-state';
import { ReservationTransitions } from './reservation-transitions';

/**
 * What happens to a booked reservation over time, driven by jobs: its setup and teardown scheduled, its
 * states advanced by provisioning, a reroute around a failed link, its hold expired.
 */
@Injectable()
export class ReservationLifecycle {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dataSource: DataSource,
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
    return this.dataSource.transaction(async (m) => {
      const rows = await m.getRepository(ReservationEntity).find({ where: { id }, lock: { mode: 'pessimistic_write' } });
      const r = rows[0] ?? null;
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
    return this.dataSource.transaction(async (m) => {
      const rows = await m.getRepository(ReservationEntity).find({ where: { id: reservationId }, lock: { mode: 'pessimistic_write' } });
      const r = rows[0];
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
  async overdueHolds(limit = 500): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `SELECT id FROM reservations WHERE state = 'HELD' AND hold_expires_at <= now() ORDER BY hold_expires_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }
}
