import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

/** An entry to append, as stored (see AuditRecord in audit.service.ts). */
export interface AuditRow {
  actor: string;
  action: string;
  entityType: string;
  entityId: string | null;
  data: Record<string, unknown>;
  tenantId: string | null;
}

/** A linked entry as read for listing and export, with its hashes and the texts that were hashed. */
export interface EntryRow {
  id: string;
  seq: string;
  at: Date;
  at_text: string;
  actor: string;
  action: string;
  entity_type: string;
  entity_id: string | null;
  tenant_id: string | null;
  data: Record<string, unknown>;
  data_text: string;
  content_hash: string;
  prev_hash: string;
  hash: string;
}

/** A linked entry as verification reads it: its stored hashes and the ones the database recomputes. */
export interface ChainRow {
  seq: string;
  prev_hash: string;
  hash: string;
  content_hash: string;
  content: string;
  link: string;
}

export interface EntryListFilter {
  /** Only this tenant's entries; null: every entry. */
  tenantId: string | null;
  entityId: string | null;
  /** Only entries before this seq. */
  before: string | null;
  /** How many rows to read. */
  limit: number;
}

const AT_TEXT = `to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const ENTRY_COLUMNS = `a.id::text AS id, a.seq::text AS seq, a.at, ${AT_TEXT} AS at_text, a.actor, a.action, a.entity_type, a.entity_id,
  a.tenant_id, a.data, a.data::text AS data_text, a.content_hash, a.prev_hash, a.hash`;

/**
 * The INSERT that appends one entry. Placeholders start at `$firstParam`; `from` may name a CTE so that the
 * entry is written only if that CTE produced a row.
 */
export function appendStatement(row: AuditRow, firstParam: number, from = ''): { sql: string; values: unknown[] } {
  const p = (i: number) => `$${firstParam + i}`;
  return {
    sql:
      'INSERT INTO audit_log (xid, at, actor, action, entity_type, entity_id, data, tenant_id) ' +
      `SELECT pg_current_xact_id()::text::bigint, clock_timestamp(), ${p(0)}, ${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}::jsonb, ${p(5)}::uuid ${from}`,
    values: [row.actor, row.action, row.entityType, row.entityId, JSON.stringify(row.data), row.tenantId],
  };
}

/** Every statement on audit_log. */
@Injectable()
export class AuditRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `fn` in one transaction; the repository's methods take its manager. */
  transaction<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  /** Appends inside the transaction of `manager`: the entry exists if and only if it commits. */
  async append(manager: EntityManager, row: AuditRow): Promise<void> {
    const { sql, values } = appendStatement(row, 1);
    await manager.query(sql, values);
  }

  /** Chains up to `batch` entries whose transactions have ended (audit_link); how many were linked. */
  async linkBatch(batch: number): Promise<number> {
    const rows: Array<{ linked: number }> = await this.dataSource.query('SELECT audit_link($1) AS linked', [batch]);
    return rows[0].linked;
  }

  /** The last linked entry, or null while the chain is empty. */
  async head(manager: EntityManager = this.dataSource.manager): Promise<{ seq: string; id: string; hash: string } | null> {
    const rows: Array<{ seq: string; id: string; hash: string }> = await manager.query(
      // Ordered by the column, not by the text alias of the same name (which would put 9 after 70).
      'SELECT a.seq::text AS seq, a.id::text AS id, a.hash FROM audit_log a WHERE a.seq IS NOT NULL ORDER BY a.seq DESC LIMIT 1',
    );
    return rows[0] ?? null;
  }

  /** Up to `batch` linked entries from `fromSeq` on, in chain order, with their hashes recomputed by the database. */
  chainFrom(fromSeq: string, batch: number): Promise<ChainRow[]> {
    return this.dataSource.query(
      `SELECT a.seq::text AS seq, a.prev_hash, a.hash, a.content_hash,
              audit_content_hash(a.at, a.actor, a.action, a.entity_type, a.entity_id, a.tenant_id, a.data) AS content,
              audit_link_hash(a.prev_hash, a.seq, a.content_hash) AS link
         FROM audit_log a WHERE a.seq >= $1 ORDER BY a.seq LIMIT ${batch}`,
      [fromSeq],
    );
  }

  /** Entries not yet linked: of these entities, or (without) of all. */
  async pending(entityIds?: readonly string[]): Promise<number> {
    const rows: Array<{ n: number }> = entityIds
      ? await this.dataSource.query('SELECT count(*)::int AS n FROM audit_log WHERE seq IS NULL AND entity_id = ANY($1::text[])', [
          entityIds,
        ])
      : await this.dataSource.query('SELECT count(*)::int AS n FROM audit_log WHERE seq IS NULL');
    return rows[0]?.n ?? 0;
  }

  /** The last linked seq of entries about these entities, or null. */
  async lastSeqOf(entityIds: readonly string[]): Promise<string | null> {
    const rows: Array<{ seq: string | null }> = await this.dataSource.query(
      'SELECT max(seq)::text AS seq FROM audit_log WHERE entity_id = ANY($1::text[])',
      [entityIds],
    );
    return rows[0]?.seq ?? null;
  }

  /** Linked entries newest first; only the conditions that apply, so that each shape is planned on its index (tenant, seq) or (entity, seq). */
  entries(filter: EntryListFilter): Promise<EntryRow[]> {
    const conditions = ['a.seq IS NOT NULL'];
    const values: unknown[] = [];
    const param = (value: unknown) => `$${values.push(value)}`;
    if (filter.tenantId !== null) conditions.push(`a.tenant_id = ${param(filter.tenantId)}::uuid`);
    if (filter.entityId !== null) conditions.push(`a.entity_id = ${param(filter.entityId)}`);
    if (filter.before !== null) conditions.push(`a.seq < ${param(filter.before)}::bigint`);
    return this.dataSource.query(
      `SELECT ${ENTRY_COLUMNS} FROM audit_log a WHERE ${conditions.join(' AND ')} ORDER BY a.seq DESC LIMIT ${param(filter.limit)}`,
      values,
    );
  }

  /** Up to `batch` entries with seq from `from` to `to` (inclusive), in chain order. */
  entriesBetween(from: string, to: string, batch: number): Promise<EntryRow[]> {
    return this.dataSource.query(
      `SELECT ${ENTRY_COLUMNS} FROM audit_log a WHERE a.seq >= $1 AND a.seq <= $2 ORDER BY a.seq LIMIT ${batch}`,
      [from, to],
    );
  }
}
