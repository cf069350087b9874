import { generateKeyPairSync, sign } from 'node:crypto';
import {
  CHECKPOINT_FORMAT,
  type EntryContent,
  GENESIS_HASH,
  type SignedCheckpoint,
  checkpointMessage,
  contentHash,
  linkHash,
  signingKeyId,
  verifySlice,
} from './chain';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');

function content(i: number, tenantId: string | null): EntryContent {
  return {
    at: `2026-01-02T03:04:${String(i).padStart(2, '0')}.123456Z`,
    actor: 'key:1d0c2c4e-6f1a-4c55-9f7e-0c1c2d3e4f50',
    action: 'reservation.created',
    entityType: 'reservation',
    entityId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    tenantId,
    dataText: JSON.stringify({ n: i, tenantId }).replace(/,/g, ', ').replace(/:/g, ': '),
  };
}

/** A chain of `n` entries, alternating between two tenants, as export lines (operator view). */
function chain(n: number, mutate?: (i: number, c: EntryContent) => EntryContent): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  let prev = GENESIS_HASH;
  for (let i = 1; i <= n; i++) {
    let c = content(i, i % 2 ? 'tenant-a' : 'tenant-b');
    if (mutate) c = mutate(i, c);
    const ch = contentHash(c);
    const hash = linkHash(prev, String(i), ch);
    lines.push({
      type: 'entry',
      seq: String(i),
      id: String(100 + i),
      ...c,
      data: JSON.parse(c.dataText),
      contentHash: ch,
      prevHash: prev,
      hash,
    });
    prev = hash;
  }
  return lines;
}

function checkpoint(lines: Array<Record<string, unknown>>, seq: number, key = privateKey, keyOf = publicKey): SignedCheckpoint {
  const head = lines[seq - 1];
  const statement = {
    seq: String(seq),
    entryId: String(head.id),
    headHash: String(head.hash),
    entries: String(seq),
    at: '2026-01-02T04:00:00.000Z',
    keyId: signingKeyId(keyOf),
  };
  return {
    format: CHECKPOINT_FORMAT,
    algorithm: 'Ed25519',
    ...statement,
    signature: sign(null, Buffer.from(checkpointMessage(statement)), key).toString('base64'),
  };
}

const text = (lines: Array<Record<string, unknown>>) => lines.map((l) => JSON.stringify(l));
/** Tenant a's view: b's entries as their hashes only. */
const tenantView = (lines: Array<Record<string, unknown>>) =>
  lines.map((l) =>
    l.tenantId === 'tenant-a' ? l : { type: 'withheld', seq: l.seq, contentHash: l.contentHash, prevHash: l.prevHash, hash: l.hash },
  );

