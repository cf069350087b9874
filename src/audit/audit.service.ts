import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AppError, badInput } from '../core/errors/app-error';
import type { Principal } from '../tenancy/principal';
import { Role } from '../tenancy/tenancy.entities';
import { appendStatement, AuditRepository, type ChainRow, type EntryRow } from './audit.repository';
import { EXPORT_FORMAT, GENESIS_HASH } from './chain';

export interface AuditRecord {
  actor: string;
  action: string;
  entityType: string;
  entityId: string | null;
  data: Record<string, unknown>;
  /**
   * The tenant whose object the entry is about. Omitted: found when the entry is linked, from the entity
   * (a reservation, mount, dataset, GPU allocation, training run, API key or tenant) or a `tenantId` in data.
   */
  tenantId?: string | null;
}

export interface AuditVerification {
  ok: boolean;
  entries: number;
  pending: number;
  firstBrokenSeq: string | null;
  reason: string | null;
}

export interface AuditEntryView {
  id: string;
  seq: string;
  at: Date;
  /** The time as hashed: UTC to the microsecond. */
  atText: string;
  actor: string;
  action: string;
  entityType: string;
  entityId: string | null;
  tenantId: string | null;
  data: Record<string, unknown>;
  contentHash: string;
  prevHash: string;
  hash: string;
}

export interface AuditEntryPage {
  edges: Array<{ cursor: string; node: AuditEntryView }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export interface ChainHead {
  seq: string;
  entryId: string;
  hash: string;
}

/** Whose entries an export shows in full: every entry, or one tenant's (the others as their hashes). */
export type ExportView = { kind: 'operator' } | { kind: 'tenant'; tenantId: string };

const BATCH = 5000;
/** auditLog(first): 1 to this; 20 when omitted. */
export const AUDIT_PAGE_MAX = 100;
/** auditLog(entityId): an entity id is at most this long (ids are UUIDs or numbers). */
export const AUDIT_ENTITY_ID_MAX = 200;

const view = (r: EntryRow): AuditEntryView => ({
  id: r.id,
  seq: r.seq,
  at: r.at,
  atText: r.at_text,
  actor: r.actor,
  action: r.action,
  entityType: r.entity_type,
  entityId: r.entity_id,
  tenantId: r.tenant_id,
  data: r.data,
  contentHash: r.content_hash,
  prevHash: r.prev_hash,
  hash: r.hash,
});

export function encodeAuditCursor(seq: string): string {
  return Buffer.from(`audit:${seq}`).toString('base64url');
}

/** A cursor this service issued, or BAD_USER_INPUT naming `after`: nothing else reaches a query. */
export function decodeAuditCursor(cursor: string): string {
  const text = /^[A-Za-z0-9_-]{1,40}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = /^audit:([1-9]\d{0,18})$/.exec(text);
  if (!match || BigInt(match[1]) > 9_223_372_036_854_775_807n) {
    throw badInput('after', 'after is not a cursor of auditLog; pass an endCursor from a previous page.');
  }
  return match[1];
}

/**
 * Append-only, hash-chained audit log. Writers append unlinked entries inside their own transactions and
 * never wait for one another; `link()` chains the entries of finished transactions in one database call
 * (see migrations AuditChainLinkedAfterCommit and AuditCheckpoints). A recurring job links every second, and
 * verification links first, so the chain it checks holds every committed entry. Each entry is attributed to
 * the tenant whose object it is about: a tenant reads those (auditLog, the export), never another's.
 */
@Injectable()
export class AuditService {
  constructor(private readonly repository: AuditRepository) {}

  /** Appends inside the caller's transaction: the entry exists if and only if the transaction commits. */
  async append(manager: EntityManager, records: AuditRecord | AuditRecord[]): Promise<void> {
    for (const record of Array.isArray(records) ? records : [records]) {
      await this.repository.append(manager, { ...record, tenantId: record.tenantId ?? null });
    }
  }

