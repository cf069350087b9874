import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { AuditRecord, AuditService } from '../audit/audit.service';
import { queryPrepared } from '../core/database/prepared';
import { Occupancy, Window } from '../topology/pce';
import { capacityLocks, claimOf, lockCapacity, lockCapacitySql, tryLockCapacitySql, tstzrange, type CapacityLocks } from './capacity';
import type { ReservationEntity } from './reservation.entities';

/** The outcome of one booking statement (see CapacityRepository.insertBooking). */
export interface BookingOutcome {
  inserted: boolean;
  revisionCurrent: boolean;
  busy: string[];
}

/**
 * The SQL of capacity: the link and endpoint allocations that the exclusion constraints guard, the
 * advisory locks that order their writers (see capacity.ts), and the one statement that writes a booking.
 * Each method runs in the caller's transaction when one is given.
 */
@Injectable()
export class CapacityRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * Loads the occupancy that overlaps a window: every (link, channel) allocation and the allocations of the
   * given endpoints. Read in the booking transaction; the exclusion constraints, not this read, decide.
   */
  async occupancy(
    window: Window,
    endpointIds: string[],
    options: { prepared?: boolean; excludeReservationId?: string } = {},
    m: EntityManager = this.dataSource.manager,
  ): Promise<Occupancy> {
    const rows = await queryPrepared<{
      reservation_id: string;
      link_id: string | null;
      endpoint_id: string | null;
      channel: number | null;
      start: number;
      end: number;
    }>(
      m,
      options.prepared ?? false,
      'apn_occupancy_v2',
      `SELECT reservation_id, link_id, NULL::uuid AS endpoint_id, channel,
              (extract(epoch FROM lower(during)) * 1000)::float8 AS start,
              (extract(epoch FROM upper(during)) * 1000)::float8 AS "end"
         FROM link_allocations WHERE during && $1::tstzrange
       UNION ALL
       SELECT reservation_id, NULL, endpoint_id, NULL,
              (extract(epoch FROM lower(during)) * 1000)::float8,
              (extract(epoch FROM upper(during)) * 1000)::float8
         FROM endpoint_allocations WHERE endpoint_id = ANY($2::uuid[]) AND during && $1::tstzrange`,
      [tstzrange(new Date(window.start), new Date(window.end)), endpointIds],
    );
    const occupancy = new Occupancy();
    for (const r of rows) {
      if (r.reservation_id === options.excludeReservationId) continue;
      if (r.link_id) occupancy.addLinkBooking({ linkId: r.link_id, channel: r.channel as number, start: r.start, end: r.end });
      else if (r.endpoint_id) occupancy.addEndpointBooking({ endpointId: r.endpoint_id, start: r.start, end: r.end });
    }
    return occupancy;
  }

  /** Takes the advisory locks for a claim inside the caller's transaction (see lockCapacitySql). */
  lock(m: EntityManager, locks: CapacityLocks): Promise<void> {
    return lockCapacity(m, locks);
  }

  /**
   * Writes the reservation, its allocations, its first history entry and its audit entry in one statement,
   * provided the topology is still at `revision` and the capacity keys it claims could be taken. With
   * `wait`, it queues for the keys (see lockCapacitySql), so that writers that could collide wait for
   * milliseconds instead of deadlocking inside the exclusion constraint check; with `try`, it takes none if
   * another transaction holds one, writes nothing and reports the keys that were busy (tryLockCapacitySql).
   */
  async insertBooking(
    context: { audit: AuditService; usePrepared: boolean },
    r: ReservationEntity,
    revision: string,
    mode: 'try' | 'wait',
    history: { reason: string; audit: AuditRecord },
    m: EntityManager = this.dataSource.manager,
  ): Promise<BookingOutcome> {
    const audit = context.audit.appendStatement(history.audit, 22, 'FROM reservation');
    const locks = capacityLocks(claimOf(r), r.startAt, r.endAt);
    const n = 22 + audit.values.length;
    const locked =
      mode === 'try'
        ? `locked AS (${tryLockCapacitySql(n)}), claimed AS (SELECT coalesce(bool_and(ok), true) AS ok, coalesce(array_agg(k) FILTER (WHERE NOT ok), '{}') AS busy FROM locked)`
        : `locked AS (${lockCapacitySql(n)}), claimed AS (SELECT count(*) >= 0 AS ok, '{}'::text[] AS busy FROM locked)`;
    const rows = await queryPrepared<{ inserted: number; revision_current: boolean; busy: string[] }>(
      m,
      context.usePrepared,
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
      [
        r.id,
        r.tenantId,
        r.sourceEndpointId,
        r.destinationEndpointId,
        r.rateGbps,
        r.startAt,
        r.endAt,
        r.state,
        r.channel,
        r.pathLinkIds,
        r.distanceKm,
        r.holdExpiresAt,
        r.idempotencyKey,
        r.requestFingerprint,
        r.createdAt,
        tstzrange(r.startAt, r.endAt),
        [r.sourceEndpointId, r.destinationEndpointId].sort(),
        [...r.pathLinkIds].sort(),
        history.audit.actor,
        history.reason,
        revision,
        ...audit.values,
        locks.exclusive,
        locks.shared,
      ],
    );
    const row = rows[0];
    return { inserted: row.inserted === 1, revisionCurrent: row.revision_current, busy: row.busy ?? [] };
  }

  /** Frees everything a reservation holds: on entering a final state. */
  async free(m: EntityManager, reservationId: string): Promise<void> {
    await m.query('DELETE FROM link_allocations WHERE reservation_id = $1', [reservationId]);
    await m.query('DELETE FROM endpoint_allocations WHERE reservation_id = $1', [reservationId]);
  }

  /** Moves every allocation of a reservation to the window `range` (a tstzrange literal). */
  async resize(m: EntityManager, reservationId: string, range: string): Promise<void> {
    await m.query('UPDATE link_allocations SET during = $2::tstzrange WHERE reservation_id = $1', [reservationId, range]);
    await m.query('UPDATE endpoint_allocations SET during = $2::tstzrange WHERE reservation_id = $1', [reservationId, range]);
  }

  /** Replaces a reservation's link allocations by those of another path and channel over `range`. */
  async replaceLinks(m: EntityManager, reservationId: string, path: { linkIds: string[]; channel: number }, range: string): Promise<void> {
    await m.query('DELETE FROM link_allocations WHERE reservation_id = $1', [reservationId]);
    await m.query(
      `INSERT INTO link_allocations (reservation_id, link_id, channel, during)
       SELECT $1, l, $2, $3::tstzrange FROM unnest($4::uuid[]) AS l`,
      [reservationId, path.channel, range, [...path.linkIds].sort()],
    );
  }
}
