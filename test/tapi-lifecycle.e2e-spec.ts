import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { controllerContextFor, withTapiMapping } from '../src/provisioning/drivers/tapi/conformance/controller-context';
import { startTapiTestServer, type TapiTestServer } from '../src/provisioning/drivers/tapi/conformance/tapi-test-server';
import reference from '../src/topology/reference-topology.json';
import { createTenantWithKey, endpointIds, gql, gqlOk, RESERVE, startTestService, TestService, waitFor } from './support/service';

/**
 * The lifecycle through the TAPI driver against the TAPI test server, which behaves as a controller: its own
 * uuids (a context generated from the reference topology), validation of every create and delete against the
 * TAPI 2.1.3 models, services moving PLANNED → INSTALLED and PENDING_REMOVAL → gone by themselves, and services
 * kept as operational data. Once in each controller style.
 */
const IMPORT = 'mutation($d: JSON!) { importTopology(document: $d) { revision } }';
const generated = controllerContextFor(reference);

/** The job lock of the services under test, in seconds. */
const JOB_LOCK_S = 5;

describe('controller identifiers in the topology document (e2e over HTTP)', () => {
  let t: TestService;
  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(() => t?.stop());

  it('stores the TAPI uuids of endpoints, nodes and links from importTopology and shows them, read-only, in GraphQL', async () => {
    await gqlOk(t.url, t.adminToken, IMPORT, { d: withTapiMapping(reference, generated.mapping) });
    const d = await gqlOk(
      t.url,
      t.adminToken,
      '{ endpoints { code tapiServiceInterfacePointUuid } nodes { code tapiNodeUuid } links { code tapiLinkUuid } }',
    );
    expect(Object.fromEntries(d.endpoints.map((e: any) => [e.code, e.tapiServiceInterfacePointUuid]))).toEqual(generated.mapping.endpoints);
    expect(Object.fromEntries(d.nodes.map((n: any) => [n.code, n.tapiNodeUuid]))).toEqual(generated.mapping.nodes);
    expect(Object.fromEntries(d.links.map((l: any) => [l.code, l.tapiLinkUuid]))).toEqual(generated.mapping.links);
    // Read-only: no mutation other than importTopology sets them.
    const schema = await gqlOk(t.url, t.adminToken, '{ __schema { mutationType { fields { name args { name } } } } }');
    const fields = schema.__schema.mutationType.fields.map((f: { name: string }) => f.name);
    expect(fields.filter((f: string) => /tapi/i.test(f))).toEqual([]);

    // A document without them clears them: the document is the whole truth about what it lists.
    await gqlOk(t.url, t.adminToken, IMPORT, { d: reference });
    const cleared = await gqlOk(t.url, t.adminToken, '{ endpoints { tapiServiceInterfacePointUuid } }');
    expect(cleared.endpoints.every((e: { tapiServiceInterfacePointUuid: string | null }) => e.tapiServiceInterfacePointUuid === null)).toBe(
      true,
    );
  });

  it.each([
    [
      'a service-interface-point mapped to two endpoints',
      (d: any) => (d.endpoints[1].tapiServiceInterfacePointUuid = d.endpoints[0].tapiServiceInterfacePointUuid),
      /document\.endpoints\[1\] \(OTE-HQ-100G-2\)\.tapiServiceInterfacePointUuid: \S+ is already the tapiServiceInterfacePointUuid of OTE-HQ-100G-1/,
    ],
    [
      'an empty node uuid',
      (d: any) => (d.nodes[0].tapiNodeUuid = ''),
      /document\.nodes\[0\] \(OTE\)\.tapiNodeUuid: a TAPI uuid must not be empty/,
    ],
    ['a link uuid that is not a string', (d: any) => (d.links[0].tapiLinkUuid = 42), /document\.links\[0\] \(OTE-SNG\)\.tapiLinkUuid/],
  ])('refuses %s, naming the item, and imports nothing', async (_name, spoil, message) => {
    const d = JSON.parse(JSON.stringify(withTapiMapping(reference, generated.mapping)));
    spoil(d);
    const r = await gql(t.url, t.adminToken, IMPORT, { d });
    expect(r.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0].message).toMatch(message);
    expect(r.errors?.[0].message).toMatch(/Nothing was imported/);
  });

  it('refuses a uuid another item still holds in the database, naming the field', async () => {
    const first = { name: 'a', nodes: [{ code: 'X1', name: 'x1', tapiNodeUuid: 'node-x' }] };
    const second = { name: 'b', nodes: [{ code: 'X2', name: 'x2', tapiNodeUuid: 'node-x' }] };
    await gqlOk(t.url, t.adminToken, IMPORT, { d: first });
    const r = await gql(t.url, t.adminToken, IMPORT, { d: second });
    expect(r.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(r.errors?.[0].message).toMatch(/tapiNodeUuid node-x is already mapped to an item this document does not list/);
    // One document may swap two uuids: the constraint is checked at commit.
    await gqlOk(t.url, t.adminToken, IMPORT, {
      d: {
        name: 'c',
        nodes: [
          { code: 'X1', name: 'x1', tapiNodeUuid: 'node-y' },
          { code: 'X2', name: 'x2', tapiNodeUuid: 'node-x' },
        ],
      },
    });
  });
});

