import request from 'supertest';
import { createTenantWithKey, endpointIds, gql, gqlOk, RESERVE, startTestService, TestService, waitFor } from './support/service';

/** Scheduled lifecycle: a delayed setup job at start and a delayed teardown job at end, through the emulator. */
describe('lightpath lifecycle (e2e over HTTP, emulator driver)', () => {
  let t: TestService;
  let ep: Record<string, string>;
  let tenant: { tenantId: string; token: string };

  beforeAll(async () => {
    t = await startTestService({ APN_MIN_DURATION_S: '1', APN_EMULATOR_HOP_MS: '10' });
    ep = await endpointIds(t);
    tenant = await createTenantWithKey(t, 'Lifecycle');
  });
  afterAll(() => t?.stop());

  const soon = (fromNowMs: number, lengthMs: number) => {
    const start = Date.now() + fromNowMs;
    return { start: new Date(start).toISOString(), end: new Date(start + lengthMs).toISOString() };
  };
  const book = async (src: string, dst: string, w: { start: string; end: string }) =>
    (
      await gqlOk(t.url, tenant.token, RESERVE, {
        input: { sourceEndpointId: ep[src], destinationEndpointId: ep[dst], rateGbps: 100, autoCommit: true, ...w },
      })
    ).reserveLightpath;
  const stateOf = async (id: string) =>
    (await gqlOk(t.url, tenant.token, 'query($id: ID!) { reservation(id: $id) { state start end history { state reason at } } }', { id }))
      .reservation;
  const lit = async (id: string) =>
    (await t.sql.query('SELECT link_id, channel FROM emulator_lit_channels WHERE lightpath_id = $1', [id])).rows;

  it('brings up a lightpath whose window starts as the previous one on its channel ends', async () => {
    const base = Date.now() + 1500;
    const w = (from: number, to: number) => ({ start: new Date(base + from).toISOString(), end: new Date(base + to).toISOString() });
    const a = await book('SDI-LAB-100G-5', 'ISK-GDC-100G-5', w(0, 2000));
    const b = await book('SDI-LAB-100G-6', 'ISK-GDC-100G-6', w(2000, 4000));
    // Half-open windows meet: the same path and channel, A's teardown and B's setup due at the same instant.
    expect(b.channel).toBe(a.channel);
    expect(b.path.map((l: { code: string }) => l.code)).toEqual(a.path.map((l: { code: string }) => l.code));
    const up = await waitFor(
      async () => {
        const s = await stateOf(b.id);
        return ['ACTIVE', 'FAILED', 'RELEASED'].includes(s.state) ? s : null;
      },
      20_000,
      'B to come up',
    );
    expect(up.history.map((h: { state: string }) => h.state)).toContain('ACTIVE');
    expect((await stateOf(a.id)).state).toBe('RELEASED');
  });

  it('comes up at start and goes down at end: RESERVED → PROVISIONING → ACTIVE → RELEASING → RELEASED', async () => {
    const r = await book('SDI-LAB-100G-1', 'ISK-GDC-100G-1', soon(1500, 3000));
    const active = await waitFor(async () => ((await stateOf(r.id)).state === 'ACTIVE' ? true : null), 15_000, 'ACTIVE');
    expect(active).toBe(true);
    const hops = await lit(r.id);
    expect(hops).toHaveLength(r.path.length);
    expect(new Set(hops.map((h) => h.channel))).toEqual(new Set([r.channel]));
    const done = await waitFor(
      async () => {
        const s = await stateOf(r.id);
        return s.state === 'RELEASED' ? s : null;
      },
      20_000,
      'RELEASED',
    );
    expect(done.history.map((h: { state: string }) => h.state)).toEqual(['RESERVED', 'PROVISIONING', 'ACTIVE', 'RELEASING', 'RELEASED']);
    // Never before its window: the setup job is taken early (APN_SETUP_LEAD_MS) but waits for the start.
    const at = (state: string) => Date.parse(done.history.find((h: { state: string }) => h.state === state).at);
    expect(at('PROVISIONING')).toBeGreaterThanOrEqual(Date.parse(done.start));
    expect(at('RELEASING')).toBeGreaterThanOrEqual(Date.parse(done.end));
    expect(await lit(r.id)).toHaveLength(0);
    const held = await t.sql.query('SELECT count(*)::int AS n FROM link_allocations WHERE reservation_id = $1', [r.id]);
    expect(held.rows[0].n).toBe(0);
  });

  it('cancelling a RESERVED reservation removes its setup: nothing is ever lit', async () => {
    const r = await book('SDI-LAB-100G-2', 'ISK-GDC-100G-2', soon(1500, 3000));
    await gqlOk(t.url, tenant.token, 'mutation($id: ID!) { cancelReservation(id: $id) { state } }', { id: r.id });
    await new Promise((res) => setTimeout(res, 3000));
    const s = await stateOf(r.id);
    expect(s.history.map((h: { state: string }) => h.state)).toEqual(['RESERVED', 'CANCELLED']);
    expect(await lit(r.id)).toHaveLength(0);
  });

  it('cancelling an ACTIVE reservation tears it down now', async () => {
    const r = await book('SDI-LAB-100G-3', 'ISK-GDC-100G-3', soon(1000, 120_000));
    await waitFor(async () => ((await stateOf(r.id)).state === 'ACTIVE' ? true : null), 15_000, 'ACTIVE');
    await gqlOk(t.url, tenant.token, 'mutation($id: ID!) { cancelReservation(id: $id, reason: "done early") { state } }', { id: r.id });
    const done = await waitFor(
      async () => {
        const s = await stateOf(r.id);
        return s.state === 'RELEASED' ? s : null;
      },
      10_000,
      'RELEASED after cancel',
    );
    expect(done.history.map((h: { state: string }) => h.state)).toEqual(['RESERVED', 'PROVISIONING', 'ACTIVE', 'RELEASING', 'RELEASED']);
    expect(done.history[3].reason).toMatch(/done early/);
    expect(await lit(r.id)).toHaveLength(0);
  });

  it('extending an ACTIVE reservation moves its teardown', async () => {
    const w = soon(1000, 2500);
    const r = await book('SDI-LAB-100G-4', 'ISK-GDC-100G-4', w);
    await waitFor(async () => ((await stateOf(r.id)).state === 'ACTIVE' ? true : null), 15_000, 'ACTIVE');
    const later = new Date(new Date(w.end).getTime() + 4000).toISOString();
    await gqlOk(t.url, tenant.token, 'mutation($id: ID!, $end: DateTime!) { extendReservation(id: $id, end: $end) { end } }', {
      id: r.id,
      end: later,
    });
    // Past the original end, it is still up.
    await new Promise((res) => setTimeout(res, Math.max(0, new Date(w.end).getTime() + 1500 - Date.now())));
    expect((await stateOf(r.id)).state).toBe('ACTIVE');
    expect(await lit(r.id)).toHaveLength(r.path.length);
    const done = await waitFor(async () => ((await stateOf(r.id)).state === 'RELEASED' ? true : null), 20_000, 'RELEASED at the new end');
    expect(done).toBe(true);
    const releasedAt = await t.sql.query(
      `SELECT max(at) AS at FROM reservation_transitions WHERE reservation_id = $1 AND to_state = 'RELEASING'`,
      [r.id],
    );
    expect(new Date(releasedAt.rows[0].at).getTime()).toBeGreaterThanOrEqual(new Date(later).getTime() - 50);
  });
});

