import {
  baseEnv,
  createTenantWithKey,
  endpointIds,
  gql,
  RESERVE,
  spawnService,
  startTestService,
  terminate,
  TestService,
  window,
} from './support/service';

/** No double booking under concurrency: the exclusion constraints decide, whatever the races. */
describe('no double booking under concurrency (e2e over HTTP)', () => {
  let t: TestService;
  let ep: Record<string, string>;
  let tenant: { tenantId: string; token: string };

  beforeAll(async () => {
    t = await startTestService({ LOG_LEVEL: 'warn' });
    ep = await endpointIds(t);
    tenant = await createTenantWithKey(t, 'Concurrent Corp');
  });
  afterAll(async () => {
    process.stderr.write(`SERVICE OUTPUT:\n${t?.output().slice(-6000)}\n`);
    await t?.stop();
  });

  it('50 concurrent bookings of one endpoint pair and window: exactly one succeeds, the rest get NO_CAPACITY', async () => {
    const input = {
      sourceEndpointId: ep['OTE-HQ-100G-1'],
      destinationEndpointId: ep['TAM-GDC-100G-1'],
      rateGbps: 100,
      autoCommit: true,
      ...window(3),
    };
    const results = await Promise.all(Array.from({ length: 50 }, () => gql(t.url, tenant.token, RESERVE, { input })));
    const ok = results.filter((r) => !r.errors && r.data?.reserveLightpath);
    const codes = results.filter((r) => r.errors).map((r) => r.errors![0].extensions.code);
    expect(ok).toHaveLength(1);
    expect(codes).toHaveLength(49);
    expect(new Set(codes)).toEqual(new Set(['NO_CAPACITY']));
  });

  it('ten concurrent Otemachi/Sendai → Ishikari bookings: exactly eight fit the 8-channel AOM–HKD span, on eight distinct channels', async () => {
    const sources = [
      'OTE-HQ-100G-1',
      'OTE-HQ-100G-2',
      'OTE-HQ-100G-3',
      'OTE-HQ-100G-4',
      'SDI-LAB-100G-1',
      'SDI-LAB-100G-2',
      'SDI-LAB-100G-3',
      'SDI-LAB-100G-4',
      'SDI-LAB-100G-5',
      'SDI-LAB-100G-6',
    ];
    const w = window(10);
    const results = await Promise.all(
      sources.map((source, i) =>
        gql(t.url, tenant.token, RESERVE, {
          input: {
            sourceEndpointId: ep[source],
            destinationEndpointId: ep[`ISK-GDC-100G-${i + 1}`],
            rateGbps: 100,
            autoCommit: true,
            ...w,
          },
        }),
      ),
    );
    const ok = results.filter((r) => !r.errors).map((r) => r.data!.reserveLightpath);
    const failed = results.filter((r) => r.errors).map((r) => r.errors![0].extensions.code);
    // The two refusals are the span being full, not bookings giving up after losing races to each other.
    const messages = results.filter((r) => r.errors).map((r) => r.errors![0].message);
    expect({ ok: ok.length, failed, messages }).toEqual({
      ok: 8,
      failed: ['NO_CAPACITY', 'NO_CAPACITY'],
      messages: [expect.stringMatching(/^No path between the two sites/), expect.stringMatching(/^No path between the two sites/)],
    });
    for (const r of ok) expect(r.path.map((l: { code: string }) => l.code)).toContain('AOM-HKD');
    expect(new Set(ok.map((r) => r.channel)).size).toBe(8);
    const onSpan = await t.sql.query(
      `SELECT DISTINCT a.channel FROM link_allocations a JOIN links l ON l.id = a.link_id WHERE l.code = 'AOM-HKD' ORDER BY 1`,
    );
    expect(onSpan.rows.map((r) => r.channel)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('50 concurrent identical bookings with one idempotency key all get the same reservation, over two api processes', async () => {
    // On a server, half the requests go to a second api process on the same database; the embedded
    // engine belongs to one process, so there all 50 go to it.
    const second =
      t.backend === 'postgres'
        ? await spawnService(baseEnv({ DATABASE_URL: t.databaseUrl, APN_ROLE: 'api', APN_ADMIN_TOKEN: t.adminToken, APN_SEED: 'none' }))
        : null;
    try {
      const urls = second?.url ? [t.url, second.url] : [t.url];
      const input = {
        sourceEndpointId: ep['OTE-HQ-100G-2'],
        destinationEndpointId: ep['TAM-GDC-100G-2'],
        rateGbps: 100,
        ...window(30),
        idempotencyKey: 'retry-storm-1',
      };
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => gql(urls[i % urls.length], tenant.token, RESERVE, { input })));
      const errors = results.filter((r) => r.errors).map((r) => r.errors![0]);
      expect(errors).toEqual([]);
      const ids = new Set(results.map((r) => r.data!.reserveLightpath.id));
      expect(ids.size).toBe(1);
      const stored = await t.sql.query(`SELECT count(*)::int AS n FROM reservations WHERE idempotency_key = 'retry-storm-1'`);
      expect(stored.rows[0].n).toBe(1);
    } finally {
      if (second) await terminate(second.child);
    }
  });

  it('the database holds no two overlapping allocations of one (link, channel) or one endpoint', async () => {
    const links = await t.sql.query(
      `SELECT count(*)::int AS n FROM link_allocations a JOIN link_allocations b
         ON a.link_id = b.link_id AND a.channel = b.channel AND a.id < b.id AND a.during && b.during`,
    );
    const endpoints = await t.sql.query(
      `SELECT count(*)::int AS n FROM endpoint_allocations a JOIN endpoint_allocations b
         ON a.endpoint_id = b.endpoint_id AND a.id < b.id AND a.during && b.during`,
    );
    const total = await t.sql.query('SELECT count(*)::int AS n FROM link_allocations');
    expect(total.rows[0].n).toBeGreaterThan(8);
    expect(links.rows[0].n).toBe(0);
    expect(endpoints.rows[0].n).toBe(0);
    // And the constraint itself refuses a hand-written overlap.
    const sample = await t.sql.query('SELECT reservation_id, link_id, channel, during FROM link_allocations LIMIT 1');
    const row = sample.rows[0];
    await expect(
      t.sql.query('INSERT INTO link_allocations (reservation_id, link_id, channel, during) VALUES ($1, $2, $3, $4)', [
        row.reservation_id,
        row.link_id,
        row.channel,
        row.during,
      ]),
    ).rejects.toMatchObject({ code: '23P01' });
  });
});