  /**
   * The INSERT that appends one entry, for callers that fold it into a larger statement (a data-modifying
   * CTE) to save a round trip. Placeholders start at `$firstParam`; `from` may name a CTE so that the entry
   * is written only if that CTE produced a row.
   */
  appendStatement(record: AuditRecord, firstParam: number, from = ''): { sql: string; values: unknown[] } {
    return appendStatement({ ...record, tenantId: record.tenantId ?? null }, firstParam, from);
  }

  /**
   * Appends `<what>.refused` (the operation, the code, the field and why) in a transaction of its own, then
   * throws the error: the refusal is on record though nothing else changed.
   */
  async refuse(
    principal: Pick<Principal, 'actor' | 'tenantId'>,
    what: {
      action: string;
      operation: string;
      entityType: string;
      entityId?: string | null;
      tenantId?: string | null;
      data?: Record<string, unknown>;
    },
    error: AppError,
  ): Promise<never> {
    const extensions = error.extensions as { code?: string; field?: string };
    await this.repository.transaction((m) =>
      this.append(m, {
        actor: principal.actor,
        action: what.action,
        entityType: what.entityType,
        entityId: what.entityId ?? null,
        tenantId: what.tenantId !== undefined ? what.tenantId : principal.tenantId,
        data: {
          operation: what.operation,
          code: extensions.code ?? null,
          field: extensions.field ?? null,
          reason: error.message,
          ...(what.data ?? {}),
        },
      }),
    );
    throw error;
  }

  /** Chains every entry whose transaction has ended; returns how many were linked. */
  async link(): Promise<number> {
    let total = 0;
    for (;;) {
      const linked = await this.repository.linkBatch(BATCH);
      total += linked;
      if (linked < BATCH) return total;
    }
  }

  /** The last linked entry, or null while the chain is empty. */
  async head(manager?: EntityManager): Promise<ChainHead | null> {
    const row = await this.repository.head(manager);
    return row ? { seq: row.seq, entryId: row.id, hash: row.hash } : null;
  }

  /** Links what is final, then recomputes the chain from the start and reports the first entry that does not match. */
  async verify(): Promise<AuditVerification> {
    await this.link();
    let prevHash = GENESIS_HASH;
    let expectedSeq = 1n;
    let entries = 0;
    for (;;) {
      const batch = await this.repository.chainFrom(expectedSeq.toString(), BATCH);
      for (const row of batch) {
        entries += 1;
        const reason = brokenLink(row, expectedSeq, prevHash);
        if (reason) {
          const seq = BigInt(row.seq) !== expectedSeq ? expectedSeq.toString() : row.seq;
          return { ok: false, entries, pending: 0, firstBrokenSeq: seq, reason };
        }
        prevHash = row.hash;
        expectedSeq += 1n;
      }
      if (batch.length < BATCH) break;
    }
    return { ok: true, entries, pending: await this.repository.pending(), firstBrokenSeq: null, reason: null };
  }

