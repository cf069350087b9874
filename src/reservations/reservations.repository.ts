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

/**
 * Reads of reservations that other capabilities build on (storage: a mount's lightpath; metering: the
 * history), without a visibility check, inside the caller's transaction when one is given.
 */
@Injectable()
export class ReservationsRepository {
  constructor(private readonly dataSource: DataSource) {}

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
}