describe('lightpath failures (e2e, emulator with injected faults)', () => {
  let t: TestService;
  let ep: Record<string, string>;
  let tenant: { tenantId: string; token: string };
  let ids: { links: Record<string, string>; nodes: Record<string, string> };

  beforeAll(async () => {
    t = await startTestService({
      APN_MIN_DURATION_S: '1',
      APN_EMULATOR_HOP_MS: '10',
      APN_JOB_ATTEMPTS: '3',
      APN_JOB_BACKOFF_MS: '100',
      APN_RECONCILE_INTERVAL_S: '1',
    });
    ep = await endpointIds(t);
    tenant = await createTenantWithKey(t, 'Faults');
    const topo = await gqlOk(t.url, t.adminToken, '{ links { id code } nodes { id code } }');
    ids = {
      links: Object.fromEntries(topo.links.map((l: { id: string; code: string }) => [l.code, l.id])),
      nodes: Object.fromEntries(topo.nodes.map((n: { id: string; code: string }) => [n.code, n.id])),
    };
  });
  afterAll(() => t?.stop());

  const inject = (input: Record<string, unknown>) =>
    gqlOk(t.url, t.adminToken, 'mutation($i: InjectFaultInput!) { injectFault(input: $i) { kind targetId remaining } }', { i: input });
  const clear = (kind: string, targetId: string) =>
    gqlOk(t.url, t.adminToken, 'mutation($k: FaultKind!, $id: ID!) { clearFault(kind: $k, targetId: $id) }', { k: kind, id: targetId });
  const book = async (src: string, dst: string, startInMs: number, lengthMs: number) => {
    const start = Date.now() + startInMs;
    return (
      await gqlOk(t.url, tenant.token, RESERVE, {
        input: {
          sourceEndpointId: ep[src],
          destinationEndpointId: ep[dst],
          rateGbps: 100,
          autoCommit: true,
          start: new Date(start).toISOString(),
          end: new Date(start + lengthMs).toISOString(),
        },
      })
    ).reserveLightpath;
  };
  const settle = (id: string, states: string[], what: string) =>
    waitFor(
      async () => {
        const s = (
          await gqlOk(
            t.url,
            tenant.token,
            'query($id: ID!) { reservation(id: $id) { state channel path { code } history { state reason } } }',
            { id },
          )
        ).reservation;
        return states.includes(s.state) ? s : null;
      },
      20_000,
      what,
    );
  const lit = async (id: string) => (await t.sql.query('SELECT link_id FROM emulator_lit_channels WHERE lightpath_id = $1', [id])).rows;

  it('routes around a link that is down when setup starts, replacing path and channel atomically', async () => {
    const r = await book('OTE-HQ-100G-1', 'TAM-GDC-100G-1', 1000, 60_000);
    expect(r.path.map((l: { code: string }) => l.code)).toEqual(['OTE-TAM']);
    await inject({ kind: 'LINK_DOWN', linkId: ids.links['OTE-TAM'] });
    try {
      const s = await settle(r.id, ['ACTIVE', 'FAILED'], 'setup over another path');
      expect(s.state).toBe('ACTIVE');
      expect(s.path.map((l: { code: string }) => l.code)).toEqual(['OTE-SNG', 'SNG-TAM']);
      expect(s.history.some((h: { reason: string }) => /rerouted around OTE-TAM/.test(h.reason))).toBe(true);
      expect(await lit(r.id)).toHaveLength(2);
      const allocated = await t.sql.query(
        'SELECT l.code FROM link_allocations a JOIN links l ON l.id = a.link_id WHERE a.reservation_id = $1 ORDER BY 1',
        [r.id],
      );
      expect(allocated.rows.map((x) => x.code)).toEqual(['OTE-SNG', 'SNG-TAM']);
    } finally {
      await clear('LINK_DOWN', ids.links['OTE-TAM']);
      await gqlOk(t.url, tenant.token, 'mutation($id: ID!) { cancelReservation(id: $id) { state } }', { id: r.id });
    }
  });

  it('ends FAILED with a readable reason when setup still fails after its retries, and frees the capacity', async () => {
    await inject({ kind: 'NODE_FAILS', nodeId: ids.nodes['SRK'], count: 50 });
    try {
      const r = await book('SDI-LAB-100G-1', 'SRK-GDC-100G-1', 500, 60_000);
      const s = await settle(r.id, ['FAILED', 'ACTIVE'], 'setup to give up');
      expect(s.state).toBe('FAILED');
      expect(s.history.at(-1).reason).toMatch(/setup failed after 3 attempt\(s\).*injected fault/);
      const held = await t.sql.query('SELECT count(*)::int AS n FROM link_allocations WHERE reservation_id = $1', [r.id]);
      expect(held.rows[0].n).toBe(0);
      expect(await lit(r.id)).toHaveLength(0);
    } finally {
      await clear('NODE_FAILS', ids.nodes['SRK']);
    }
  });

  it('marks a failed teardown NEEDS_CLEANUP, and the reconciler cleans up once the network recovers', async () => {
    const r = await book('SDI-LAB-100G-2', 'SRK-GDC-100G-2', 500, 2500);
    await settle(r.id, ['ACTIVE'], 'ACTIVE');
    await inject({ kind: 'NODE_FAILS', nodeId: ids.nodes['SDI'], count: 1000 });
    let cleared = false;
    try {
      const stuck = await settle(r.id, ['NEEDS_CLEANUP'], 'teardown to give up');
      expect(stuck.history.at(-1).reason).toMatch(/teardown failed/);
      expect(await lit(r.id)).toHaveLength(r.path.length);
      await clear('NODE_FAILS', ids.nodes['SDI']);
      cleared = true;
      const done = await settle(r.id, ['RELEASED'], 'the reconciler to clean up');
      expect(done.history.at(-1).reason).toMatch(/cleaned up by the reconciler/);
      expect(await lit(r.id)).toHaveLength(0);
    } finally {
      if (!cleared) await clear('NODE_FAILS', ids.nodes['SDI']);
    }
  });

  it('refuses fault injection to a tenant', async () => {
    const r = await gql(t.url, tenant.token, 'mutation($i: InjectFaultInput!) { injectFault(input: $i) { kind } }', {
      i: { kind: 'LINK_DOWN', linkId: ids.links['OTE-TAM'] },
    });
    expect(r.errors![0].extensions.code).toBe('FORBIDDEN');
  });
});

