import { Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
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
// Serializes appends so the chain stays linear across processes; held only to the end of the caller's
// transaction, and taken as its last step to keep the critical section short.
const AUDIT_CHAIN_LOCK = 7_263_002;

/** Canonical JSON: keys sorted at every depth, so the hash does not depend on property order. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

function entryHash(prevHash: string, e: { seq: string; at: string; actor: string; action: string; entityType: string; entityId: string | null; data: unknown }): string {
  return createHash('sha256')
    .update(prevHash)
    .update(canonicalJson({ seq: e.seq, at: e.at, actor: e.actor, action: e.action, entityType: e.entityType, entityId: e.entityId, data: e.data }))
    .digest('hex');
}

/** Append-only, hash-chained audit log. */
@Injectable()
export class AuditService {
  constructor(private readonly dataSource: DataSource) {}

  /** Appends inside the caller's transaction; call it as the transaction's last statement. */
  async append(manager: EntityManager, records: AuditRecord | AuditRecord[]): Promise<void> {
    const list = Array.isArray(records) ? records : [records];
    if (list.length === 0) return;
    await manager.query('SELECT pg_advisory_xact_lock($1)', [AUDIT_CHAIN_LOCK]);
    const last: Array<{ seq: string; hash: string }> = await manager.query(
      'SELECT seq::text AS seq, hash FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)',
    );
    let prevHash = last[0]?.hash ?? GENESIS;
    let seq = BigInt(last[0]?.seq ?? '0');
    const at = new Date().toISOString();
    const values: unknown[] = [];
    const rows: string[] = [];
    for (const r of list) {
      seq += 1n;
      // Round-trip through JSON so the hashed data is exactly what jsonb will give back.
      const data = JSON.parse(JSON.stringify(r.data)) as Record<string, unknown>;
      const hash = entryHash(prevHash, { seq: seq.toString(), at, actor: r.actor, action: r.action, entityType: r.entityType, entityId: r.entityId, data });
      const base = values.length;
      rows.push(`($${base + 1}, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5}, $${base + 6}, $${base + 7}, $${base + 8}, $${base + 9})`);
      values.push(seq.toString(), at, r.actor, r.action, r.entityType, r.entityId, JSON.stringify(data), prevHash, hash);
      prevHash = hash;
    }
    await manager.query(
      `INSERT INTO audit_log (seq, at, actor, action, entity_type, entity_id, data, prev_hash, hash) VALUES ${rows.join(', ')}`,
      values,
    );
  }

  /** Recomputes the chain from the start; reports the first entry whose hash or link does not match. */
  async verify(): Promise<AuditVerification> {
    let prevHash = GENESIS;
    let expectedSeq = 1n;
    let entries = 0;
    let after = '0';
    for (;;) {
      const batch: Array<{ seq: string; at: Date; actor: string; action: string; entity_type: string; entity_id: string | null; data: unknown; prev_hash: string; hash: string }> =
        await this.dataSource.query(
          `SELECT seq::text AS seq, at, actor, action, entity_type, entity_id, data, prev_hash, hash
             FROM audit_log WHERE audit_log.seq > $1 ORDER BY audit_log.seq LIMIT 5000`,
          [after],
        );
      if (batch.length === 0) break;
      for (const row of batch) {
        entries += 1;
        if (BigInt(row.seq) !== expectedSeq) {
          return { ok: false, entries, firstBrokenSeq: expectedSeq.toString(), reason: `entry ${expectedSeq} is missing` };
        }
        if (row.prev_hash !== prevHash) {
          return { ok: false, entries, firstBrokenSeq: row.seq, reason: `entry ${row.seq} does not link to the hash of the entry before it` };
        }
        const hash = entryHash(prevHash, {
          seq: row.seq,
          at: new Date(row.at).toISOString(),
          actor: row.actor,
          action: row.action,
          entityType: row.entity_type,
          entityId: row.entity_id,
          data: row.data,
        });
        if (hash !== row.hash) {
          return { ok: false, entries, firstBrokenSeq: row.seq, reason: `entry ${row.seq} was altered: its content does not match its hash` };
        }
        prevHash = row.hash;
        expectedSeq += 1n;
        after = row.seq;
      }
    }
    return { ok: true, entries, firstBrokenSeq: null, reason: null };
  }
}
