/**
 * The audit hash chain's formulas (format 2) and the offline check of an exported slice against a signed
 * checkpoint. Pure: no Nest, no TypeORM; the database computes the same hashes (migration AuditCheckpoints,
 * functions audit_content_hash and audit_link_hash), and `npm run audit:verify` runs this file's checks.
 *
 *   content_hash = SHA-256( "apn-audit-entry/2\n" + field(at) + field(actor) + field(action)
 *                           + field(entity_type) + field(entity_id) + field(tenant_id) + field(data) )
 *       field(v) = "<bytes of v in UTF-8>:<v>\n", or "~\n" for a null
 *       at       = the entry's time in UTC to the microsecond, 2026-01-02T03:04:05.123456Z
 *       data     = PostgreSQL's canonical text of the jsonb (`dataText` in an export)
 *   hash         = SHA-256( "apn-audit-link/2\n" + prev_hash + "\n" + seq + "\n" + content_hash )
 *
 * The first entry's prev_hash is 64 zeros. Because a link hashes only the content hash, an entry can be
 * shown as a "withheld" stub (seq, contentHash, prevHash, hash) and the chain still checked through it:
 * that is how a tenant's export hides other tenants' entries and stays verifiable link by link up to a
 * checkpoint's head.
 */
import { createHash, verify as verifySignature, type KeyObject } from 'node:crypto';

export const GENESIS_HASH = '0'.repeat(64);
export const ENTRY_FORMAT = 'apn-audit-entry/2';
export const LINK_FORMAT = 'apn-audit-link/2';
export const CHECKPOINT_FORMAT = 'apn-audit-checkpoint/1';
export const EXPORT_FORMAT = 'apn-audit-export/1';

const HEX64 = /^[0-9a-f]{64}$/;
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const field = (value: string | null) => (value === null ? '~\n' : `${Buffer.byteLength(value, 'utf8')}:${value}\n`);

export interface EntryContent {
  at: string;
  actor: string;
  action: string;
  entityType: string;
  entityId: string | null;
  tenantId: string | null;
  dataText: string;
}

export function contentHash(e: EntryContent): string {
  return sha256(
    `${ENTRY_FORMAT}\n${field(e.at)}${field(e.actor)}${field(e.action)}${field(e.entityType)}${field(e.entityId)}${field(e.tenantId)}${field(e.dataText)}`,
  );
}

export function linkHash(prevHash: string, seq: string, content: string): string {
  return sha256(`${LINK_FORMAT}\n${prevHash}\n${seq}\n${content}`);
}

/** One line of an export: an entry in full, or a withheld entry of someone else (its hashes only). */
export type ExportedEntry =
  | ({ type: 'entry'; seq: string; id: string; data: unknown; contentHash: string; prevHash: string; hash: string } & EntryContent)
  | { type: 'withheld'; seq: string; contentHash: string; prevHash: string; hash: string };

/** What a checkpoint states; the signature covers `checkpointMessage` of it. */
export interface CheckpointStatement {
  seq: string;
  entryId: string;
  headHash: string;
  entries: string;
  at: string;
  keyId: string;
}

export interface SignedCheckpoint extends CheckpointStatement {
  format: typeof CHECKPOINT_FORMAT;
  algorithm: 'Ed25519';
  /** Base64 of the 64-byte Ed25519 signature. */
  signature: string;
}

/** The bytes a checkpoint's signature covers: one field per line, in this order. */
export function checkpointMessage(c: CheckpointStatement): string {
  return [CHECKPOINT_FORMAT, c.seq, c.entryId, c.headHash, c.entries, c.at, c.keyId].join('\n');
}

/** A name for a public key that says which one signed: `ed25519:` + 16 hex digits of the SHA-256 of its SPKI DER. */
export function signingKeyId(publicKey: KeyObject): string {
  return `ed25519:${createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16)}`;
}

export function checkpointSignatureValid(c: SignedCheckpoint, publicKey: KeyObject): boolean {
  try {
    return verifySignature(null, Buffer.from(checkpointMessage(c), 'utf8'), publicKey, Buffer.from(c.signature, 'base64'));
  } catch {
    return false;
  }
}