describe.each(['data', 'rpc'] as const)('lightpath lifecycle through the TAPI driver, %s style (e2e over HTTP)', (mode) => {
  let controller: TapiTestServer;
  let t: TestService;
  let ep: Record<string, string>;
  let tenant: { tenantId: string; token: string };

  beforeAll(async () => {
    controller = await startTapiTestServer({ context: generated.context, activationDelayMs: 300, removalDelayMs: 300 });
    t = await startTestService({
      APN_MIN_DURATION_S: '1',
      APN_DRIVER: 'tapi',
      APN_TAPI_URL: controller.url,
      APN_TAPI_MODE: mode,
      // The data-style run discovers the root (/rests) from host-meta; the RPC-style run is told it.
      ...(mode === 'rpc' ? { APN_TAPI_ROOT: controller.root } : {}),
      APN_TAPI_ACTIVATION_TIMEOUT_S: '60',
      APN_TAPI_REMOVAL_TIMEOUT_S: '1',
      APN_JOB_ATTEMPTS: '3',
      APN_JOB_BACKOFF_MS: '100',
      APN_RECONCILE_INTERVAL_S: '1',
      // A shorter job lock than the default 10 s, so that an activation outlasting it takes seconds, not half a minute.
      APN_JOB_LOCK_S: String(JOB_LOCK_S),
    });
    await gqlOk(t.url, t.adminToken, IMPORT, { d: withTapiMapping(reference, generated.mapping) });
    ep = await endpointIds(t);
    tenant = await createTenantWithKey(t, `Over TAPI ${mode}`);
  });
  afterAll(async () => {
    await t?.stop();
    await controller?.close();
  });

  const book = async (src: string, dst: string, startInMs: number, lengthMs: number, rateGbps = 100) => {
    const start = Date.now() + startInMs;
    return (
      await gqlOk(t.url, tenant.token, RESERVE, {
        input: {
          sourceEndpointId: ep[src],
          destinationEndpointId: ep[dst],
          rateGbps,
          autoCommit: true,
          start: new Date(start).toISOString(),
          end: new Date(start + lengthMs).toISOString(),
        },
      })
    ).reserveLightpath;
  };
  const settle = (id: string, states: string[], what: string, timeoutMs = 30_000) =>
    waitFor(
      async () => {
        const s = (
          await gqlOk(t.url, tenant.token, 'query($id: ID!) { reservation(id: $id) { state channel history { state reason at } } }', { id })
        ).reservation;
        return states.includes(s.state) ? s : null;
      },
      timeoutMs,
      what,
    );
  const serviceUuidOf = async (id: string): Promise<string | null> =>
    (await t.sql.query('SELECT tapi_service_uuid FROM reservations WHERE id = $1', [id])).rows[0].tapi_service_uuid;
  const held = async (id: string): Promise<number> =>
    (await t.sql.query('SELECT count(*)::int AS n FROM link_allocations WHERE reservation_id = $1', [id])).rows[0].n;
  const serviceOf = (tag: string) =>
    [...controller.services.values()].find((s) => {
      const names = [s.entry.name, ...((s.entry['end-point'] as any[]) ?? []).map((e) => e.name)].flat().filter(Boolean);
      return names.some((n) => n['value-name'] === 'apn-reservation' && n.value === tag);
    });

  it('books → ACTIVE → RELEASED on photonic and DSR ports, the service created with the controller’s uuids and removed before the channel is freed', async () => {
    const photonic = await book('OTE-HQ-100G-1', 'TAM-GDC-100G-1', 1500, 5000);
    const dsr = await book('OTE-HQ-10G-1', 'TAM-GDC-10G-1', 1500, 5000, 10);
    for (const r of [photonic, dsr]) await settle(r.id, ['ACTIVE'], `${r.source.code} ACTIVE over TAPI`);

    for (const [r, layer] of [
      [photonic, 'PHOTONIC_MEDIA'],
      [dsr, 'DSR'],
    ] as const) {
      const service = serviceOf(r.id);
      expect(service).toMatchObject({ lifecycle: 'INSTALLED', operational: 'ENABLED', createdBy: mode });
      const uuid = await serviceUuidOf(r.id);
      expect(uuid).toBe(service?.uuid);
      // In the data-tree style we choose the uuid (the reservation id); through the RPC the controller does.
      if (mode === 'data') expect(uuid).toBe(r.id);
      else expect(uuid).not.toBe(r.id);
      const endPoints = service?.entry['end-point'] as Array<Record<string, any>>;
      expect(endPoints.map((e) => e['layer-protocol-name'])).toEqual([layer, layer]);
      expect(endPoints.map((e) => e['service-interface-point']['service-interface-point-uuid'])).toEqual([
        generated.mapping.endpoints[r.source.code],
        generated.mapping.endpoints[r.destination.code],
      ]);
    }

    for (const r of [photonic, dsr]) {
      const done = await settle(r.id, ['RELEASED', 'NEEDS_CLEANUP'], `${r.source.code} RELEASED over TAPI`);
      expect(done.history.map((h: { state: string }) => h.state)).toEqual(['RESERVED', 'PROVISIONING', 'ACTIVE', 'RELEASING', 'RELEASED']);
      expect(serviceOf(r.id)).toBeUndefined();
      expect(await held(r.id)).toBe(0);
    }
    const deletes = controller.exchanges.filter((e) => (mode === 'data' ? e.method === 'DELETE' : e.requestKind === 'delete-input'));
    expect(deletes.length).toBeGreaterThanOrEqual(2);
  });

  it('ends FAILED with the controller’s own message when it refuses the create, and frees the capacity', async () => {
    controller.rejectCreates('no route with enough OSNR margin between the end points');
    try {
      const r = await book('OTE-HQ-100G-2', 'SNG-DC-100G-1', 500, 60_000);
      const s = await settle(r.id, ['FAILED', 'ACTIVE'], 'the refused setup to fail');
      expect(s.state).toBe('FAILED');
      expect(s.history.at(-1).reason).toMatch(
        /setup failed after 1 attempt\(s\): TAPI controller rejected .*HTTP 400.*no route with enough OSNR margin/,
      );
      expect(await held(r.id)).toBe(0);
    } finally {
      controller.rejectCreates(null);
    }
  });

  it('refuses to provision a lightpath whose items the topology does not map, naming each, and sends nothing for it', async () => {
    await gqlOk(t.url, t.adminToken, IMPORT, { d: withTapiMapping(reference, generated.mapping, new Set(['SDI-LAB-100G-6', 'SRK-SDI'])) });
    try {
      const creates = controller.creates().length;
      const r = await book('SDI-LAB-100G-6', 'SRK-GDC-100G-2', 500, 60_000);
      expect(r.path.map((l: { code: string }) => l.code)).toEqual(['SRK-SDI']);
      const s = await settle(r.id, ['FAILED', 'ACTIVE'], 'the unmapped setup to fail');
      expect(s.state).toBe('FAILED');
      expect(s.history.at(-1).reason).toMatch(
        /setup failed after 1 attempt\(s\): the topology maps no TAPI controller uuid for endpoint SDI-LAB-100G-6, link SRK-SDI/,
      );
      expect(controller.creates()).toHaveLength(creates);
    } finally {
      await gqlOk(t.url, t.adminToken, IMPORT, { d: withTapiMapping(reference, generated.mapping) });
    }
  });

  it('keeps the channel while a delete hangs (NEEDS_CLEANUP), and the reconciler frees it once the controller removes the service', async () => {
    const r = await book('SDI-LAB-100G-1', 'SRK-GDC-100G-1', 500, 2500);
    await settle(r.id, ['ACTIVE'], 'ACTIVE');
    controller.setRemovalDelay(Number.POSITIVE_INFINITY);
    try {
      const stuck = await settle(r.id, ['NEEDS_CLEANUP', 'RELEASED'], 'the teardown to give up');
      expect(stuck.state).toBe('NEEDS_CLEANUP');
      expect(stuck.history.at(-1).reason).toMatch(/teardown failed: .*still on the TAPI controller .*PENDING_REMOVAL/);
      expect(serviceOf(r.id)).toMatchObject({ lifecycle: 'PENDING_REMOVAL' });
      expect(await held(r.id)).toBeGreaterThan(0);

      controller.setRemovalDelay(100);
      const done = await settle(r.id, ['RELEASED'], 'the reconciler to clean up');
      expect(done.history.at(-1).reason).toMatch(/cleaned up by the reconciler/);
      expect(serviceOf(r.id)).toBeUndefined();
      expect(await held(r.id)).toBe(0);
    } finally {
      controller.setRemovalDelay(300);
    }
  });

  it('finds an orphan service of ours on the controller (kept as operational data) and removes it, leaving other clients’ services alone', async () => {
    const orphan = randomUUID();
    const endPoints = (codes: string[], tag?: string) =>
      codes.map((code, i) => ({
        'local-id': String(i),
        ...(tag && mode === 'rpc' ? { name: [{ 'value-name': 'apn-reservation', value: tag }] } : {}),
        'service-interface-point': { 'service-interface-point-uuid': generated.mapping.endpoints[code] },
      }));
    controller.plant({
      uuid: mode === 'data' ? orphan : randomUUID(),
      ...(mode === 'data' ? { name: [{ 'value-name': 'apn-reservation', value: orphan }] } : {}),
      'end-point': endPoints(['ISK-GDC-100G-9', 'SNG-DC-100G-2'], orphan),
    });
    const foreign = randomUUID();
    controller.plant({
      uuid: foreign,
      name: [{ 'value-name': 'SERVICE_NAME', value: 'another client' }],
      'end-point': endPoints(['ISK-GDC-100G-10', 'SNG-DC-100G-1']),
    });

    await waitFor(async () => (serviceOf(orphan) === undefined ? true : null), 20_000, 'the reconciler to remove the orphan');
    expect(controller.services.has(foreign)).toBe(true);
    // The repair is counted once the controller confirms the service gone.
    const repairs = async () =>
      Number(/^apn_reconciler_repairs_total\{kind="orphan-lightpath"\} (\d+)/m.exec((await request(t.url).get('/metrics')).text)?.[1] ?? 0);
    await waitFor(async () => ((await repairs()) >= 1 ? true : null), 10_000, 'the orphan repair to be counted');
  });

  if (mode === 'data') {
    it('waits through an activation three times the job lock (renewed while the job runs) without the job being taken as stalled', async () => {
      const metric = async (pattern: RegExp) => Number(pattern.exec((await request(t.url).get('/metrics')).text)?.[1] ?? NaN);
      const setups = () => metric(/^apn_job_duration_seconds_count\{job="setup",outcome="completed"\} (\d+)/m);
      const running = () => metric(/^apn_queue_jobs\{queue="provisioning",state="active"\} (\d+)/m);
      const before = (await setups()) || 0;
      // Longer than a lapsed lock plus the stall check that would notice it (2 × the lock).
      controller.setActivationDelay(3 * JOB_LOCK_S * 1000);
      try {
        const r = await book('OTE-HQ-100G-3', 'SNG-DC-100G-2', 500, 120_000);
        const s = await settle(r.id, ['ACTIVE', 'FAILED'], 'the slow activation', 50_000);
        expect(s.state).toBe('ACTIVE');
        expect(s.history.map((h: { state: string }) => h.state)).toEqual(['RESERVED', 'PROVISIONING', 'ACTIVE']);
        // One setup run: a job taken as stalled would have been run again by now, and completed twice once
        // nothing runs any more.
        await waitFor(async () => ((await running()) === 0 ? true : null), 20_000, 'no provisioning job to be running');
        expect(await setups()).toBe(before + 1);
        expect(controller.creates().filter((e) => JSON.stringify(e.requestBody).includes(r.id))).toHaveLength(1);
        await gqlOk(t.url, tenant.token, 'mutation($id: ID!) { cancelReservation(id: $id) { state } }', { id: r.id });
        await settle(r.id, ['RELEASED'], 'RELEASED after cancel');
      } finally {
        controller.setActivationDelay(300);
      }
    }, 90_000);
  }
});