describe('metrics', () => {
  it('exposes reservations by state, queue depth, job timings, setup durations and reconciler repairs on GET /metrics', async () => {
    const t = await startTestService({ APN_MIN_DURATION_S: '1', APN_EMULATOR_HOP_MS: '10', APN_RECONCILE_INTERVAL_S: '1' });
    try {
      const ep = await endpointIds(t);
      const tenant = await createTenantWithKey(t, 'Metrics');
      const start = Date.now() + 800;
      const r = (
        await gqlOk(t.url, tenant.token, RESERVE, {
          input: {
            sourceEndpointId: ep['OTE-HQ-100G-1'],
            destinationEndpointId: ep['SNG-DC-100G-1'],
            rateGbps: 100,
            autoCommit: true,
            start: new Date(start).toISOString(),
            end: new Date(start + 1500).toISOString(),
          },
        })
      ).reserveLightpath;
      await waitFor(
        async () => {
          const s = await gqlOk(t.url, tenant.token, 'query($id: ID!) { reservation(id: $id) { state } }', { id: r.id });
          return s.reservation.state === 'RELEASED';
        },
        15_000,
        'RELEASED',
      );
      // An orphan on the network for the reconciler to find.
      await t.sql.query(
        `INSERT INTO emulator_lit_channels (link_id, channel, lightpath_id, lit_at) SELECT id, 95, gen_random_uuid(), now() FROM links LIMIT 1`,
      );
      await waitFor(
        async () => (await t.sql.query('SELECT count(*)::int AS n FROM emulator_lit_channels')).rows[0].n === 0,
        10_000,
        'the orphan to be removed',
      );

      const res = await request(t.url).get('/metrics');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/text\/plain/);
      const value = (pattern: RegExp) => Number(pattern.exec(res.text)?.[1] ?? NaN);
      expect(value(/^apn_reservations\{state="RELEASED"\} (\d+)/m)).toBe(1);
      expect(value(/^apn_reservations\{state="ACTIVE"\} (\d+)/m)).toBe(0);
      expect(res.text).toMatch(/^apn_queue_jobs\{queue="provisioning",state="delayed"\} \d+/m);
      expect(value(/^apn_job_duration_seconds_count\{job="setup",outcome="completed"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
      expect(value(/^apn_job_duration_seconds_count\{job="teardown",outcome="completed"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
      expect(value(/^apn_lightpath_setup_seconds_count\{driver="emulator"\} (\d+)/m)).toBe(1);
      expect(value(/^apn_reconciler_repairs_total\{kind="orphan-lightpath"\} (\d+)/m)).toBeGreaterThanOrEqual(1);
    } finally {
      await t.stop();
    }
  });
});