/** Keys sorted, for comparing two JSON values whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

export interface SliceReport {
  ok: boolean;
  /** Entries (full and withheld) read, and of them those shown in full. */
  entries: number;
  full: number;
  firstSeq: string | null;
  lastSeq: string | null;
  /** The checkpoints the slice reaches and that match it. */
  checkpointsMatched: string[];
  /** The first entry that does not verify, by sequence number and (when shown in full) id. */
  firstBadSeq: string | null;
  firstBadId: string | null;
  /**
   * When a checkpoint's head does not match but the entry cannot be named (no baseline): the range it lies
   * in, from the first entry after the last checkpoint that matches to the checkpoint that does not.
   * `firstBadSeq` is then the first entry of the range: the first no longer vouched for.
   */
  suspectRange: { from: string; to: string } | null;
  reason: string | null;
  /** Things that do not fail the check but limit what it proves. */
  notes: string[];
}

export interface VerifyInput {
  /** The lines of the export (NDJSON), as text. */
  lines: readonly string[];
  checkpoints: readonly SignedCheckpoint[];
  publicKey: KeyObject;
  /** An earlier export, itself checked against the checkpoints, to name the entry a rewrite changed. */
  baseline?: readonly string[];
}

function parseLines(lines: readonly string[], what: string): { entries: ExportedEntry[]; problem: string | null; line: number } {
  const entries: ExportedEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i].trim();
    if (text === '') continue;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return { entries, problem: `${what} line ${i + 1} is not JSON`, line: i + 1 };
    }
    if (value.type === 'export') continue;
    if (value.type !== 'entry' && value.type !== 'withheld')
      return { entries, problem: `${what} line ${i + 1} is neither an entry nor a withheld entry`, line: i + 1 };
    for (const name of ['seq', 'contentHash', 'prevHash', 'hash']) {
      if (typeof value[name] !== 'string') return { entries, problem: `${what} line ${i + 1} has no ${name}`, line: i + 1 };
    }
    if (!/^[1-9]\d{0,18}$/.test(value.seq as string))
      return { entries, problem: `${what} line ${i + 1}: seq ${JSON.stringify(value.seq)} is not a sequence number`, line: i + 1 };
    if (value.type === 'entry') {
      for (const name of ['id', 'at', 'actor', 'action', 'entityType', 'dataText']) {
        if (typeof value[name] !== 'string')
          return { entries, problem: `${what} line ${i + 1} (entry ${String(value.seq)}) has no ${name}`, line: i + 1 };
      }
      for (const name of ['entityId', 'tenantId']) {
        if (value[name] !== null && typeof value[name] !== 'string')
          return { entries, problem: `${what} line ${i + 1} (entry ${String(value.seq)}): ${name} must be a string or null`, line: i + 1 };
      }
    }
    entries.push(value as unknown as ExportedEntry);
  }
  return { entries, problem: null, line: 0 };
}

/**
 * Checks a slice link by link, then against the checkpoints. The slice's entries must be consecutive; each
 * full entry's content must hash to its contentHash (and its `data` be the `dataText` that was hashed),
 * each entry's hash must be the link hash of its prevHash, seq and contentHash, and each prevHash the hash
 * before it (64 zeros before entry 1). Then every checkpoint whose seq the slice reaches must have that
 * entry's hash as its head, under a valid signature. A chain rewritten and recomputed after a checkpoint
 * left passes the first checks and fails the last; given a baseline export that matches the checkpoint,
 * the report names the first entry that differs from it.
 */
export function verifySlice(input: VerifyInput): SliceReport {
  const report: SliceReport = {
    ok: false,
    entries: 0,
    full: 0,
    firstSeq: null,
    lastSeq: null,
    checkpointsMatched: [],
    firstBadSeq: null,
    firstBadId: null,
    suspectRange: null,
    reason: null,
    notes: [],
  };
  const fail = (seq: string | null, id: string | null, reason: string): SliceReport =>
    Object.assign(report, { ok: false, firstBadSeq: seq, firstBadId: id, reason });
  const parsed = parseLines(input.lines, 'log');
  if (parsed.problem) return fail(null, null, parsed.problem);
  const entries = parsed.entries;
  if (entries.length === 0) return fail(null, null, 'the log holds no entry');
  report.entries = entries.length;
  report.firstSeq = entries[0].seq;
  report.lastSeq = entries[entries.length - 1].seq;
  const linked = checkLinks(entries, report);
  if ('seq' in linked) return fail(linked.seq, linked.id, linked.reason);
  if (entries[0].seq !== '1')
    report.notes.push(
      `the slice starts at entry ${entries[0].seq}: entries before it are not checked, and entry ${entries[0].seq}'s prevHash is taken as given`,
    );
  if (report.full < entries.length)
    report.notes.push(
      `${entries.length - report.full} entries are withheld (other tenants'): their links are checked, their content is not shown`,
    );
  return checkCheckpoints(input, linked.bySeq, report, fail);
}

