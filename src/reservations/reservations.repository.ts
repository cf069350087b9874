import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In } from 'typeorm';
import { isUuid } from '../core/ids';
import { ReservationEntity } from './reservation.entities';
import type { ReservationState } from './reservation-state';

/** One spell of a reservation in ACTIVE, until its next transition (null while it lasts), with its two sites. */
export interface ActiveSpellRow {
  reservation_id: string;
  tenant_id: string;
  rate_gbps: number;
  distance_km: number;
  at: Date;
  next_at: Date | null;
  src_code: string;
  src_pue: number;
  src_carbon: number;
  dst_code: string;
  dst_pue: number;
  dst_carbon: number;
}

/** When a reservation first became ACTIVE: its lightpath's setup. */
export interface FirstActivationRow {
  reservation_id: string;
  tenant_id: string;
  first_at: Date;
}

/** A reservation that still has a step ahead: what the reconciler brings the queue and the network in line with. */
export interface LiveReservationRow {
  id: string;
  state: ReservationState;
  start_at: Date;
  end_at: Date;
  hold_expires_at: Date | null;
}

/** One entry of a reservation's history. */
export interface TransitionRow {
  reservation_id: string;
  from_state: ReservationState | null;
  to_state: ReservationState;
  at: Date;
  actor: string;
  reason: string;
}

/** Which reservations a page lists: `tenantId` undefined for every tenant (null matches none). */
export interface ReservationPageFilter {
  tenantId?: string | null;
  state?: ReservationState | null;
  after?: { createdAt: Date; id: string } | null;
}

/**
 * The SQL of reservations and their history. Reads that other capabilities build on (storage: a mount's
 * lightpath; metering: the history; provisioning: the live reservations) come without a visibility check;
 * every method runs inside the caller's transaction when one is given.
 */
