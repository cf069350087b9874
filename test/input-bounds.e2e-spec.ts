import { countRows, createTenantWithKey, endpointIds, gql, gqlOk, RESERVE, startTestService, TestService, window } from './support/service';

/**
 * Every input has a bound, and bad input never reaches the database as an error: each case below is
 * refused with BAD_USER_INPUT naming the field, and writes nothing.
 */
describe('bounded inputs (e2e over HTTP)', () => {
  let t: TestService;
  let ep: Record<string, string>;
  let sites: Record<string, string>;
  let tenant: { tenantId: string; token: string };
  let reservationId: string;

  const tables = [
    'reservations',
    'link_allocations',
    'tenants',
    'api_keys',
    'gpu_clusters',
    'gpu_nodes',
    'storage_systems',
    'datasets',
    'reservation_transitions',
    'audit_log',
  ];
  const counts = async () => Object.fromEntries(await Promise.all(tables.map(async (n) => [n, await countRows(t, n)] as const)));

  /** Sends the operation, expects BAD_USER_INPUT on `field`, and that no table changed. */
  async function refused(
    token: string,
    query: string,
    variables: Record<string, unknown>,
    field: string,
    message?: RegExp,
  ): Promise<string> {
    const before = await counts();
    const r = await gql(t.url, token, query, variables);
    expect(r.errors).toBeDefined();
    expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect(r.errors![0].extensions.field).toEqual(field);
    if (message) expect(r.errors![0].message).toMatch(message);
    expect(JSON.stringify(r.errors)).not.toMatch(/INTERNAL|SQLSTATE|syntax for type|violates|out of range|shared memory/i);
    expect(await counts()).toEqual(before);
    return r.errors![0].message;
  }

  beforeAll(async () => {
    t = await startTestService();
    ep = await endpointIds(t);
    sites = Object.fromEntries(
      (await gqlOk(t.url, t.adminToken, '{ sites { id code } }')).sites.map((s: { id: string; code: string }) => [s.code, s.id]),
    );
    tenant = await createTenantWithKey(t, 'Bounded');
    reservationId = (
      await gqlOk(t.url, tenant.token, RESERVE, {
        input: {
          sourceEndpointId: ep['OTE-HQ-100G-1'],
          destinationEndpointId: ep['TAM-GDC-100G-1'],
          rateGbps: 100,
          autoCommit: true,
          ...window(3),
        },
      })
    ).reserveLightpath.id;
  });
  afterAll(() => t?.stop());

  const reserve = (start: string, end: string, extra: Record<string, unknown> = {}) => ({
    input: { sourceEndpointId: ep['OTE-HQ-100G-2'], destinationEndpointId: ep['TAM-GDC-100G-2'], rateGbps: 100, start, end, ...extra },
  });

  it('refuses windows beyond the bounds: ending in 9999, a 100-year hold, a year-long booking', async () => {
    const start = window(1).start;
    await refused(tenant.token, RESERVE, reserve(start, '9999-12-31T00:00:00Z'), 'input.end', /APN_MAX_DURATION_S/);
    const century = new Date(Date.parse(start) + 100 * 365 * 86_400_000).toISOString();
    await refused(tenant.token, RESERVE, reserve(start, century), 'input.end', /longest allowed is 90 days/);
    const farStart = new Date(Date.now() + 400 * 86_400_000).toISOString();
    const farEnd = new Date(Date.now() + 401 * 86_400_000).toISOString();
    await refused(tenant.token, RESERVE, reserve(farStart, farEnd), 'input.end', /APN_MAX_ADVANCE_S/);
    await refused(
      tenant.token,
      'mutation($id: ID!, $e: DateTime!) { extendReservation(id: $id, end: $e) { id } }',
      { id: reservationId, e: '9999-01-01T00:00:00Z' },
      'end',
      /APN_MAX_DURATION_S/,
    );
    // Other tenants keep booking (no lock table exhausted).
    const other = await gql(t.url, tenant.token, RESERVE, reserve(window(5).start, window(5).end, { autoCommit: true }));
    expect(other.errors).toBeUndefined();
  });

  it('refuses dates that do not exist and years beyond 9999 instead of rolling them over', async () => {
    await refused(tenant.token, RESERVE, reserve('2027-02-30T00:00:00Z', '2027-03-01T01:00:00Z'), 'input.start', /2027-02-30 is not a day/);
    const r = await gql(t.url, tenant.token, RESERVE, reserve('+010000-01-01T00:00:00Z', '+010000-01-02T00:00:00Z'));
    expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('refuses NUL bytes, lone surrogates and over-long strings in any argument', async () => {
    await refused(t.adminToken, 'mutation($n: String!) { createTenant(name: $n) { id } }', { n: 'Acme\u0000Evil' }, 'name', /NUL/);
    await refused(t.adminToken, 'mutation($n: String!) { createTenant(name: $n) { id } }', { n: 'Acme \ud800' }, 'name', /surrogate/);
    await refused(
      tenant.token,
      'mutation($id: ID!, $r: String) { cancelReservation(id: $id, reason: $r) { id } }',
      { id: reservationId, r: 'x'.repeat(1024 * 1024) },
      'reason',
      /limit is 4096/,
    );
    await refused(
      tenant.token,
      'mutation($id: ID!, $r: String) { cancelReservation(id: $id, reason: $r) { id } }',
      { id: reservationId, r: 'x'.repeat(501) },
      'reason',
      /limit is 500/,
    );
    await refused(
      t.adminToken,
      'mutation($d: JSON!) { importTopology(document: $d) { revision } }',
      { d: { nodes: [{ code: 'N\u0000', name: 'x' }] } },
      'document.nodes[0].code',
      /NUL/,
    );
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = [deep];
    await refused(
      t.adminToken,
      'mutation($d: JSON!) { importTopology(document: $d) { revision } }',
      { d: { description: deep } },
      expect.stringMatching(/^document\.description/),
    );
  });

  it('refuses ids that are not ids and cursors the service never issued', async () => {
    await refused(tenant.token, '{ reservation(id: "1; DROP TABLE reservations") { id } }', {}, 'id', /UUID/);
    await refused(tenant.token, 'mutation { commitReservation(id: "42") { id } }', {}, 'id');
    await refused(
      t.adminToken,
      RESERVE,
      reserve(window(1).start, window(1).end, { sourceEndpointId: 'OTE-HQ-100G-2' }),
      'input.sourceEndpointId',
    );
    const forged = Buffer.from(`2026-01-01T00:00:00.000Z|not-a-uuid`).toString('base64url');
    await refused(
      tenant.token,
      'query($a: String) { reservations(first: 5, after: $a) { edges { cursor } } }',
      { a: forged },
      'after',
      /not a cursor/,
    );
    const yearTenThousand = Buffer.from(`+010000-01-01T00:00:00.000Z|${reservationId}`).toString('base64url');
    await refused(
      tenant.token,
      'query($a: String) { reservations(first: 5, after: $a) { edges { cursor } } }',
      { a: yearTenThousand },
      'after',
      /not a cursor/,
    );
  });

  it('refuses out-of-range numbers: a 10,000-node cluster, 1e308 kW, an absurd BigInt or throughput', async () => {
    const cluster = (nodes: unknown[]) => ({ i: { code: 'BIG', name: 'Big', siteId: sites['TAM-GDC'], nodes } });
    const node = (i: number, extra: Record<string, unknown> = {}) => ({
      name: `n${i}`,
      address: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`,
      gpus: 8,
      ratedPowerKw: 10.2,
      ...extra,
    });
    const create = 'mutation($i: CreateGpuClusterInput!) { createGpuCluster(input: $i) { id } }';
    await refused(t.adminToken, create, cluster(Array.from({ length: 10_000 }, (_, i) => node(i))), 'input.nodes', /at most 1024/);
    await refused(t.adminToken, create, cluster([node(0, { ratedPowerKw: 1e308 })]), 'input.nodes[0].ratedPowerKw', /at most 200 kW/);
    await refused(t.adminToken, create, cluster([node(0, { gpus: 100_000 })]), 'input.nodes[0].gpus');
    const storage = (extra: Record<string, unknown>) => ({
      i: {
        code: 'NAS',
        name: 'NAS',
        kind: 'OFFICE_NFS',
        siteId: sites['OTE-HQ'],
        host: 'nas.example',
        capacityBytes: '1000',
        throughputGbps: 10,
        ...extra,
      },
    });
    const createStorage = 'mutation($i: CreateStorageSystemInput!) { createStorageSystem(input: $i) { id } }';
    await refused(t.adminToken, createStorage, storage({ throughputGbps: 1e308 }), 'input.throughputGbps', /at most 10000 Gbps/);
    const huge = await gql(t.url, t.adminToken, createStorage, storage({ capacityBytes: '1' + '0'.repeat(25) }));
    expect(huge.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect(huge.errors![0].message).toMatch(/at most 9223372036854775807/);
    // The inventory still lists without errors.
    expect(
      (await gqlOk(t.url, t.adminToken, '{ storageSystems { id } gpuClusters { id nodes { ratedPowerKw } } }')).storageSystems,
    ).toEqual([]);
    const plan = await gql(
      t.url,
      tenant.token,
      `{ compareScenarios(input: { workload: { datasetBytes: "1000", steps: 10, gpuSecondsPerStep: 0.1 },
      scenarios: [{ label: "x", kind: INTERNET, bandwidthGbps: 1e308, rttMs: 10 }] }) { scenarios { totalSeconds } } }`,
    );
    expect(plan.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.scenarios[0].bandwidthGbps' });
  });
});
