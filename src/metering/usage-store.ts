import type { EntityManager } from 'typeorm';
import type { UsageRow } from './usage-events';

const seriesKey = (row: Pick<UsageRow, 'type' | 'resourceId' | 'time'>) => `${row.type}\u0000${row.resourceId}\u0000${row.time.getTime()}`;

/**
 * Inserts usage rows in ONE statement, ignoring any whose (source, id) is already stored, and returns the
 * keys of the rows actually written. A row is stored superseded when a later revision of its meter,
 * resource and window exists (stored, or in the same batch); a new revision marks the earlier ones
 * superseded. Event fields themselves are never updated.
 */
export async function insertUsageRows(db: EntityManager, rows: readonly UsageRow[]): Promise<Array<{ source: string; id: string }>> {
  if (rows.length === 0) return [];
  const latestInBatch = new Map<string, number>();
  for (const row of rows) latestInBatch.set(seriesKey(row), Math.max(latestInBatch.get(seriesKey(row)) ?? 0, row.revision));
  const col = <T>(pick: (row: UsageRow) => T) => rows.map(pick);
  return db.query(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::timestamptz[], $6::jsonb[], $7::text[],
                            $8::int[], $9::numeric[], $10::int[], $11::text[], $12::text[], $13::text[], $14::boolean[])
         AS u(source, id, type, tenant_id, time, data, resource_id, revision, quantity, rate_gbps, distance_class, design, applies_to, later_in_batch)
     ), inserted AS (
       INSERT INTO usage_events (source, id, type, subject, time, data, tenant_id, resource_id, revision, superseded,
                                 quantity, rate_gbps, distance_class, design, applies_to)
       SELECT i.source, i.id, i.type, i.tenant_id::text, i.time, i.data, i.tenant_id, i.resource_id, i.revision,
              i.later_in_batch OR (i.revision > 0 AND EXISTS (
                SELECT 1 FROM usage_events e
                 WHERE e.type = i.type AND e.resource_id = i.resource_id AND e.time = i.time AND e.revision > i.revision)),
              i.quantity, i.rate_gbps, i.distance_class, i.design, i.applies_to
         FROM input i
       ON CONFLICT (source, id) DO NOTHING
       RETURNING source, id, type, resource_id, time, revision
     ), superseding AS (
       UPDATE usage_events e SET superseded = true
         FROM inserted n
        WHERE n.revision > 1 AND e.type = n.type AND e.resource_id = n.resource_id AND e.time = n.time
          AND e.revision < n.revision AND NOT e.superseded
       RETURNING 1
     )
     SELECT source, id FROM inserted`,
    [
      col((r) => r.source),
      col((r) => r.id),
      col((r) => r.type),
      col((r) => r.tenantId),
      col((r) => r.time.toISOString()),
      col((r) => JSON.stringify(r.data)),
      col((r) => r.resourceId),
      col((r) => r.revision),
      col((r) => r.quantity),
      col((r) => r.rateGbps),
      col((r) => r.distanceClass),
      col((r) => r.design),
      col((r) => r.appliesTo),
      col((r) => (latestInBatch.get(seriesKey(r)) ?? 0) > r.revision),
    ],
  );
}
