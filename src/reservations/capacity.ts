import { EntityManager } from 'typeorm';
import { Occupancy, Window } from '../topology/pce';

/** Half-open tstzrange literal for a window, matching the `[)` bounds the constraints expect. */
export function tstzrange(start: Date, end: Date): string {
  return `[${start.toISOString()},${end.toISOString()})`;
}

/**
 * Loads the occupancy that overlaps a window: every (link, channel) allocation and the allocations of the
 * given endpoints. Read in the booking transaction; the exclusion constraints, not this read, decide.
 */
export async function loadOccupancy(m: EntityManager, window: Window, endpointIds: string[]): Promise<Occupancy> {
  const range = `[${new Date(window.start).toISOString()},${new Date(window.end).toISOString()})`;
  // One after the other: both run on the transaction's single connection.
  const links: Array<{ link_id: string; channel: number; start: number; end: number }> = await m.query(
    `SELECT link_id, channel,
            (extract(epoch FROM lower(during)) * 1000)::float8 AS start,
            (extract(epoch FROM upper(during)) * 1000)::float8 AS "end"
       FROM link_allocations WHERE during && $1::tstzrange`,
    [range],
  );
  const endpoints: Array<{ endpoint_id: string; start: number; end: number }> =
    endpointIds.length === 0
      ? []
      : await m.query(
          `SELECT endpoint_id,
                  (extract(epoch FROM lower(during)) * 1000)::float8 AS start,
                  (extract(epoch FROM upper(during)) * 1000)::float8 AS "end"
             FROM endpoint_allocations WHERE endpoint_id = ANY($1::uuid[]) AND during && $2::tstzrange`,
          [endpointIds, range],
        );
  return Occupancy.fromBookings(
    links.map((r) => ({ linkId: r.link_id, channel: r.channel, start: r.start, end: r.end })),
    endpoints.map((r) => ({ endpointId: r.endpoint_id, start: r.start, end: r.end })),
  );
}
