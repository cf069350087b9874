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
  firstBrokenSeq: string | null;
  reason: string | null;
}

const GENESIS = '0'.repeat(64);
const VERIFY_BATCH = 5000;

/**
 * Append-only, hash-chained audit log. Each entry's hash covers the previous entry's hash and its own
 * content, so altering, inserting or deleting a row breaks the chain from that row on. The chain is linked
 * by a trigger in the database (see migration AuditChainInDatabase), under an advisory lock, so appends from
 * every process form one line.
 */
@Injectable()
export class AuditService {
  constructor(private readonly dataSource: DataSource) {}

  /** Appends inside the caller's transaction; make it the transaction's last statement to keep the chain's lock short. */
  async append(manager: EntityManager, records: AuditRecord | AuditRecord[]): Promise<void> {
    // One statement per entry: the trigger links each row to the one committed or inserted before it.
    for (const r of Array.isArray(records) ? records : [records]) {
      await manager.query(
        'INSERT INTO audit_log (actor, action, entity_type, entity_id, data) VALUES ($1, $2, $3, $4, $5::jsonb)',
        [r.actor, r.action, r.entityType, r.entityId, JSON.stringify(r.data)],
      );
    }
  }

  /** Recomputes the chain from the start; reports the first entry whose hash or link does not match. */
  async verify(): Promise<AuditVerification> {
    let prevHash = GENESIS;
    let expectedSeq = 1n;
    let entries = 0;
    for (;;) {
      const batch: Array<{ seq: string; prev_hash: string; hash: string; recomputed: string }> = await this.dataSource.query(
        `SELECT a.seq::text AS seq, a.prev_hash, a.hash,
                audit_entry_hash(a.prev_hash, a.seq, a.at, a.actor, a.action, a.entity_type, a.entity_id, a.data) AS recomputed
           FROM audit_log a WHERE a.seq >= $1 ORDER BY a.seq LIMIT ${VERIFY_BATCH}`,
        [expectedSeq.toString()],
      );
      if (batch.length === 0) break;
      for (const row of batch) {
        entries += 1;
        const broken = (reason: string): AuditVerification => ({ ok: false, entries, firstBrokenSeq: row.seq, reason });
        if (BigInt(row.seq) !== expectedSeq) {
          return { ok: false, entries, firstBrokenSeq: expectedSeq.toString(), reason: `entry ${expectedSeq} is missing` };
        }
        if (row.prev_hash !== prevHash) return broken(`entry ${row.seq} does not link to the hash of the entry before it`);
        if (row.recomputed !== row.hash) return broken(`entry ${row.seq} was altered: its content does not match its hash`);
        prevHash = row.hash;
        expectedSeq += 1n;
      }
    }
    return { ok: true, entries, firstBrokenSeq: null, reason: null };
  }
}
