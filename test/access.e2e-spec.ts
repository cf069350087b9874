import { createTenantWithKey, endpointIds, gql, gqlOk, RESERVE, startTestService, TestService, waitFor, window } from './support/service';
import request from 'supertest';

describe('tenancy, roles, query limits and the audit log (e2e over HTTP)', () => {
  let t: TestService;
  let ep: Record<string, string>;
  let alpha: { tenantId: string; token: string };
  let beta: { tenantId: string; token: string };
  let alphaReservation: string;

  beforeAll(async () => {
    t = await startTestService();
    ep = await endpointIds(t);
    alpha = await createTenantWithKey(t, 'Alpha');
    beta = await createTenantWithKey(t, 'Beta');
    const r = await gqlOk(t.url, alpha.token, RESERVE, {
      input: {
        sourceEndpointId: ep['OTE-HQ-100G-1'],
        destinationEndpointId: ep['TAM-GDC-100G-1'],
        rateGbps: 100,
        autoCommit: true,
        ...window(4),
      },
    });
    alphaReservation = r.reserveLightpath.id;
  });
  afterAll(() => t?.stop());

  it('answers UNAUTHENTICATED with 401 without a token or with a wrong one', async () => {
    for (const token of [null, 'not-a-token', `apn_00000000-0000-4000-8000-000000000000_${'x'.repeat(43)}`]) {
      const r = await gql(t.url, token, '{ sites { id } }');
      expect(r.status).toBe(401);
      expect(r.errors![0].extensions.code).toBe('UNAUTHENTICATED');
    }
  });

  it('stores API key secrets hashed and shows them only once', async () => {
    const rows = await t.sql.query('SELECT secret_sha256 FROM api_keys');
    expect(rows.rows.length).toBeGreaterThanOrEqual(2);
    for (const row of rows.rows) {
      expect(row.secret_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(row.secret_sha256).not.toContain(alpha.token);
    }
    const dump = JSON.stringify((await t.sql.query('SELECT * FROM api_keys')).rows);
    expect(dump).not.toContain(alpha.token.split('_').slice(2).join('_'));
  });

  it('refuses operator mutations to a tenant with FORBIDDEN and changes nothing', async () => {
    const before = (await t.sql.query('SELECT count(*)::int n FROM tenants')).rows[0].n;
    const r = await gql(t.url, alpha.token, 'mutation { createTenant(name: "Mallory") { id } }');
    expect(r.errors![0].extensions.code).toBe('FORBIDDEN');
    const key = await gql(t.url, alpha.token, 'mutation { createApiKey(role: OPERATOR) { secret } }');
    expect(key.errors![0].extensions.code).toBe('FORBIDDEN');
    const imp = await gql(t.url, alpha.token, 'mutation($d: JSON!) { importTopology(document: $d) { revision } }', {
      d: { nodes: [{ code: 'X', name: 'x' }] },
    });
    expect(imp.errors![0].extensions.code).toBe('FORBIDDEN');
    expect((await t.sql.query('SELECT count(*)::int n FROM tenants')).rows[0].n).toBe(before);
  });

  it('gives NOT_FOUND for another tenant’s reservation, to read or to cancel, and leaves it untouched', async () => {
    const read = await gql(t.url, beta.token, 'query($id: ID!) { reservation(id: $id) { id } }', { id: alphaReservation });
    expect(read.errors![0].extensions.code).toBe('NOT_FOUND');
    expect(read.data).toBeNull();
    const cancel = await gql(t.url, beta.token, 'mutation($id: ID!) { cancelReservation(id: $id) { state } }', { id: alphaReservation });
    expect(cancel.errors![0].extensions.code).toBe('NOT_FOUND');
    const own = await gqlOk(t.url, alpha.token, 'query($id: ID!) { reservation(id: $id) { state } }', { id: alphaReservation });
    expect(own.reservation.state).toBe('RESERVED');
  });

  it('lists only the caller’s own reservations; the operator sees all, page by page', async () => {
    await gqlOk(t.url, beta.token, RESERVE, {
      input: {
        sourceEndpointId: ep['SDI-LAB-100G-1'],
        destinationEndpointId: ep['SRK-GDC-100G-1'],
        rateGbps: 100,
        autoCommit: true,
        ...window(4),
      },
    });
    const list = '{ reservations(first: 10) { edges { cursor node { id tenant { id } } } pageInfo { hasNextPage endCursor } } }';
    const a = await gqlOk(t.url, alpha.token, list);
    expect(a.reservations.edges.map((e: any) => e.node.tenant.id)).toEqual([alpha.tenantId]);
    const b = await gqlOk(t.url, beta.token, list);
    expect(b.reservations.edges.map((e: any) => e.node.tenant.id)).toEqual([beta.tenantId]);
    const first = await gqlOk(
      t.url,
      t.adminToken,
      '{ reservations(first: 1) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
    );
    expect(first.reservations.pageInfo.hasNextPage).toBe(true);
    const second = await gqlOk(
      t.url,
      t.adminToken,
      'query($after: String) { reservations(first: 1, after: $after) { edges { node { id } } pageInfo { hasNextPage } } }',
      { after: first.reservations.pageInfo.endCursor },
    );
    expect(second.reservations.edges[0].node.id).not.toBe(first.reservations.edges[0].node.id);
    expect(second.reservations.pageInfo.hasNextPage).toBe(false);
  });

  it('a billing key cannot book or read reservations', async () => {
    const key = await gqlOk(t.url, t.adminToken, 'mutation { createApiKey(role: BILLING) { secret role } }');
    const r = await gql(t.url, key.createApiKey.secret, '{ reservations { edges { node { id } } } }');
    expect(r.errors![0].extensions.code).toBe('FORBIDDEN');
    const tenants = await gqlOk(t.url, key.createApiKey.secret, '{ tenants { name } }');
    expect(tenants.tenants.map((x: { name: string }) => x.name).slice(0, 2)).toEqual(['Alpha', 'Beta']);
  });

  it('rejects abusive queries by depth and by size with a clear BAD_USER_INPUT', async () => {
    let deep = '{ id }';
    for (let i = 0; i < 12; i++) deep = `{ site { endpoints ${deep} } }`;
    const d = await gql(t.url, alpha.token, `{ endpoints ${deep} }`);
    expect(d.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect(d.errors![0].message).toMatch(/depth/i);
    const wide = Array.from({ length: 600 }, (_, i) => `a${i}: sites { id }`).join(' ');
    const w = await gql(t.url, alpha.token, `{ ${wide} }`);
    expect(w.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect(w.errors![0].message).toMatch(/too complex/);
  });

  it('keeps a hash-chained audit log and finds the first altered entry', async () => {
    // Enough entries that sequence numbers pass 9 → 10 and 99 → 100 (ordering must be numeric).
    for (let i = 0; i < 100; i++) await gqlOk(t.url, t.adminToken, `mutation { createTenant(name: "audit-${i}") { id } }`);
    // The worker's linker chains committed entries within seconds, without anyone asking.
    await waitFor(
      async () => (await t.sql.query('SELECT count(*)::int AS n FROM audit_log WHERE seq IS NULL')).rows[0].n === 0,
      10_000,
      'the audit linker',
    );
    const ok = await gqlOk(t.url, t.adminToken, '{ verifyAuditLog { ok entries pending firstBrokenSeq } }');
    expect(ok.verifyAuditLog).toMatchObject({ ok: true, pending: 0, firstBrokenSeq: null });
    const actions = (await t.sql.query('SELECT action FROM audit_log ORDER BY seq')).rows.map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['topology.imported', 'tenant.created', 'api-key.created', 'reservation.created']));
    expect(ok.verifyAuditLog.entries).toBe(actions.length);
    const forbidden = await gql(t.url, alpha.token, '{ verifyAuditLog { ok } }');
    expect(forbidden.errors![0].extensions.code).toBe('FORBIDDEN');

    const original = (await t.sql.query('SELECT data FROM audit_log WHERE seq = 3')).rows[0].data;
    await t.sql.query(`UPDATE audit_log SET data = jsonb_set(data, '{name}', '"Eve"') WHERE seq = 3`);
    const broken = await gqlOk(t.url, t.adminToken, '{ verifyAuditLog { ok firstBrokenSeq reason } }');
    expect(broken.verifyAuditLog).toMatchObject({ ok: false, firstBrokenSeq: '3' });
    expect(broken.verifyAuditLog.reason).toMatch(/altered/);

    await t.sql.query('UPDATE audit_log SET data = $1 WHERE seq = 3', [JSON.stringify(original)]);
    expect((await gqlOk(t.url, t.adminToken, '{ verifyAuditLog { ok } }')).verifyAuditLog.ok).toBe(true);
    await t.sql.query('DELETE FROM audit_log WHERE seq = 7');
    const gap = await gqlOk(t.url, t.adminToken, '{ verifyAuditLog { ok firstBrokenSeq reason } }');
    expect(gap.verifyAuditLog).toMatchObject({ ok: false, firstBrokenSeq: '7', reason: 'entry 7 is missing' });
  });

  it('reports database and queue on /health', async () => {
    const res = await request(t.url).get('/health');
    expect(res.status).toBe(200);
    expect(res.body.checks.database.status).toBe('up');
    expect(res.body.checks.queue.status).toBe('up');
  });
});
