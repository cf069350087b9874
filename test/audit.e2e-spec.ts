import { execFile } from 'node:child_process';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import request from 'supertest';
import {
  countRows,
  createTenantWithKey,
  endpointIds,
  gql,
  gqlOk,
  RESERVE,
  startTestService,
  waitFor,
  window,
  type TestService,
} from './support/service';

/**
 * The audit a tenant can verify, end to end over HTTP: each tenant reads the entries about its own objects
 * and never another's; the service signs checkpoints of the chain and pushes them to a webhook; an export
 * checked offline by the audit:verify command passes, and fails, naming the entry, once a row is rewritten
 * and the whole chain recomputed in SQL (which the database's own verification does not notice).
 */

const VERIFY_JS = resolve(__dirname, '../dist/src/cli/audit-verify.js');

const AUDIT_LOG = `query($e: String, $first: Int, $after: String) {
  auditLog(entityId: $e, first: $first, after: $after) {
    edges { cursor node { id seq at atText actor action entityType entityId tenantId data contentHash prevHash hash } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const TAKE = 'mutation { takeAuditCheckpoint { id seq entryId headHash entries at keyId signature signatureValid document } }';
const CHECKPOINTS =
  'query($first: Int, $after: String) { auditCheckpoints(first: $first, after: $after) { edges { cursor node { seq headHash signatureValid document } } pageInfo { hasNextPage endCursor } } }';

interface Entry {
  id: string;
  seq: string;
  action: string;
  entityType: string;
  entityId: string | null;
  tenantId: string | null;
  data: Record<string, unknown>;
  hash: string;
}

function verify(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((r) => {
    execFile(process.execPath, [VERIFY_JS, ...args], (error, stdout, stderr) => {
      const code = error ? ((error as NodeJS.ErrnoException & { code?: number }).code as unknown as number) : 0;
      r({ code: typeof code === 'number' ? code : 1, out: `${stdout}${stderr}` });
    });
  });
}

/** A receiver of AUDIT_CHECKPOINT deliveries that checks each signature with the secret it was given. */
async function receiver(): Promise<{
  url: string;
  received: Array<{ topic: string; body: string; signatureOk: boolean }>;
  setSecret(s: string): void;
  close(): Promise<void>;
}> {
  const received: Array<{ topic: string; body: string; signatureOk: boolean }> = [];
  let secret = '';
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const header = String(req.headers['x-apn-signature'] ?? '');
      const t = /t=(\d+)/.exec(header)?.[1] ?? '';
      const v1 = /v1=([0-9a-f]{64})/.exec(header)?.[1] ?? '';
      const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
      received.push({
        topic: String(req.headers['x-apn-topic']),
        body,
        signatureOk: v1.length === 64 && timingSafeEqual(Buffer.from(v1, 'hex'), Buffer.from(expected, 'hex')),
      });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/audit/checkpoints`,
    received,
    setSecret: (s) => (secret = s),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('audit a tenant can verify (e2e over HTTP)', () => {
  let t: TestService;
  let alpha: { tenantId: string; token: string };
  let beta: { tenantId: string; token: string };
  let alphaReservation: string;
  let betaReservation: string;
  let dir: string;

  // An entry is chained once every transaction that began before it on the server has finished; another
  // test file's database on the same server (a migration, a long booking) can hold that back for a moment.
  const allChained = () =>
    waitFor(
      async () => {
        await t.sql.query('SELECT audit_link(1000)');
        const { n } = (await t.sql.query('SELECT count(*)::int AS n FROM audit_log WHERE seq IS NULL')).rows[0];
        return n === 0 ? true : null;
      },
      30_000,
      'every committed audit entry to be chained',
    );
  beforeEach(allChained);

  const log = async (token: string, variables: Record<string, unknown> = {}) => {
    await allChained();
    return (await gqlOk(t.url, token, AUDIT_LOG, variables)).auditLog as {
      edges: Array<{ cursor: string; node: Entry }>;
      pageInfo: { hasNextPage: boolean; endCursor: string | null };
    };
  };
  const exportOf = async (token: string, query = '') => {
    await allChained();
    const res = await request(t.url)
      .get(`/audit/export${query}`)
      .set('authorization', `Bearer ${token}`)
      .buffer(true)
      .parse((r, cb) => {
        let text = '';
        r.setEncoding('utf8');
        r.on('data', (c: string) => (text += c));
        r.on('end', () => cb(null, text));
      });
    return { status: res.status, text: res.body as string, type: String(res.headers['content-type']) };
  };
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'apn-audit-'));
    t = await startTestService({ APN_AUDIT_CHECKPOINT_INTERVAL_S: '3600', APN_WEBHOOK_ALLOWED_TARGETS: '127.0.0.1' });
    alpha = await createTenantWithKey(t, 'Audit Alpha');
    beta = await createTenantWithKey(t, 'Audit Beta');
    const ep = await endpointIds(t);
    const book = async (token: string, src: string, dst: string, hours: number) =>
      (
        await gqlOk(t.url, token, RESERVE, {
          input: { sourceEndpointId: ep[src], destinationEndpointId: ep[dst], rateGbps: 100, autoCommit: true, ...window(hours) },
        })
      ).reserveLightpath.id as string;
    alphaReservation = await book(alpha.token, 'OTE-HQ-100G-1', 'TAM-GDC-100G-1', 3);
    betaReservation = await book(beta.token, 'OTE-HQ-100G-2', 'TAM-GDC-100G-2', 4);
  });
  afterAll(async () => {
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('shows a tenant the entries about its own objects only; an operator sees every entry', async () => {
    const mine = (await log(alpha.token, { first: 100 })).edges.map((e) => e.node);
    expect(mine.map((e) => e.action)).toEqual(expect.arrayContaining(['tenant.created', 'api-key.created', 'reservation.created']));
    expect(mine.every((e) => e.tenantId === alpha.tenantId)).toBe(true);
    expect(JSON.stringify(mine)).not.toContain(beta.tenantId);
    expect(JSON.stringify(mine)).not.toContain(betaReservation);

    const about = (await log(alpha.token, { e: alphaReservation })).edges.map((e) => e.node);
    expect(about.length).toBeGreaterThan(0);
    expect(about.every((e) => e.entityId === alphaReservation)).toBe(true);
    // Newest first, each with the hashes that chain it.
    expect(about.map((e) => Number(e.seq))).toEqual([...about.map((e) => Number(e.seq))].sort((a, b) => b - a));
    expect(about[0].hash).toMatch(/^[0-9a-f]{64}$/);

    // Another tenant's object lists nothing, exactly as an id that names nothing.
    const foreign = await log(beta.token, { e: alphaReservation });
    expect(foreign).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } });
    expect(await log(beta.token, { e: '00000000-0000-4000-8000-000000000000' })).toEqual(foreign);

    const all = (await log(t.adminToken, { first: 100 })).edges.map((e) => e.node);
    expect(all.map((e) => e.tenantId)).toEqual(expect.arrayContaining([alpha.tenantId, beta.tenantId, null]));
    expect((await log(t.adminToken, { e: betaReservation })).edges.length).toBeGreaterThan(0);
  });

  it('pages by cursor, and refuses a page too large or a forged cursor with BAD_USER_INPUT, audited, changing nothing else', async () => {
    const first = await log(alpha.token, { first: 2 });
    expect(first.edges).toHaveLength(2);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await log(alpha.token, { first: 2, after: first.pageInfo.endCursor });
    expect(second.edges.length).toBeGreaterThan(0);
    expect(Number(second.edges[0].node.seq)).toBeLessThan(Number(first.edges[1].node.seq));

    const before = await countRows(t, 'audit_log');
    const tooMany = await gql(t.url, alpha.token, AUDIT_LOG, { first: 101 });
    expect(tooMany.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    const forged = await gql(t.url, alpha.token, AUDIT_LOG, { after: Buffer.from('audit:1; DROP TABLE audit_log').toString('base64url') });
    expect(forged.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    const otherCursor = await gql(t.url, alpha.token, AUDIT_LOG, {
      after: 'MjAyNi0wMS0wMVQwMDowMDowMC4wMDBafDAwMDAwMDAwLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMA',
    });
    expect(otherCursor.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    // Three refusals, each on the record, and nothing else written.
    expect(await countRows(t, 'audit_log')).toBe(before + 3);
    const refused = (await log(alpha.token, { first: 3 })).edges.map((e) => e.node);
    expect(refused.map((e) => [e.action, e.data.field, e.data.code])).toEqual([
      ['audit.refused', 'after', 'BAD_USER_INPUT'],
      ['audit.refused', 'after', 'BAD_USER_INPUT'],
      ['audit.refused', 'first', 'BAD_USER_INPUT'],
    ]);
    const billing = await gqlOk(t.url, t.adminToken, 'mutation { createApiKey(role: BILLING) { secret } }');
    expect((await gql(t.url, billing.createApiKey.secret, AUDIT_LOG)).errors?.[0].extensions.code).toBe('FORBIDDEN');
  });

  it('signs checkpoints, readable by every key, with the public key served without a token', async () => {
    expect((await gql(t.url, alpha.token, TAKE)).errors?.[0].extensions.code).toBe('FORBIDDEN');
    const cp = (await gqlOk(t.url, t.adminToken, TAKE)).takeAuditCheckpoint;
    expect(cp.signatureValid).toBe(true);
    expect(cp.headHash).toMatch(/^[0-9a-f]{64}$/);
    expect(cp.entries).toBe(cp.seq);
    // The head is the last entry chained, by number (entry 10 comes after entry 9).
    expect(Number(cp.seq)).toBeGreaterThanOrEqual(10);
    const head = (await t.sql.query('SELECT max(seq)::text AS seq FROM audit_log WHERE seq IS NOT NULL')).rows[0].seq;
    expect(Number(cp.seq)).toBeGreaterThanOrEqual(Number(head) - 1);
    const again = (await gqlOk(t.url, t.adminToken, TAKE)).takeAuditCheckpoint;
    expect(again.id).toBe(cp.id); // the head has not moved: the same checkpoint

    const listed = (await gqlOk(t.url, beta.token, CHECKPOINTS, { first: 5 })).auditCheckpoints;
    expect(listed.edges[0].node).toMatchObject({ seq: cp.seq, headHash: cp.headHash, signatureValid: true });
    const pem = await request(t.url).get('/audit/checkpoint-key.pem');
    expect(pem.status).toBe(200);
    const key = (await gqlOk(t.url, alpha.token, '{ auditCheckpointKey { keyId algorithm publicKeyPem } }')).auditCheckpointKey;
    expect(pem.text).toBe(key.publicKeyPem);
    expect(key).toMatchObject({ algorithm: 'Ed25519', keyId: cp.keyId });
    const latest = await request(t.url).get('/audit/checkpoints/latest').set('authorization', `Bearer ${beta.token}`);
    expect(JSON.parse(latest.text)).toEqual(JSON.parse(cp.document));
    expect((await request(t.url).get('/audit/checkpoints/latest')).status).toBe(401);
  });

  it('pushes each checkpoint to a tenant’s AUDIT_CHECKPOINT webhook, signed with the secret shown once; the secret is stored sealed', async () => {
    const hook = await receiver();
    try {
      const subscribe =
        'mutation($i: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $i) { secret subscription { id topics tenantId } } }';
      const before = { subs: await countRows(t, 'webhook_subscriptions') };
      const refused = await gql(t.url, alpha.token, subscribe, { i: { url: hook.url, topics: ['USAGE_EVENT'] } });
      expect(refused.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.topics' });
      const foreign = await gql(t.url, alpha.token, subscribe, {
        i: { url: hook.url, topics: ['AUDIT_CHECKPOINT'], tenantId: beta.tenantId },
      });
      expect(foreign.errors?.[0].extensions).toMatchObject({ code: 'FORBIDDEN', field: 'input.tenantId' });
      expect(await countRows(t, 'webhook_subscriptions')).toBe(before.subs);
      const onRecord = (await log(alpha.token, { first: 2 })).edges.map((e) => [e.node.action, e.node.data.field]);
      expect(onRecord).toEqual([
        ['webhook.refused', 'input.tenantId'],
        ['webhook.refused', 'input.topics'],
      ]);

      const created = (await gqlOk(t.url, alpha.token, subscribe, { i: { url: hook.url, topics: ['AUDIT_CHECKPOINT'] } }))
        .createWebhookSubscription;
      expect(created.subscription).toMatchObject({ topics: ['AUDIT_CHECKPOINT'], tenantId: alpha.tenantId });
      hook.setSecret(created.secret);

      // At rest: no column holds the secret, and the sealed bytes do not contain it.
      const row = (await t.sql.query('SELECT * FROM webhook_subscriptions WHERE id = $1', [created.subscription.id])).rows[0];
      expect(Object.keys(row)).not.toContain('secret');
      expect(JSON.stringify(row)).not.toContain(created.secret);
      expect(Buffer.from(row.secret_sealed).includes(Buffer.from(created.secret))).toBe(false);
      expect(row.kek_id).toMatch(/^kek-[0-9a-f]{16}$/);
      // Never answered again.
      expect((await gql(t.url, alpha.token, '{ webhookSubscriptions { edges { node { id secret } } } }')).errors?.[0].message).toMatch(
        /secret/,
      );

      // A new head, a new checkpoint, delivered signed with the secret given at creation.
      await gqlOk(
        t.url,
        alpha.token,
        'mutation($i: SetTenantProtectionDefaultInput!) { setTenantProtectionDefault(input: $i) { atRest } }',
        { i: { inMotion: ['NFS_KRB5P'], atRest: 'NONE' } },
      );
      const cp = (await gqlOk(t.url, t.adminToken, TAKE)).takeAuditCheckpoint;
      const delivered = await waitFor(
        async () => hook.received.find((r) => JSON.parse(r.body).seq === cp.seq),
        15_000,
        'the checkpoint delivery',
      );
      expect(delivered.topic).toBe('AUDIT_CHECKPOINT');
      expect(delivered.signatureOk).toBe(true);
      expect(JSON.parse(delivered.body)).toEqual(JSON.parse(cp.document));
    } finally {
      await hook.close();
    }
  });

  it('exports slices a tenant can check offline; a rewritten and recomputed chain fails against the earlier checkpoint, naming the entry', async () => {
    const cp = (await gqlOk(t.url, t.adminToken, TAKE)).takeAuditCheckpoint;
    const cpFile = file('cp.json', cp.document);
    const keyFile = file('key.pem', (await request(t.url).get('/audit/checkpoint-key.pem')).text);

    const operator = await exportOf(t.adminToken, `?to=${cp.seq}`);
    expect(operator.status).toBe(200);
    expect(operator.type).toContain('application/x-ndjson');
    const operatorLines = operator.text.trim().split('\n');
    expect(JSON.parse(operatorLines[0])).toMatchObject({
      type: 'export',
      format: 'apn-audit-export/1',
      from: '1',
      to: cp.seq,
      view: 'operator',
    });
    expect(operatorLines).toHaveLength(Number(cp.seq) + 1);
    const earlier = file('earlier.ndjson', operator.text);
    const passed = await verify(['--log', earlier, '--checkpoint', cpFile, '--key', keyFile]);
    expect(passed.out).toMatch(/^OK: entries 1–\d+/);
    expect(passed.code).toBe(0);

    // A tenant's export: its own entries in full, the others as hashes only, and still verifiable.
    const tenant = await exportOf(alpha.token);
    expect(tenant.status).toBe(200);
    const tenantLines = tenant.text
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => JSON.parse(l));
    expect(tenantLines.filter((l) => l.type === 'entry').every((l) => l.tenantId === alpha.tenantId)).toBe(true);
    expect(tenantLines.some((l) => l.type === 'withheld')).toBe(true);
    expect(tenant.text).not.toContain(beta.tenantId);
    expect(tenant.text).not.toContain(betaReservation);
    const tenantFile = file('alpha.ndjson', tenant.text);
    const tenantCheck = await verify(['--log', tenantFile, '--checkpoint', cpFile, '--key', keyFile]);
    expect(tenantCheck.code).toBe(0);
    expect(tenantCheck.out).toMatch(/withheld/);

    // Someone with the database rewrites an entry of alpha's and recomputes the whole chain after it.
    const target = (await log(alpha.token, { e: alphaReservation })).edges
      .map((e) => e.node)
      .find((e) => e.action === 'reservation.created')!;
    await t.sql.query(`UPDATE audit_log SET data = jsonb_set(data, '{rateGbps}', '10') WHERE id = $1`, [target.id]);
    await t.sql.query(`
      DO $$
      DECLARE
        prev text;
        e record;
      BEGIN
        FOR e IN SELECT * FROM audit_log WHERE seq >= ${Number(target.seq)} ORDER BY seq LOOP
          IF prev IS NULL THEN prev := e.prev_hash; END IF;
          UPDATE audit_log SET prev_hash = prev,
                 content_hash = audit_content_hash(e.at, e.actor, e.action, e.entity_type, e.entity_id, e.tenant_id, e.data),
                 hash = audit_link_hash(prev, e.seq, audit_content_hash(e.at, e.actor, e.action, e.entity_type, e.entity_id, e.tenant_id, e.data))
           WHERE id = e.id RETURNING hash INTO prev;
        END LOOP;
      END $$`);
    // The database's own check cannot tell.
    const db = (await gqlOk(t.url, t.adminToken, '{ verifyAuditLog { ok entries firstBrokenSeq } }')).verifyAuditLog;
    expect(db.ok).toBe(true);

    const rewritten = file('rewritten.ndjson', (await exportOf(t.adminToken, `?to=${cp.seq}`)).text);
    const failed = await verify(['--log', rewritten, '--checkpoint', cpFile, '--key', keyFile]);
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(new RegExp(`FAILED: entry ${cp.seq} does not have the head hash signed in checkpoint ${cp.seq}`));
    expect(failed.out).toMatch(new RegExp(`rewritten entry: between seq 1 and seq ${cp.seq}`));
    // With the export taken at the checkpoint, the very entry is named.
    const named = await verify(['--log', rewritten, '--checkpoint', cpFile, '--key', keyFile, '--baseline', earlier]);
    expect(named.code).toBe(1);
    expect(named.out).toContain(`entry ${target.seq} (id ${target.id}) differs from the baseline export: dataText changed`);
    expect(named.out).toContain(`first bad entry: seq ${target.seq}, id ${target.id}`);
    // The tenant's own view shows it too.
    const tenantAfter = file('alpha-after.ndjson', (await exportOf(alpha.token, `?to=${cp.seq}`)).text);
    const tenantFailed = await verify(['--log', tenantAfter, '--checkpoint', cpFile, '--key', keyFile, '--baseline', tenantFile, '--json']);
    expect(tenantFailed.code).toBe(1);
    expect(JSON.parse(tenantFailed.out)).toMatchObject({ ok: false, firstBadSeq: target.seq, firstBadId: target.id });

    // An altered checkpoint or another key is refused, never taken as a match.
    const newHead = JSON.parse((await exportOf(t.adminToken, `?from=${cp.seq}&to=${cp.seq}`)).text.trim().split('\n')[1]).hash as string;
    const forged = file('forged.json', JSON.stringify({ ...JSON.parse(cp.document), headHash: newHead }));
    const forgedCheck = await verify(['--log', rewritten, '--checkpoint', forged, '--key', keyFile]);
    expect(forgedCheck.code).toBe(1);
    expect(forgedCheck.out).toMatch(/signature does not verify/);
  });

  it('refuses a bad export request with the code and the parameter, audited', async () => {
    const before = await countRows(t, 'audit_log');
    const foreign = await exportOf(alpha.token, `?tenantId=${beta.tenantId}`);
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.text).error).toMatchObject({ code: 'FORBIDDEN', field: 'tenantId' });
    const bad = await exportOf(t.adminToken, '?from=abc');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'from' });
    const backwards = await exportOf(t.adminToken, '?from=5&to=2');
    expect(JSON.parse(backwards.text).error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'to' });
    const unknown = await exportOf(t.adminToken, '?since=1');
    expect(JSON.parse(unknown.text).error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'since' });
    expect((await request(t.url).get('/audit/export')).status).toBe(401);
    expect(await countRows(t, 'audit_log')).toBe(before + 4);
    const refusals = (
      await t.sql.query(
        `SELECT data->>'field' AS field FROM audit_log WHERE action = 'audit.refused' AND data->>'operation' = 'auditExport' ORDER BY id`,
      )
    ).rows.map((r) => r.field);
    expect(refusals).toEqual(['tenantId', 'from', 'to', 'since']);
  });
});
