import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { UsageRow } from './usage-events';
import { METERING_SOURCE } from './usage-events';
import type { RecordedUsage } from './usage-revisions';
import type { StoreOutcome, StoreRefusal } from './usage-store';

/** A page of the usage export holds this many events, read by keyset. */
export const EXPORT_PAGE = 5000;

/** A usage event as the export reads it. */
export interface ExportRow {
  source: string;
  id: string;
  type: string;
  subject: string;
  time: Date;
  data: Record<string, unknown>;
  revision: number;
  tenant_id: string;
}

/** A group of the period's latest revisions, summed from the daily totals, as an invoice rates it. */
export interface InvoiceGroupRow {
  type: string;
  rate_gbps: number | null;
  distance_class: string | null;
  design: string | null;
  applies_to: string | null;
  quantity: string;
  measured: string;
  events: number;
}

/**
 * The usage events and their daily totals: storing ingested and metered rows, the metering run's reads, the
 * totals, the invoice aggregates and the export's pages. Methods taking an EntityManager run inside the
 * caller's transaction when one is given.
 */
@Injectable()
export class UsageRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  /**
   * Inserts usage rows in ONE statement, ignoring any whose (source, id) is already stored.
   *
   * A series is (source, meter, resource, window): only its own source revises it, so a row is stored
   * superseded when a later revision of its series exists (stored, or in the same batch), and a new revision
   * marks the earlier ones of its series superseded. A series belongs to one tenant, the tenant of its stored
   * rows or, for a new series, of its lowest revision in the batch: a row naming another is refused, as is a
   * row whose `claimedResources` entry names a reservation, mount or GPU allocation (ingest only: the service
   * meters those itself). Event fields themselves are never updated. The resource check reads the reservations,
   * mounts and GPU allocations tables in the same statement, so that the refusal and the insert see one state.
   */
  async insert(
    rows: readonly UsageRow[],
    claimedResources: ReadonlyArray<string | null> = [],
    db: EntityManager = this.dataSource.manager,
  ): Promise<StoreOutcome> {
    if (rows.length === 0) return { written: [], refused: [] };
    const col = <T>(pick: (row: UsageRow) => T) => rows.map(pick);
    const result: Array<{ source: string | null; id: string | null; position: string | null; refusal: StoreRefusal | null }> =
      await db.query(
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

  /** Serialises metering runs: held until the caller's transaction ends. */
  async lockCollect(m: EntityManager): Promise<void> {
    await m.query(`SELECT pg_advisory_xact_lock(hashtext('apn.metering.collect'))`);
  }

  /** The latest hour window the service metered, of the events not superseded. */
  async lastMetered(m: EntityManager): Promise<Date | string | null> {
    const [{ last }] = await m.query<Array<{ last: Date | string | null }>>(
      `SELECT max(time) AS last FROM usage_events WHERE source = '${METERING_SOURCE}' AND NOT superseded`,
    );
    return last;
  }

  /** The latest revisions the service metered with `time` in [from, to). */
  metered(m: EntityManager, from: string, to: string): Promise<RecordedUsage[]> {
    return m.query(
      `SELECT type, resource_id, time, revision, quantity::text AS quantity, tenant_id, data FROM usage_events
        WHERE source = '${METERING_SOURCE}' AND NOT superseded AND time >= $1 AND time < $2`,
      [from, to],
    );
  }

  /**
   * Latest revisions with `time` in [from, to) of one tenant (or all, null), summed per group: `columns` are
   * the SQL expressions grouped by, each answered as its alias.
   */
  totals(
    columns: ReadonlyArray<{ expression: string; alias: string }>,
    from: Date,
    to: Date,
    tenant: string | null,
  ): Promise<Array<Record<string, unknown>>> {
    return this.dataSource.query(
      `SELECT ${columns.map((c) => `${c.expression} AS ${c.alias}`).join(', ')}, sum(quantity)::text AS quantity, count(*)::int AS events
         FROM usage_events
        WHERE NOT superseded AND time >= $1 AND time < $2 AND ($3::uuid IS NULL OR tenant_id = $3::uuid)
        GROUP BY ${columns.map((_, i) => i + 1).join(', ')}
        ORDER BY ${columns.map((_, i) => `${i + 1} NULLS FIRST`).join(', ')}`,
      [from.toISOString(), to.toISOString(), tenant],
    );
  }

  /** The tenant's latest revisions over the days [fromDay, toDay), summed per price selector from the daily totals. */
  invoiceGroups(tenant: string, fromDay: string, toDay: string): Promise<InvoiceGroupRow[]> {
    return this.dataSource.query(
      `SELECT type, nullif(rate_gbps, 0) AS rate_gbps, nullif(distance_class, '') AS distance_class, nullif(design, '') AS design,
                nullif(applies_to, '') AS applies_to, sum(quantity)::text AS quantity, sum(measured_quantity)::text AS measured, sum(events)::int AS events
           FROM usage_daily_totals
          WHERE tenant_id = $1 AND day >= $2::date AND day < $3::date
          GROUP BY 1, 2, 3, 4, 5
         HAVING sum(events) > 0`,
      [tenant, fromDay, toDay],
    );
  }

  /**
   * The latest revision of every usage event with `time` in [from, to) of one tenant (or all, null), in pages
   * of EXPORT_PAGE read by keyset (tenant, time, source, id): one page is held at a time.
   */
  async *exportPages(tenant: string | null, from: Date, to: Date): AsyncGenerator<ExportRow[]> {
    let after: [string, string, string, string] | null = null;
    for (;;) {
      const params: unknown[] = [from.toISOString(), to.toISOString(), tenant];
      let keyset = '';
      if (after) {
        params.push(...after);
        keyset = 'AND (tenant_id, time, source, id) > ($4::uuid, $5::timestamptz, $6, $7)';
      }
      const rows: ExportRow[] = await this.dataSource.query(
        `SELECT source, id, type, subject, time, data, revision, tenant_id FROM usage_events
          WHERE NOT superseded AND time >= $1 AND time < $2 AND ($3::uuid IS NULL OR tenant_id = $3::uuid) ${keyset}
          ORDER BY tenant_id, time, source, id LIMIT ${EXPORT_PAGE}`,
        params,
      );
      if (rows.length === 0) return;
      yield rows;
      if (rows.length < EXPORT_PAGE) return;
      const last = rows[rows.length - 1];
      after = [last.tenant_id, new Date(last.time).toISOString(), last.source, last.id];
    }
  }
}
