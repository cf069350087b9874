import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildClientSchema, buildSchema, getIntrospectionQuery, IntrospectionQuery, lexicographicSortSchema, printSchema } from 'graphql';
import reference from '../src/topology/reference-topology.json';
import { countRows, gql, gqlOk, startTestService, TestService } from './support/service';

const IMPORT = 'mutation($d: JSON!) { importTopology(document: $d) { revision nodes sites links endpoints } }';

describe('topology (e2e over HTTP)', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(() => t?.stop());

  it('serves the seeded reference topology with latency and navigable relations', async () => {
    const d = await gqlOk(
      t.url,
      t.adminToken,
      `{
      links { code lengthKm channelCount latencyMs a { code } b { code } }
      sites { code kind node { code site { code } } endpoints { code rateGbps site { code } } }
    }`,
    );
    expect(d.links).toHaveLength(reference.links.length);
    const span = d.links.find((l: { code: string }) => l.code === 'AOM-HKD');
    expect(span).toMatchObject({ lengthKm: 165, channelCount: 8, a: { code: 'AOM' }, b: { code: 'HKD' } });
    expect(span.latencyMs).toBeCloseTo(0.8085, 6); // 165 km × 4.9 µs/km
    const isk = d.sites.find((s: { code: string }) => s.code === 'ISK-GDC');
    expect(isk.kind).toBe('GREEN_DC');
    expect(isk.node).toEqual({ code: 'ISK', site: { code: 'ISK-GDC' } });
    expect(isk.endpoints).toHaveLength(11);
    expect(isk.endpoints.every((e: { site: { code: string } }) => e.site.code === 'ISK-GDC')).toBe(true);
  });

  const doc = () => ({
    name: 'kansai',
    nodes: [
      { code: 'OSK', name: 'Osaka' },
      { code: 'KYT', name: 'Kyoto' },
    ],
    sites: [
      { code: 'OSK-HQ', name: 'Osaka office', kind: 'USER_OFFICE', node: 'OSK', pue: 1.6, gridCarbonKgPerKwh: 0.4, energyPricePerKwh: 0.2 },
    ],
    links: [{ code: 'OSK-KYT', a: 'OSK', b: 'KYT', lengthKm: 45, channelCount: 96 }],
    endpoints: [{ code: 'OSK-HQ-100G-1', site: 'OSK-HQ', rateGbps: 100 }],
  });

  it.each([
    ['an unknown node', (d: any) => (d.links[0].b = 'NRA'), /links\[0\] \(OSK-KYT\)\.b.*unknown node NRA/],
    ['a duplicate code', (d: any) => d.nodes.push({ code: 'OSK', name: 'again' }), /nodes\[2\] \(OSK\).*duplicate code/],
    ['a non-positive length', (d: any) => (d.links[0].lengthKm = 0), /links\[0\] \(OSK-KYT\)\.lengthKm.*positive/],
    ['a non-positive channel count', (d: any) => (d.links[0].channelCount = -4), /links\[0\] \(OSK-KYT\)\.channelCount.*positive/],
  ])('rejects the whole document for %s, naming the item, and imports nothing', async (_name, spoil, message) => {
    const before = await Promise.all(['nodes', 'sites', 'links', 'endpoints', 'topology_revisions'].map((x) => countRows(t, x)));
    const d = doc();
    spoil(d);
    const r = await gql(t.url, t.adminToken, IMPORT, { d });
    expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    expect(r.errors![0].message).toMatch(message);
    expect(r.errors![0].message).toMatch(/Nothing was imported/);
    const after = await Promise.all(['nodes', 'sites', 'links', 'endpoints', 'topology_revisions'].map((x) => countRows(t, x)));
    expect(after).toEqual(before);
  });

  it('imports a valid document in one go, and a re-import updates in place', async () => {
    const first = await gqlOk(t.url, t.adminToken, IMPORT, { d: doc() });
    expect(first.importTopology).toMatchObject({ nodes: 2, sites: 1, links: 1, endpoints: 1 });
    const changed = doc();
    changed.links[0].lengthKm = 50;
    const second = await gqlOk(t.url, t.adminToken, IMPORT, { d: changed });
    expect(Number(second.importTopology.revision)).toBeGreaterThan(Number(first.importTopology.revision));
    const links = await gqlOk(t.url, t.adminToken, '{ links { code lengthKm } }');
    expect(links.links.filter((l: { code: string }) => l.code === 'OSK-KYT')).toEqual([{ code: 'OSK-KYT', lengthKm: 50 }]);
  });
});

describe('booking across a topology import', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(() => t?.stop());

  it('recomputes a booking on the new revision when the topology changed since the cached snapshot', async () => {
    const ep = await gqlOk(t.url, t.adminToken, '{ endpoints { id code } }');
    const id = (code: string) => ep.endpoints.find((e: { code: string }) => e.code === code).id;
    const tenant = await gqlOk(t.url, t.adminToken, 'mutation { createTenant(name: "Across imports") { id } }');
    const start = new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 3_600_000).toISOString();
    const end = new Date(new Date(start).getTime() + 3_600_000).toISOString();
    const book = (src: string, dst: string) =>
      gqlOk(t.url, t.adminToken, 'mutation($i: ReserveLightpathInput!) { reserveLightpath(input: $i) { channel path { code } } }', {
        i: {
          tenantId: tenant.createTenant.id,
          sourceEndpointId: id(src),
          destinationEndpointId: id(dst),
          rateGbps: 100,
          autoCommit: true,
          start,
          end,
        },
      });
    const first = await book('OTE-HQ-100G-1', 'TAM-GDC-100G-1'); // OTE-TAM, channel 0; the snapshot is now cached
    expect(first.reserveLightpath).toEqual({ channel: 0, path: [{ code: 'OTE-TAM' }] });
    // Narrow OTE-TAM to its one used channel. The cached snapshot still says 96 and would offer channel 1.
    const narrowed = JSON.parse(JSON.stringify(reference));
    narrowed.links.find((l: { code: string }) => l.code === 'OTE-TAM').channelCount = 1;
    await gqlOk(t.url, t.adminToken, IMPORT, { d: narrowed });
    const second = await book('OTE-HQ-100G-2', 'TAM-GDC-100G-2');
    expect(second.reserveLightpath.path.map((l: { code: string }) => l.code)).toEqual(['OTE-SNG', 'SNG-TAM']);
    const onSpan = await t.sql.query(
      `SELECT max(a.channel) AS top FROM link_allocations a JOIN links l ON l.id = a.link_id WHERE l.code = 'OTE-TAM'`,
    );
    expect(onSpan.rows[0].top).toBe(0);
  });
});

describe('the served GraphQL schema', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(() => t?.stop());

  it('is exactly the committed schema.graphql, so schema:check covers every resolver the service mounts', async () => {
    const introspection = await gqlOk(t.url, t.adminToken, getIntrospectionQuery());
    const served = printSchema(lexicographicSortSchema(buildClientSchema(introspection as unknown as IntrospectionQuery)));
    const committed = printSchema(lexicographicSortSchema(buildSchema(readFileSync(join(__dirname, '..', 'schema.graphql'), 'utf8'))));
    expect(served).toBe(committed);
  });
});