  /**
   * Entries newest first, as a connection. An operator sees every entry (or an entity's); a tenant only
   * entries about its own objects: an entity id of another tenant's object, or of nothing, lists nothing, so
   * the answer tells nothing about other tenants' ids. Only linked entries are listed (they have their
   * hashes); what is final is linked first, so a change made just before is there.
   */
  async list(principal: Principal, filter: { entityId?: string | null; first: number; after?: string | null }): Promise<AuditEntryPage> {
    const refuse = (error: AppError) =>
      this.refuse(principal, { action: 'audit.refused', operation: 'auditLog', entityType: 'audit' }, error);
    if (!Number.isInteger(filter.first) || filter.first < 1 || filter.first > AUDIT_PAGE_MAX) {
      await refuse(badInput('first', `first must be between 1 and ${AUDIT_PAGE_MAX}.`));
    }
    const entityId = filter.entityId ?? null;
    if (entityId !== null && (entityId.trim() === '' || entityId.length > AUDIT_ENTITY_ID_MAX)) {
      await refuse(
        badInput(
          'entityId',
          `entityId must be 1 to ${AUDIT_ENTITY_ID_MAX} characters: the id of a reservation, mount, run, key or other object.`,
        ),
      );
    }
    let before: string | null = null;
    if (filter.after) {
      try {
        before = decodeAuditCursor(filter.after);
      } catch (error) {
        await refuse(error as AppError);
      }
    }
    await this.link();
    const rows = await this.repository.entries({
      tenantId: principal.role !== Role.OPERATOR ? principal.tenantId : null,
      entityId,
      before,
      limit: filter.first + 1,
    });
    const edges = rows.slice(0, filter.first).map((r) => ({ cursor: encodeAuditCursor(r.seq), node: view(r) }));
    return { edges, pageInfo: { hasNextPage: rows.length > filter.first, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  /**
   * The lines of an export of entries `from` to `to` (sequence numbers, inclusive), in chain order, read in
   * pages of 5,000: a header, then one line per entry. An operator's view shows every entry in full; a
   * tenant's shows its own entries in full and every other entry as `withheld`, its hashes only, so the
   * slice is still checked link by link up to a checkpoint's head (src/audit/chain.ts).
   */
  async *exportLines(exportView: ExportView, from: string, to: string): AsyncGenerator<string> {
    yield `${JSON.stringify({
      type: 'export',
      format: EXPORT_FORMAT,
      from,
      to,
      view: exportView.kind,
      tenantId: exportView.kind === 'tenant' ? exportView.tenantId : null,
      exportedAt: new Date().toISOString(),
    })}\n`;
    let next = BigInt(from);
    const last = BigInt(to);
    while (next <= last) {
      const rows = await this.repository.entriesBetween(next.toString(), to, BATCH);
      if (rows.length === 0) return;
      let out = '';
      for (const r of rows) {
        const full = exportView.kind === 'operator' || r.tenant_id === exportView.tenantId;
        const line = full
          ? {
              type: 'entry',
              seq: r.seq,
              id: r.id,
              at: r.at_text,
              actor: r.actor,
              action: r.action,
              entityType: r.entity_type,
              entityId: r.entity_id,
              tenantId: r.tenant_id,
              data: r.data,
              dataText: r.data_text,
              contentHash: r.content_hash,
              prevHash: r.prev_hash,
              hash: r.hash,
            }
          : { type: 'withheld', seq: r.seq, contentHash: r.content_hash, prevHash: r.prev_hash, hash: r.hash };
        out += `${JSON.stringify(line)}\n`;
      }
      yield out;
      next = BigInt(rows[rows.length - 1].seq) + 1n;
      if (rows.length < BATCH) return;
    }
  }

  /** The last linked seq of entries about these entities, or null: for telling whether a checkpoint covers them. */
  async lastSeqOf(entityIds: readonly string[]): Promise<string | null> {
    if (entityIds.length === 0) return null;
    return this.repository.lastSeqOf(entityIds);
  }

  /** Entries about these entities still waiting to be linked. */
  async pendingOf(entityIds: readonly string[]): Promise<number> {
    if (entityIds.length === 0) return 0;
    return this.repository.pending(entityIds);
  }
}

/** Why a chained entry does not verify where `expectedSeq` (after `prevHash`) was expected; null: it does. */
function brokenLink(row: ChainRow, expectedSeq: bigint, prevHash: string): string | null {
  if (BigInt(row.seq) !== expectedSeq) return `entry ${expectedSeq} is missing`;
  if (row.prev_hash !== prevHash) return `entry ${row.seq} does not link to the hash of the entry before it`;
  if (row.content !== row.content_hash || row.link !== row.hash) return `entry ${row.seq} was altered: its content does not match its hash`;
  return null;
}