@Injectable()
export class ReservationsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `fn` in one transaction; pass its manager to the methods that take one. */
  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  /** How many reservations are in each state (states with none are absent). */
  async countByState(): Promise<Map<string, number>> {
    const rows = await this.dataSource.query<Array<{ state: string; n: number }>>(
      'SELECT state, count(*)::int AS n FROM reservations GROUP BY state',
    );
    return new Map(rows.map((r) => [r.state, r.n]));
  }

  /** A reservation by id; null for none, or for an id that is not a UUID. */
  async find(id: string, m: EntityManager = this.dataSource.manager): Promise<ReservationEntity | null> {
    return isUuid(id) ? m.getRepository(ReservationEntity).findOneBy({ id }) : null;
  }

  /** The current state of each reservation found, by id. */
  async states(ids: readonly string[], m: EntityManager = this.dataSource.manager): Promise<Map<string, ReservationState>> {
    const rows = await m
      .getRepository(ReservationEntity)
      .find({ select: { id: true, state: true }, where: { id: In(ids.filter(isUuid)) } });
    return new Map(rows.map((r) => [r.id, r.state]));
  }
  /** ACTIVE spells overlapping [from, to). */
  activeSpells(m: EntityManager, from: string, to: string): Promise<ActiveSpellRow[]> {
    return m.query(
      `SELECT x.reservation_id, r.tenant_id, r.rate_gbps, r.distance_km, x.at, x.next_at,
              ss.code AS src_code, ss.pue AS src_pue, ss.grid_carbon_kg_per_kwh AS src_carbon,
              ds.code AS dst_code, ds.pue AS dst_pue, ds.grid_carbon_kg_per_kwh AS dst_carbon
         FROM (SELECT t.reservation_id, t.to_state, t.at,
                      lead(t.at) OVER (PARTITION BY t.reservation_id ORDER BY t.at, t.id) AS next_at
                 FROM reservation_transitions t) x
         JOIN reservations r ON r.id = x.reservation_id
         JOIN endpoints se ON se.id = r.source_endpoint_id JOIN sites ss ON ss.id = se.site_id
         JOIN endpoints de ON de.id = r.destination_endpoint_id JOIN sites ds ON ds.id = de.site_id
        WHERE x.to_state = 'ACTIVE' AND x.at < $2 AND (x.next_at IS NULL OR x.next_at > $1)`,
      [from, to],
    );
  }

  /** Reservations that first became ACTIVE within [from, to). */
  firstActivations(m: EntityManager, from: string, to: string): Promise<FirstActivationRow[]> {
    return m.query(
      `SELECT t.reservation_id, r.tenant_id, min(t.at) AS first_at
         FROM reservation_transitions t JOIN reservations r ON r.id = t.reservation_id
        WHERE t.to_state = 'ACTIVE' GROUP BY t.reservation_id, r.tenant_id
       HAVING min(t.at) >= $1 AND min(t.at) < $2`,
      [from, to],
    );
  }

  /** A reservation by id, as the database reads the id (a malformed one fails there). */
  findById(id: string): Promise<ReservationEntity | null> {
    return this.dataSource.getRepository(ReservationEntity).findOne({ where: { id } });
  }

  /** Reads a reservation and locks its row for the rest of the transaction; null if there is none. */
  async lockForUpdate(m: EntityManager, id: string): Promise<ReservationEntity | null> {
    const rows = await m.getRepository(ReservationEntity).find({ where: { id }, lock: { mode: 'pessimistic_write' } });
    return rows[0] ?? null;
  }

  /** The tenant's reservation booked with this idempotency key, if any. */
  findByIdempotencyKey(tenantId: string, key: string): Promise<ReservationEntity | null> {
    return this.dataSource.getRepository(ReservationEntity).findOne({ where: { tenantId, idempotencyKey: key } });
  }

  /** Reservations by id; ids that are not UUIDs match none. */
  byIds(ids: readonly string[]): Promise<ReservationEntity[]> {
    return this.dataSource.getRepository(ReservationEntity).findBy({ id: In(ids.filter(isUuid)) });
  }

  /** Up to `limit` reservations, newest first, after the cursor position. */
  page(filter: ReservationPageFilter, limit: number): Promise<ReservationEntity[]> {
    const q = this.dataSource.getRepository(ReservationEntity).createQueryBuilder('r');
    if (filter.tenantId !== undefined) q.andWhere('r.tenant_id = :tenantId', { tenantId: filter.tenantId });
    if (filter.state) q.andWhere('r.state = :state', { state: filter.state });
    if (filter.after) q.andWhere('(r.created_at, r.id) < (:createdAt, :id)', { createdAt: filter.after.createdAt, id: filter.after.id });
    return q.orderBy('r.created_at', 'DESC').addOrderBy('r.id', 'DESC').limit(limit).getMany();
  }

  /** The history of each reservation, in the order it happened. */
  history(ids: readonly string[]): Promise<TransitionRow[]> {
    return this.dataSource.query(
      `SELECT reservation_id, from_state, to_state, at, actor, reason FROM reservation_transitions
          WHERE reservation_id = ANY($1::uuid[]) ORDER BY id`,
      [ids],
    );
  }

  /** Whether the reservation was ever ACTIVE, i.e. its lightpath was up. */
  async wasActive(id: string): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query(
      `SELECT 1 FROM reservation_transitions WHERE reservation_id = $1 AND to_state = 'ACTIVE' LIMIT 1`,
      [id],
    );
    return rows.length > 0;
  }

  /** Ids of holds past their expiry, the longest overdue first. */
  async overdueHolds(limit: number): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `SELECT id FROM reservations WHERE state = 'HELD' AND hold_expires_at <= now() ORDER BY hold_expires_at LIMIT $1`,
      [limit],
    );
    return rows.map((r) => r.id);
  }

  /** Reservations in a state that has a step ahead. */
  live(): Promise<LiveReservationRow[]> {
    return this.dataSource.query(
      `SELECT id, state, start_at, end_at, hold_expires_at FROM reservations
        WHERE state IN ('HELD', 'RESERVED', 'PROVISIONING', 'ACTIVE', 'RELEASING', 'NEEDS_CLEANUP')`,
    );
  }

  /** Moves a reservation to `state`; whatever the state, its hold is over. */
  async setState(m: EntityManager, id: string, state: ReservationState): Promise<void> {
    await m.query('UPDATE reservations SET state = $2, hold_expires_at = NULL, updated_at = now() WHERE id = $1', [id, state]);
  }

  /** Moves a reservation's end. */
  async setEnd(m: EntityManager, id: string, end: Date): Promise<void> {
    await m.query('UPDATE reservations SET end_at = $2, updated_at = now() WHERE id = $1', [id, end]);
  }

  /** Moves a reservation onto another path and channel. */
  async setPath(m: EntityManager, id: string, path: { linkIds: string[]; channel: number; distanceKm: number }): Promise<void> {
    await m.query('UPDATE reservations SET path_link_ids = $2::uuid[], channel = $3, distance_km = $4, updated_at = now() WHERE id = $1', [
      id,
      path.linkIds,
      path.channel,
      path.distanceKm,
    ]);
  }

  /** Appends an entry to a reservation's history. */
  async recordTransition(
    m: EntityManager,
    id: string,
    from: ReservationState,
    to: ReservationState,
    actor: string,
    reason: string,
  ): Promise<void> {
    await m.query(
      'INSERT INTO reservation_transitions (reservation_id, from_state, to_state, at, actor, reason) VALUES ($1, $2, $3, clock_timestamp(), $4, $5)',
      [id, from, to, actor, reason],
    );
  }

  /** The uuid of the reservation's TAPI connectivity-service, if one was recorded. */
  async tapiServiceUuid(id: string): Promise<string | null> {
    const rows: Array<{ tapi_service_uuid: string | null }> = await this.dataSource.query(
      'SELECT tapi_service_uuid FROM reservations WHERE id = $1',
      [id],
    );
    return rows[0]?.tapi_service_uuid ?? null;
  }

  async setTapiServiceUuid(id: string, serviceUuid: string): Promise<void> {
    await this.dataSource.query('UPDATE reservations SET tapi_service_uuid = $2 WHERE id = $1', [id, serviceUuid]);
  }
}
