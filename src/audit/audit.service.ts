import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

export interface AuditRecord {
  actor: string;
  action: string;
  entityType: string;
  entityId: string | null;
  data: Record<string, unknown>;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  pending: number;
  firstBrokenSeq: string | null;
  reason: string | null;
}

const GENESIS = '0'.repeat(64);
const BATCH = 5000;

/**
 * Append-only, hash-chained audit log. Writers append unlinked entries inside their own transactions and
 * never wait for one another; `link()` chains the entries of finished transactions in one database call
 * (see migration AuditChainLinkedAfterCommit). A recurring job links every second, and verification links
 * first, so the chain it checks holds every committed entry.
 */
@Injectable()
export class AuditService {
  constructor(private readonly dataSource: DataSource) {}

  /** Appends inside the caller's transaction: the entry exists if and only if the transaction commits. */
  async append(manager: EntityManager, records: AuditRecord | AuditRecord[]): Promise<void> {
    for (const record of Array.isArray(records) ? records : [records]) {
      const { sql, values } = this.appendStatement(record, 1);
      await manager.query(sql, values);
    }
  }

  /**
   * The INSERT that appends one entry, for callers that fold it into a larger statement (a data-modifying
   * CTE) to save a round trip. Placeholders start at `$firstParam`; `from` may name a CTE so that the entry
   * is written only if that CTE produced a row.
   */
  appendStatement(record: AuditRecord, firstParam: number, from = ''): { sql: string; values: unknown[] } {
    const p = (i: number) => `$${firstParam + i}`;
    return {
      sql:
        'INSERT INTO audit_log (xid, at, actor, action, entity_type, entity_id, data) ' +
        `SELECT pg_current_xact_id()::text::bigint, clock_timestamp(), ${p(0)}, ${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}::jsonb ${from}`,
      values: [record.actor, record.action, record.entityType, record.entityId, JSON.stringify(record.data)],
    };
  }

  /** Chains every entry whose transaction has ended; returns how many were linked. */
  async link(): Promise<number> {
    let total = 0;
    for (;;) {
      const rows: Array<{ linked: number }> = await this.dataSource.query('SELECT audit_link($1) AS linked', [BATCH]);
      total += rows[0].linked;
      if (rows[0].linked < BATCH) return total;
    }
  }

  /** Links what is final, then recomputes the chain from the start and reports the first entry that does not match. */
  async verify(): Promise<AuditVerification> {
    await this.link();
    let prevHash = GENESIS;
    let expectedSeq = 1n;
    let entries = 0;
    for (;;) {
      const batch: Array<{ seq: string; prev_hash: string; hash: string; recomputed: string }> = await this.dataSource.query(
        `SELECT a.seq::text AS seq, a.prev_hash, a.hash,
                audit_entry_hash(a.prev_hash, a.seq, a.at, a.actor, a.action, a.entity_type, a.entity_id, a.data) AS recomputed
           FROM audit_log a WHERE a.seq >= $1 ORDER BY a.seq LIMIT ${BATCH}`,
        [expectedSeq.toString()],
      );
      for (const row of batch) {
        entries += 1;
        const broken = (reason: string): AuditVerification => ({ ok: false, entries, pending: 0, firstBrokenSeq: row.seq, reason });
        if (BigInt(row.seq) !== expectedSeq) {
          return { ok: false, entries, pending: 0, firstBrokenSeq: expectedSeq.toString(), reason: `entry ${expectedSeq} is missing` };
        }
        if (row.prev_hash !== prevHash) return broken(`entry ${row.seq} does not link to the hash of the entry before it`);
        if (row.recomputed !== row.hash) return broken(`entry ${row.seq} was altered: its content does not match its hash`);
        prevHash = row.hash;
        expectedSeq += 1n;
      }
      if (batch.length < BATCH) break;
    }
    const pending: Array<{ n: number }> = await this.dataSource.query('SELECT count(*)::int AS n FROM audit_log WHERE seq IS NULL');
    return { ok: true, entries, pending: pending[0].n, firstBrokenSeq: null, reason: null };
  }
}
