import type { EntityManager } from 'typeorm';
import type { ReservationEntity } from './reservation.entities';

/** What a reservation holds: its path's (link, channel) pairs and its two endpoints. */
export function claimOf(r: ReservationEntity) {
  return { linkIds: r.pathLinkIds, channel: r.channel, endpointIds: [r.sourceEndpointId, r.destinationEndpointId] };
}

/** Half-open tstzrange literal for a window, matching the `[)` bounds the constraints expect. */
export function tstzrange(start: Date, end: Date): string {
  return `[${start.toISOString()},${end.toISOString()})`;
}

/**
 * Lock levels for capacity keys, finest first: a minute, an hour, a day, 32 days, 1,024 days, and one
 * bucket for all time. A window takes an exclusive lock on the (at most two) buckets it touches at the
 * finest level where it touches no more than two, and a shared lock on every bucket it touches at each
 * coarser level. Two windows that overlap at an instant t therefore always conflict: at the coarser of
 * their two levels, one holds t's bucket exclusively and the other holds it exclusively or shared. Windows
 * that do not overlap rarely share an exclusive bucket, so back-to-back bookings of one channel do not
 * queue behind each other. Each level is 32 times (or more) the one below, so a window touches at most two
 * buckets at every coarser level, and the last level has one bucket: a claim takes at most 2 keys per
 * level and resource, whatever its window, and never fills PostgreSQL's lock table.
 */
const LOCK_LEVELS_MS = [60_000, 3_600_000, 86_400_000, 32 * 86_400_000, 1024 * 86_400_000, Number.POSITIVE_INFINITY] as const;

export interface CapacityLocks {
  /** Keys to lock exclusively. */
  readonly exclusive: string[];
  /** Keys to lock shared. */
  readonly shared: string[];
}

/**
 * The advisory lock keys for claiming some resources (each (link, channel), endpoint or GPU node) over
 * [start, end). Two claims that could collide on an exclusion constraint always share a key in a
 * conflicting mode; see LOCK_LEVELS_MS.
 */
export function capacityLocks(
  claim: { linkIds?: readonly string[]; channel?: number; endpointIds?: readonly string[]; nodeIds?: readonly string[] },
  start: Date,
  end: Date,
): CapacityLocks {
  const resources = [
    ...(claim.linkIds ?? []).map((l) => `link:${l}:${claim.channel}`),
    ...(claim.endpointIds ?? []).map((e) => `endpoint:${e}`),
    ...(claim.nodeIds ?? []).map((n) => `node:${n}`),
  ];
  const s = start.getTime();
  const e = Math.max(s + 1, end.getTime());
  const buckets = (size: number): number[] => {
    const first = Math.floor(s / size);
    const last = Math.floor((e - 1) / size);
    return Array.from({ length: last - first + 1 }, (_, i) => first + i);
  };
  // The last level has one bucket, so some level always qualifies.
  const level = LOCK_LEVELS_MS.findIndex((size) => Math.floor((e - 1) / size) - Math.floor(s / size) < 2);
  const exclusive: string[] = [];
  const shared: string[] = [];
  for (let l = level; l < LOCK_LEVELS_MS.length; l++) {
    const keys = buckets(LOCK_LEVELS_MS[l]);
    for (const r of resources) for (const b of keys) (l === level ? exclusive : shared).push(`${r}@${l}:${b}`);
  }
  return { exclusive, shared };
}

/**
 * A SELECT that takes transaction-scoped advisory locks: exclusive on each key of the text[] parameter `$n`,
 * shared on each key of `$(n+1)`, in one global order (the 64-bit key), one row per key.
 *
 * Why: PostgreSQL checks an exclusion constraint after inserting the index entry, so two transactions
 * inserting conflicting rows at the same moment each find the other's uncommitted row, wait for each other
 * and deadlock; the deadlock detector breaks the tie only after deadlock_timeout (1 s by default). Ten
 * bookings racing for one span then took up to a minute and could exhaust their retries. Locking first makes
 * writers that could collide queue for milliseconds instead: the second then meets the first's committed row
 * and gets a plain exclusion violation, which the caller retries on fresh occupancy. The constraints stay
 * the only arbiter; the locks only order the writers. They end with the transaction (or the statement, in
 * autocommit).
 */
export function lockCapacitySql(n: number): string {
  return `SELECT CASE WHEN o.x THEN pg_advisory_xact_lock(o.key) ELSE pg_advisory_xact_lock_shared(o.key) END
            FROM (SELECT hashtextextended(u.k, 0) AS key, bool_or(u.x) AS x
                    FROM (SELECT unnest($${n}::text[]) AS k, true AS x UNION ALL SELECT unnest($${n + 1}::text[]), false) AS u
                   GROUP BY 1 ORDER BY 1) AS o`;
}

/**
 * Like lockCapacitySql, but never waits, and stops at the first key another transaction holds in a
 * conflicting mode: rows (`k` the key text, `ok`) for the keys tried, in the global key order, the last one
 * `ok = false` when one was busy. A booking that finds a key held is racing another booking for that
 * channel or port: rather than queue behind it and then lose on the exclusion constraint, it picks another
 * channel at once (see busyResources). Stopping at the first busy key, in the one global order, means two
 * racers never both give up because of each other: the first to take their first shared key goes on.
 * Keys taken stay held until the statement ends.
 */
export function tryLockCapacitySql(n: number): string {
  return `WITH RECURSIVE wanted AS (
            SELECT row_number() OVER (ORDER BY o.key) AS i, o.key, o.k, o.x
              FROM (SELECT hashtextextended(u.k, 0) AS key, min(u.k) AS k, bool_or(u.x) AS x
                      FROM (SELECT unnest($${n}::text[]) AS k, true AS x UNION ALL SELECT unnest($${n + 1}::text[]), false) AS u
                     GROUP BY 1) AS o
          ), taken(i, k, ok) AS (
            SELECT 0::bigint, NULL::text, true
            UNION ALL
            SELECT w.i, w.k, CASE WHEN w.x THEN pg_try_advisory_xact_lock(w.key) ELSE pg_try_advisory_xact_lock_shared(w.key) END
              FROM taken t JOIN wanted w ON w.i = t.i + 1
             WHERE t.ok
          )
          SELECT k, ok FROM taken WHERE i > 0`;
}

/** The resources behind capacity keys another transaction held (see capacityLocks for the key format). */
export function busyResources(keys: readonly string[]): {
  links: Array<{ linkId: string; channel: number }>;
  endpoints: string[];
  nodes: string[];
} {
  const links = new Map<string, { linkId: string; channel: number }>();
  const endpoints = new Set<string>();
  const nodes = new Set<string>();
  for (const key of keys) {
    const resource = key.slice(0, key.indexOf('@'));
    const [kind, id, channel] = resource.split(':');
    if (kind === 'link') links.set(`${id}:${channel}`, { linkId: id, channel: Number(channel) });
    else if (kind === 'endpoint') endpoints.add(id);
    else if (kind === 'node') nodes.add(id);
  }
  return { links: [...links.values()], endpoints: [...endpoints], nodes: [...nodes] };
}

/** Takes the advisory locks for a claim inside the caller's transaction (see lockCapacitySql). */
export async function lockCapacity(m: EntityManager, locks: CapacityLocks): Promise<void> {
  await m.query(`SELECT count(*) FROM (${lockCapacitySql(1)}) AS locked`, [locks.exclusive, locks.shared]);
}
