import type { EntityManager } from 'typeorm';
import { pgErrorCode } from '../core/errors/app-error';
import type { UsageRow } from './usage-events';

/** Why the store refused a row it was given. */
export enum StoreRefusal {
  /** The row's series (source, meter, resource, window) is recorded for another tenant. */
  OTHER_TENANT = 'OTHER_TENANT',
  /** An ingested row reports one of the service's own meters for a resource the service meters. */
  METERED_BY_SERVICE = 'METERED_BY_SERVICE',
}

export interface StoreOutcome {
  /** (source, id) of the rows written; a row whose (source, id) was already stored is not among them. */
  written: Array<{ source: string; id: string }>;
  /** Rows refused, by position in the rows given. */
  refused: Array<{ position: number; refusal: StoreRefusal }>;
}

/**
 * Inserts usage rows in ONE statement, ignoring any whose (source, id) is already stored.
 *
 * A series is (source, meter, resource, window): only its own source revises it, so a row is stored
 * superseded when a later revision of its series exists (stored, or in the same batch), and a new revision
 * marks the earlier ones of its series superseded. A series belongs to one tenant, the tenant of its stored
 * rows or, for a new series, of its lowest revision in the batch: a row naming another is refused, as is a
 * row whose `claimedResources` entry names a reservation, mount or GPU allocation (ingest only: the service
 * meters those itself). Event fields themselves are never updated.
 */
export async function insertUsageRows(
  db: EntityManager,
  rows: readonly UsageRow[],
  claimedResources: ReadonlyArray<string | null> = [],
): Promise<StoreOutcome> {
  if (rows.length === 0) return { written: [], refused: [] };
  const col = <T>(pick: (row: UsageRow) => T) => rows.map(pick);
  const result: Array<{ source: string | null; id: string | null; position: string | null; refusal: StoreRefusal | null }> = await db.query(
    `WITH input AS (
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::timestamptz[], $6::jsonb[], $7::text[],
                            $8::int[], $9::numeric[], $10::int[], $11::text[], $12::text[], $13::text[], $14::uuid[])
                WITH ORDINALITY
         AS u(source, id, type, tenant_id, time, data, resource_id, revision, quantity, rate_gbps, distance_class, design, applies_to,
              claimed, position)
     ), checked AS (
       SELECT i.*, s.stored_revision,
              CASE
                WHEN i.claimed IS NOT NULL AND (EXISTS (SELECT 1 FROM reservations r WHERE r.id = i.claimed)
                                             OR EXISTS (SELECT 1 FROM mounts m WHERE m.id = i.claimed)
                                             OR EXISTS (SELECT 1 FROM gpu_allocations a WHERE a.id = i.claimed)) THEN 'METERED_BY_SERVICE'
                WHEN coalesce(s.other_tenant,
                              i.tenant_id <> first_value(i.tenant_id) OVER (PARTITION BY i.source, i.type, i.resource_id, i.time
                                                                                ORDER BY i.revision, i.position)) THEN 'OTHER_TENANT'
              END AS refusal
         FROM input i
        CROSS JOIN LATERAL (
          SELECT bool_or(e.tenant_id <> i.tenant_id) AS other_tenant, max(e.revision) AS stored_revision
            FROM usage_events e
           WHERE e.source = i.source AND e.type = i.type AND e.resource_id = i.resource_id AND e.time = i.time) s
     ), accepted AS (
       SELECT c.*, c.revision < max(c.revision) OVER (PARTITION BY c.source, c.type, c.resource_id, c.time) AS later_in_batch
         FROM checked c
        WHERE c.refusal IS NULL
     ), inserted AS (
       INSERT INTO usage_events (source, id, type, subject, time, data, tenant_id, resource_id, revision, superseded,
                                 quantity, rate_gbps, distance_class, design, applies_to)
       SELECT a.source, a.id, a.type, a.tenant_id::text, a.time, a.data, a.tenant_id, a.resource_id, a.revision,
              a.later_in_batch OR coalesce(a.stored_revision > a.revision, false),
              a.quantity, a.rate_gbps, a.distance_class, a.design, a.applies_to
         FROM accepted a
       ON CONFLICT (source, id) DO NOTHING
       RETURNING source, id, type, resource_id, time, revision
     ), superseding AS (
       UPDATE usage_events e SET superseded = true
         FROM inserted n
        WHERE n.revision > 1 AND e.source = n.source AND e.type = n.type AND e.resource_id = n.resource_id AND e.time = n.time
          AND e.revision < n.revision AND NOT e.superseded
       RETURNING 1
     )
     SELECT source, id, NULL::bigint AS position, NULL AS refusal FROM inserted
     UNION ALL
     SELECT NULL, NULL, position, refusal FROM checked WHERE refusal IS NOT NULL`,
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
      rows.map((_, i) => claimedResources[i] ?? null),
    ],
  );
  const outcome: StoreOutcome = { written: [], refused: [] };
  for (const r of result) {
    if (r.refusal) outcome.refused.push({ position: Number(r.position) - 1, refusal: r.refusal });
    else outcome.written.push({ source: r.source!, id: r.id! });
  }
  return outcome;
}

/**
 * A failure caused by the values of the rows rather than by the database's state: a data exception (class
 * 22, e.g. text PostgreSQL cannot hold), an integrity rule (23) or a size limit (54, e.g. an index entry too
 * large). Retrying the same rows fails the same way; inserting them one by one isolates the bad ones.
 */
export function isRowDataError(error: unknown): boolean {
  const code = pgErrorCode(error);
  return code !== undefined && (code.startsWith('22') || code.startsWith('23') || code.startsWith('54'));
}

/** A reason a client can act on for a row PostgreSQL refused, without the database's own words. */
export function storeFailureReason(error: unknown): string {
  const code = pgErrorCode(error) ?? '';
  if (code.startsWith('22'))
    return 'could not be stored: it holds text, a number or a date the database cannot store; check it against the bounds of usage events';
  if (code.startsWith('54')) return 'could not be stored: its ids are too large to index; shorten id, source or data.resourceId';
  return 'could not be stored: it breaks a rule of the usage records (for example a tenant that no longer exists)';
}