/** The first entry that does not verify: its seq (and id when shown in full), and why. */
interface BadEntry {
  seq: string | null;
  id: string | null;
  reason: string;
}

/**
 * Checks the slice link by link, counting the entries shown in full into `report.full`; answers the entries
 * by seq, or the first that does not verify.
 */
function checkLinks(entries: readonly ExportedEntry[], report: SliceReport): { bySeq: Map<string, ExportedEntry> } | BadEntry {
  const bySeq = new Map<string, ExportedEntry>();
  let previous: ExportedEntry | null = null;
  for (const e of entries) {
    const id = e.type === 'entry' ? e.id : null;
    const name = `entry ${e.seq}${id ? ` (id ${id})` : ''}`;
    const out = placeProblem(e, previous, name);
    if (out) return out;
    if (e.type === 'entry') {
      report.full += 1;
      const problem = contentProblem(e, name);
      if (problem) return { seq: e.seq, id, reason: problem };
    }
    const problem = linkProblem(e, previous, name);
    if (problem) return { seq: e.seq, id, reason: problem };
    bySeq.set(e.seq, e);
    previous = e;
  }
  return { bySeq };
}

/** Whether `e` follows `previous` in sequence and carries well-formed hashes. */
function placeProblem(e: ExportedEntry, previous: ExportedEntry | null, name: string): BadEntry | null {
  if (previous && BigInt(e.seq) !== BigInt(previous.seq) + 1n) {
    const missing = (BigInt(previous.seq) + 1n).toString();
    return {
      seq: missing,
      id: null,
      reason:
        BigInt(e.seq) <= BigInt(previous.seq)
          ? `entry ${e.seq} comes after entry ${previous.seq}: the slice is out of order or repeats an entry`
          : `entry ${missing} is missing: the slice jumps from ${previous.seq} to ${e.seq}`,
    };
  }
  if (!HEX64.test(e.contentHash) || !HEX64.test(e.prevHash) || !HEX64.test(e.hash))
    return { seq: e.seq, id: e.type === 'entry' ? e.id : null, reason: `${name}: a hash is not 64 hex digits` };
  return null;
}

/** Whether a full entry's data is the dataText that was hashed, and its content hashes to its contentHash. */
function contentProblem(e: Extract<ExportedEntry, { type: 'entry' }>, name: string): string | null {
  let parsedData: unknown;
  try {
    parsedData = JSON.parse(e.dataText);
  } catch {
    return `${name}: dataText is not JSON`;
  }
  if (canonical(parsedData) !== canonical(e.data)) return `${name}: data differs from the dataText that was hashed`;
  if (contentHash(e) !== e.contentHash) return `${name} was altered: its content does not hash to its contentHash`;
  return null;
}

/** Whether `e` links to `previous` (or entry 1 to the genesis hash) and its hash is its link hash. */
function linkProblem(e: ExportedEntry, previous: ExportedEntry | null, name: string): string | null {
  if (previous === null && e.seq === '1' && e.prevHash !== GENESIS_HASH)
    return `${name} is the first entry but does not link to the genesis hash`;
  if (previous && e.prevHash !== previous.hash) return `${name} does not link to the hash of entry ${previous.seq}`;
  if (linkHash(e.prevHash, e.seq, e.contentHash) !== e.hash)
    return `${name}: its hash is not the link hash of its prevHash, seq and contentHash`;
  return null;
}

/**
 * Checks every checkpoint given whose seq the slice reaches: signed by the key given, and its head hash that
 * entry's hash. A head that does not match names the entry that differs from the baseline, if one is given
 * and matches the checkpoint, and otherwise the range the rewritten entry lies in.
 */