describe('the audit chain (format 2) and its offline check', () => {
  it('prefixes every field with its length, so no field can borrow from the next', () => {
    const base = content(1, null);
    const shifted = { ...base, actor: `${base.actor}\n19:reservation.created`, action: '' };
    expect(contentHash(shifted)).not.toBe(contentHash(base));
    expect(contentHash({ ...base, entityId: null })).not.toBe(contentHash({ ...base, entityId: '' }));
    expect(contentHash({ ...base, tenantId: 'x' })).not.toBe(contentHash(base));
  });

  it('verifies an untouched slice against its checkpoint, and a tenant’s view with the others withheld', () => {
    const lines = chain(10);
    const ok = verifySlice({ lines: text(lines), checkpoints: [checkpoint(lines, 8)], publicKey });
    expect(ok).toMatchObject({ ok: true, entries: 10, full: 10, checkpointsMatched: ['8'] });
    expect(ok.notes.join(' ')).toMatch(/after 8 .* no checkpoint given covers them/);
    const tenant = verifySlice({ lines: text(tenantView(lines)), checkpoints: [checkpoint(lines, 10)], publicKey });
    expect(tenant).toMatchObject({ ok: true, entries: 10, full: 5 });
    expect(tenant.notes.join(' ')).toMatch(/5 entries are withheld/);
    // A slice that starts later is checked from there on.
    expect(verifySlice({ lines: text(lines.slice(4)), checkpoints: [checkpoint(lines, 10)], publicKey }).ok).toBe(true);
  });

  it('names an entry whose content was altered without recomputing, and a missing entry', () => {
    const lines = chain(6);
    const altered = lines.map((l) => (l.seq === '3' ? { ...l, data: { n: 33 }, dataText: '{"n": 33}' } : l));
    expect(verifySlice({ lines: text(altered), checkpoints: [checkpoint(lines, 6)], publicKey })).toMatchObject({
      ok: false,
      firstBadSeq: '3',
      firstBadId: '103',
    });
    const shown = lines.map((l) => (l.seq === '4' ? { ...l, data: { n: 44 } } : l));
    expect(verifySlice({ lines: text(shown), checkpoints: [checkpoint(lines, 6)], publicKey })).toMatchObject({
      ok: false,
      firstBadSeq: '4',
      reason: expect.stringMatching(/data differs from the dataText/),
    });
    const gap = lines.filter((l) => l.seq !== '2');
    expect(verifySlice({ lines: text(gap), checkpoints: [checkpoint(lines, 6)], publicKey })).toMatchObject({
      ok: false,
      firstBadSeq: '2',
      reason: expect.stringMatching(/entry 2 is missing/),
    });
  });

  it('catches a chain rewritten and recomputed after a checkpoint, and names the entry given the earlier export', () => {
    const before = chain(8);
    const cp = checkpoint(before, 8);
    const after = chain(8, (i, c) => (i === 5 ? { ...c, actor: 'admin-token' } : c));
    // Consistent in itself…
    const first = checkpoint(before, 3);
    const report = verifySlice({ lines: text(after), checkpoints: [first, cp], publicKey });
    expect(report).toMatchObject({ ok: false, firstBadSeq: '4', checkpointsMatched: ['3'], suspectRange: { from: '4', to: '8' } });
    expect(report.reason).toMatch(/an entry from 4 to 8 was rewritten/);
    const named = verifySlice({ lines: text(after), checkpoints: [cp], publicKey, baseline: text(before) });
    expect(named).toMatchObject({ ok: false, firstBadSeq: '5', firstBadId: '105' });
    expect(named.reason).toMatch(/actor changed/);
    // From the tenant's view, with its own earlier view as the baseline.
    const tenantNamed = verifySlice({ lines: text(tenantView(after)), checkpoints: [cp], publicKey, baseline: text(tenantView(before)) });
    expect(tenantNamed).toMatchObject({ ok: false, firstBadSeq: '5', firstBadId: '105' });
    // A baseline that is not the signed chain is no evidence.
    expect(verifySlice({ lines: text(after), checkpoints: [cp], publicKey, baseline: text(after) }).firstBadSeq).toBe('1');
  });

  it('refuses a checkpoint altered, signed by another key, or outside the slice', () => {
    const lines = chain(4);
    const cp = checkpoint(lines, 4);
    expect(verifySlice({ lines: text(lines), checkpoints: [{ ...cp, headHash: 'f'.repeat(64) }], publicKey }).reason).toMatch(
      /signature does not verify/,
    );
    expect(
      verifySlice({ lines: text(lines), checkpoints: [checkpoint(lines, 4, other.privateKey, other.publicKey)], publicKey }).reason,
    ).toMatch(/names key/);
    expect(verifySlice({ lines: text(lines), checkpoints: [cp], publicKey: other.publicKey }).reason).toMatch(/names key/);
    expect(verifySlice({ lines: text(lines.slice(0, 2)), checkpoints: [cp], publicKey }).reason).toMatch(
      /no checkpoint given falls within the slice/,
    );
    expect(verifySlice({ lines: text(lines), checkpoints: [], publicKey }).ok).toBe(false);
    expect(verifySlice({ lines: ['not json'], checkpoints: [cp], publicKey }).reason).toMatch(/line 1 is not JSON/);
  });
});
