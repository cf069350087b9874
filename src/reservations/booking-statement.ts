import type { EntityManager } from 'typeorm';
import type { AuditRecord, AuditService } from '../audit/audit.service';
import { queryPrepared } from '../core/database/prepared';
import { capacityLocks, lockCapacitySql, tryLockCapacitySql, tstzrange } from './capacity';
import type { ReservationEntity } from './reservation.entities';

/** What a reservation holds: its path's (link, channel) pairs and its two endpoints. */
export function claimOf(r: ReservationEntity) {
  return { linkIds: r.pathLinkIds, channel: r.channel, endpointIds: [r.sourceEndpointId, r.destinationEndpointId] };
}

/**
 * Writes the reservation, its allocations, its first history entry and its audit entry in one statement,
 * provided the topology is still at `revision` and the capacity keys it claims could be taken. With
 * `wait`, it queues for the keys (see lockCapacitySql), so that writers that could collide wait for
 * milliseconds instead of deadlocking inside the exclusion constraint check; with `try`, it takes none if
 * another transaction holds one, writes nothing and reports the keys that were busy (tryLockCapacitySql).
 */
export async function insertBooking(
  m: EntityManager,
  context: { audit: AuditService; usePrepared: boolean },
  r: ReservationEntity,
  revision: string,
  mode: 'try' | 'wait',
  history: { reason: string; audit: AuditRecord },
): Promise<{ inserted: boolean; revisionCurrent: boolean; busy: string[] }> {
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
