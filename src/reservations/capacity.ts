import { EntityManager } from 'typeorm';
import { queryPrepared } from '../core/database/prepared';
import { Occupancy, Window } from '../topology/pce';

/** Half-open tstzrange literal for a window, matching the `[)` bounds the constraints expect. */
export function tstzrange(start: Date, end: Date): string {
  return `[${start.toISOString()},${end.toISOString()})`;
}

/**
 * Loads the occupancy that overlaps a window: every (link, channel) allocation and the allocations of the
 * given endpoints. Read in the booking transaction; the exclusion constraints, not this read, decide.
 */
export async function loadOccupancy(
  m: EntityManager,
  window: Window,
  endpointIds: string[],
  options: { prepared?: boolean; excludeReservationId?: string } = {},
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