function checkCheckpoints(
  input: VerifyInput,
  bySeq: Map<string, ExportedEntry>,
  report: SliceReport,
  fail: (seq: string | null, id: string | null, reason: string) => SliceReport,
): SliceReport {
  if (input.checkpoints.length === 0)
    return fail(null, null, 'no checkpoint given: the slice is consistent in itself, but nothing outside the service vouches for it');
  const keyId = signingKeyId(input.publicKey);
  const ordered = [...input.checkpoints].sort((a, b) => (BigInt(a.seq) < BigInt(b.seq) ? -1 : 1));
  let lastGood: SignedCheckpoint | null = null;
  let reached = 0;
  for (const c of ordered) {
    if ((c.format as string) !== CHECKPOINT_FORMAT) return fail(null, null, `checkpoint ${c.seq} is not a ${CHECKPOINT_FORMAT} document`);
    if (c.keyId !== keyId) return fail(null, null, `checkpoint ${c.seq} names key ${c.keyId}, but the key given is ${keyId}`);
    if (!checkpointSignatureValid(c, input.publicKey))
      return fail(
        null,
        null,
        `checkpoint ${c.seq}: the signature does not verify under ${keyId}; the checkpoint was altered or signed by another key`,
      );
    const entry = bySeq.get(c.seq);
    if (!entry) {
      report.notes.push(`checkpoint ${c.seq} is outside the slice (${report.firstSeq}–${report.lastSeq}) and was not used`);
      continue;
    }
    reached += 1;
    if (entry.hash !== c.headHash) {
      const from = lastGood ? (BigInt(lastGood.seq) + 1n).toString() : report.firstSeq!;
      const bad = headMismatch(input, bySeq, c, from);
      if (!bad.named) report.suspectRange = { from, to: c.seq };
      return fail(bad.seq, bad.id, bad.reason);
    }
    report.checkpointsMatched.push(c.seq);
    lastGood = c;
  }
  if (reached === 0)
    return fail(
      null,
      null,
      `no checkpoint given falls within the slice (${report.firstSeq}–${report.lastSeq}): export a range that includes a checkpoint's seq`,
    );
  if (lastGood && BigInt(report.lastSeq!) > BigInt(lastGood.seq)) {
    report.notes.push(`entries after ${lastGood.seq} (to ${report.lastSeq}) are consistent but no checkpoint given covers them yet`);
  }
  report.ok = true;
  return report;
}

/**
 * The entry to blame when the slice's entry `c.seq` lacks checkpoint `c`'s head hash: the first that differs
 * from the baseline (`named`), or, without a baseline that matches `c`, the first of the range from `from`.
 */
function headMismatch(
  input: VerifyInput,
  bySeq: Map<string, ExportedEntry>,
  c: SignedCheckpoint,
  from: string,
): BadEntry & { named: boolean } {
  const base = `entry ${c.seq} does not have the head hash signed in checkpoint ${c.seq} (${c.at}): an entry from ${from} to ${c.seq} was rewritten and the chain recomputed after the checkpoint was signed`;
  const named = input.baseline ? firstDifference(input.baseline, input.publicKey, bySeq, from, c) : null;
  if (named)
    return {
      named: true,
      seq: named.seq,
      id: named.id,
      reason: `${base}; entry ${named.seq}${named.id ? ` (id ${named.id})` : ''} differs from the baseline export: ${named.what}`,
    };
  const first = bySeq.get(from);
  return {
    named: false,
    seq: from,
    id: first?.type === 'entry' ? first.id : null,
    reason: `${base}${input.baseline ? '; the baseline export does not match the checkpoint, so it cannot name the entry' : '; give an earlier export that matches the checkpoint (--baseline) to name the entry'}`,
  };
}

/** The first entry, from `from` on, whose hashes differ from a baseline export that matches checkpoint `c`. */
function firstDifference(
  baselineLines: readonly string[],
  publicKey: KeyObject,
  current: Map<string, ExportedEntry>,
  from: string,
  c: SignedCheckpoint,
): { seq: string; id: string | null; what: string } | null {
  // The baseline is evidence only if it is itself the chain the checkpoint signed.
  if (!verifySlice({ lines: baselineLines, checkpoints: [c], publicKey }).ok) return null;
  const baseline = new Map(parseLines(baselineLines, 'baseline').entries.map((e) => [e.seq, e]));
  for (let seq = BigInt(from); seq <= BigInt(c.seq); seq += 1n) {
    const key = seq.toString();
    const before = baseline.get(key);
    const now = current.get(key);
    if (!before || !now) continue;
    if (before.contentHash !== now.contentHash) {
      const id = now.type === 'entry' ? now.id : before.type === 'entry' ? before.id : null;
      const fields =
        before.type === 'entry' && now.type === 'entry'
          ? (['at', 'actor', 'action', 'entityType', 'entityId', 'tenantId', 'dataText'] as const).filter((f) => before[f] !== now[f])
          : [];
      return { seq: key, id, what: fields.length ? `${fields.join(', ')} changed` : 'its content changed' };
    }
    if (before.hash !== now.hash) return { seq: key, id: now.type === 'entry' ? now.id : null, what: 'its links were recomputed' };
  }
  return null;
}
