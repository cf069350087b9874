import { randomUUID } from 'node:crypto';
import { Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import referenceTopology from '../../../topology/reference-topology.json';
import { DriverError, LightpathSpec } from '../apn-driver';
import { sampleLightpath } from './conformance/conformance';
import { controllerContextFor, withTapiMapping } from './conformance/controller-context';
import { Exchange, TapiTestServer, TapiTestServerOptions, startTapiTestServer } from './conformance/tapi-test-server';
import { MemoryServiceUuidStore, TapiDriver, TapiDriverOptions } from './tapi-driver';

// Real HTTP over 127.0.0.1 against the TAPI test server, which serves a controller context with its own uuids
// and validates every create and delete against the TAPI 2.1.3 models: these tests exercise the wire format.

const generated = controllerContextFor(referenceTopology);
const mapped = withTapiMapping(referenceTopology, generated.mapping);
const open: Array<{ close(): Promise<void> }> = [];

async function server(options: Partial<TapiTestServerOptions> = {}): Promise<TapiTestServer> {
  const started = await startTapiTestServer({ context: generated.context, activationDelayMs: 20, removalDelayMs: 20, ...options });
  open.push(started);
  return started;
}

function driverFor(target: { url: string }, options: Partial<TapiDriverOptions> = {}): TapiDriver {
  return new TapiDriver({
    baseUrl: target.url,
    activationTimeoutMs: 5_000,
    removalTimeoutMs: 5_000,
    pollIntervalMs: 10,
    maxPollIntervalMs: 40,
    ...options,
  });
}

/** A lightpath over four links of the reference topology, mapped to the controller's uuids. */
function lightpath(): LightpathSpec {
  return sampleLightpath(mapped, 'OTE-HQ-100G-1', 'SRK-GDC-100G-1', 12);
}

/** Awaits a rejection and insists it is a DriverError. */
async function driverError(promise: Promise<unknown>): Promise<DriverError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DriverError);
  return error as DriverError;
}

const sent = (target: TapiTestServer, method: string, pathPart: string): Exchange[] =>
  target.exchanges.filter((e) => e.method === method && e.path.includes(pathPart));

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

describe('TapiDriver, data-tree style (TR-547): creating a service', () => {
  it('discovers the RESTCONF root, creates the service with the controller’s uuids and waits for INSTALLED and ENABLED', async () => {
    const target = await server({ activationDelayMs: 150, requireAuthorization: 'Bearer s3cret' });
    const spec = lightpath();
    const driver = driverFor(target, { headers: { Authorization: 'Bearer s3cret' } });

    const status = await driver.setupLightpath(spec);

    expect(status).toEqual({ id: spec.id, state: 'UP', configuredLinkIds: spec.linkIds });
    expect(target.exchanges[0]).toMatchObject({ method: 'GET', path: '/.well-known/host-meta', status: 200 });
    expect(target.exchanges.slice(1).every((e) => e.path.startsWith('/rests/'))).toBe(true);
    // It read both service-interface-points, created once, and read again while the service was PLANNED.
    expect(sent(target, 'GET', '/service-interface-point=')).toHaveLength(2);
    const [create] = target.creates();
    expect(create).toMatchObject({ requestKind: 'create-body', status: 201 });
    expect(sent(target, 'GET', `/connectivity-service=${spec.id}`).length).toBeGreaterThan(1);

    const service = (create.requestBody as Record<string, any>)['tapi-connectivity:connectivity-service'][0];
    expect(service.uuid).toBe(spec.id);
    expect(service.name).toContainEqual({ 'value-name': 'apn-reservation', value: spec.id });
    expect(service['service-layer']).toBe('PHOTONIC_MEDIA');
    expect(service['requested-capacity']).toEqual({ 'total-size': { value: '100', unit: 'GBPS' } });
    expect(service['include-link']).toEqual(spec.linkIds.map((code) => generated.mapping.links[code]));
    expect(service['include-node']).toEqual(spec.nodeIds.map((code) => generated.mapping.nodes[code]));
    const endPoints = service['end-point'] as Array<Record<string, any>>;
    expect(endPoints.map((ep) => ep['service-interface-point']['service-interface-point-uuid'])).toEqual([
      generated.mapping.endpoints['OTE-HQ-100G-1'],
      generated.mapping.endpoints['SRK-GDC-100G-1'],
    ]);
    for (const ep of endPoints) {
      expect(ep['layer-protocol-name']).toBe('PHOTONIC_MEDIA');
      expect(ep['layer-protocol-qualifier']).toBe('tapi-photonic-media:PHOTONIC_LAYER_QUALIFIER_OTSi');
      expect(ep['tapi-photonic-media:otsi-connectivity-service-end-point-spec']).toBeUndefined();
      const [otsi] = ep['tapi-photonic-media:otsia-connectivity-service-end-point-spec']['otsi-config'];
      // Channel 12: 191.35 THz + 12 × 50 GHz = 191.95 THz, in the MHz the leaf is specified in, as a uint64 string.
      expect(otsi).toEqual({
        'local-id': '1',
        'central-frequency': {
          'central-frequency': '191950000',
          'frequency-constraint': { 'grid-type': 'DWDM', 'adjustment-granularity': 'G_50GHZ' },
        },
      });
    }
  });

  it('uses the configured root without asking host-meta, and sets up a lightpath twice but creates it once', async () => {
    const target = await server({ restconfRoot: '/restconf', serveHostMeta: false });
    const driver = driverFor(target, { restconfRoot: '/restconf/' });
    const spec = lightpath();

    await driver.setupLightpath(spec);
    const before = target.exchanges.length;
    await expect(driver.setupLightpath(spec)).resolves.toMatchObject({ state: 'UP' });

    expect(target.exchanges.some((e) => e.path.includes('host-meta'))).toBe(false);
    expect(target.creates()).toHaveLength(1);
    expect(target.exchanges.slice(before).map((e) => e.method)).toEqual(['GET']);
  });

  it('refuses, without retry, a controller that announces no RESTCONF root when none is configured', async () => {
    const target = await server({ serveHostMeta: false });
    const error = await driverError(driverFor(target).setupLightpath(lightpath()));
    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/host-meta with HTTP 404.*set APN_TAPI_ROOT/);
  });

  it('sets the layer from the controller’s service-interface-point: DSR client ports with their qualifier', async () => {
    const target = await server();
    const spec = sampleLightpath(mapped, 'OTE-HQ-10G-1', 'TAM-GDC-10G-1', 3);

    await expect(driverFor(target).setupLightpath(spec)).resolves.toMatchObject({ state: 'UP' });

    const service = (target.creates()[0].requestBody as Record<string, any>)['tapi-connectivity:connectivity-service'][0];
    expect(service['service-layer']).toBe('DSR');
    for (const ep of service['end-point']) {
      expect(ep['layer-protocol-name']).toBe('DSR');
      expect(ep['layer-protocol-qualifier']).toBe('tapi-dsr:DIGITAL_SIGNAL_TYPE_10_GigE_LAN');
    }
  });
});

describe('TapiDriver, data-tree style (TR-547): refusals and waiting', () => {
  it('refuses a lightpath with unmapped items before sending anything, naming each one', async () => {
    const target = await server();
    const partly = withTapiMapping(referenceTopology, generated.mapping, new Set(['OTE-HQ-100G-1', 'OMY', 'UTN-SRK']));
    const spec = sampleLightpath(partly, 'OTE-HQ-100G-1', 'SRK-GDC-100G-1', 12);

    const error = await driverError(driverFor(target).setupLightpath(spec));

    expect(error.retryable).toBe(false);
    expect(error.message).toContain('endpoint OTE-HQ-100G-1, node OMY, link UTN-SRK');
    expect(error.details).toMatchObject({ kind: 'unmapped', unmapped: ['endpoint OTE-HQ-100G-1', 'node OMY', 'link UTN-SRK'] });
    expect(target.exchanges).toEqual([]);
  });

  it('reports the controller refusing a service-interface-point it does not have as final', async () => {
    const target = await server();
    const spec = lightpath();
    const stale = { ...spec, controller: { ...spec.controller, destinationEndpoint: { code: 'SRK-GDC-100G-1', uuid: randomUUID() } } };

    const error = await driverError(driverFor(target).setupLightpath(stale));

    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/has no service-interface-point .* endpoint SRK-GDC-100G-1/);
    expect(target.creates()).toHaveLength(0);
  });

  it('is not up while PLANNED even when ENABLED, and times out retryably; a retry resumes the wait', async () => {
    const target = await server({ activationDelayMs: Number.POSITIVE_INFINITY });
    const spec = lightpath();
    // The budget covers the create too, which the test server validates against the YANG models (yanglint,
    // a process per request): long enough for that on a busy machine, short enough to wait out.
    const driver = driverFor(target, { activationTimeoutMs: 2_000 });
    const pending = driver.setupLightpath(spec);
    const created = async () => {
      while (!target.services.has(spec.id)) await new Promise((r) => setTimeout(r, 5));
    };
    await created();
    target.forceOperationalState(spec.id, 'ENABLED');

    const error = await driverError(pending);

    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ kind: 'activation-timeout', lifecycleState: 'PLANNED', operationalState: 'ENABLED' });
    expect(error.message).toContain('lifecycle-state PLANNED, operational-state ENABLED');
    await expect(driver.getLightpath(spec.id)).resolves.toEqual({ id: spec.id, state: 'DOWN', configuredLinkIds: [] });

    target.setActivationDelay(0);
    (target.services.get(spec.id) as { lifecycle: string }).lifecycle = 'INSTALLED';
    await expect(driver.setupLightpath(spec)).resolves.toMatchObject({ state: 'UP' });
    expect(target.creates()).toHaveLength(1);
  });
});

describe('TapiDriver, data-tree style (TR-547): teardown and listing', () => {
  it('tears down by deleting and waiting through PENDING_REMOVAL until the service is gone', async () => {
    const target = await server({ removalDelayMs: 150 });
    const driver = driverFor(target);
    const spec = lightpath();
    await driver.setupLightpath(spec);

    await driver.teardownLightpath(spec.id);

    expect(target.services.has(spec.id)).toBe(false);
    // It read the service at least once in PENDING_REMOVAL before the 404.
    const reads = sent(target, 'GET', `/connectivity-service=${spec.id}`).filter(
      (e) => target.exchanges.indexOf(e) > target.exchanges.findIndex((x) => x.method === 'DELETE'),
    );
    expect(reads.map((e) => e.status)).toContain(200);
    expect(reads.at(-1)?.status).toBe(404);
    await expect(driver.getLightpath(spec.id)).resolves.toBeNull();
    await expect(driver.teardownLightpath(spec.id)).resolves.toBeUndefined();
  });

  it('fails a teardown retryably while the controller keeps the service PENDING_REMOVAL, and completes once it goes', async () => {
    const target = await server({ removalDelayMs: Number.POSITIVE_INFINITY });
    const spec = lightpath();
    await driverFor(target).setupLightpath(spec);

    const error = await driverError(driverFor(target, { removalTimeoutMs: 1_000 }).teardownLightpath(spec.id));

    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ kind: 'removal-timeout', lifecycleState: 'PENDING_REMOVAL' });
    expect(error.message).toMatch(/still on the TAPI controller .* its channel stays booked/);
    target.setRemovalDelay(0);
    await expect(driverFor(target).teardownLightpath(spec.id)).resolves.toBeUndefined();
    expect(target.services.has(spec.id)).toBe(false);
  });

  it('lists with content=all the lightpaths it created, kept as operational data, and never another client’s', async () => {
    const target = await server();
    const driver = driverFor(target);
    const first = lightpath();
    const second = sampleLightpath(mapped, 'SDI-LAB-100G-1', 'ISK-GDC-100G-1', 2);
    await driver.setupLightpath(first);
    await driver.setupLightpath(second);
    const foreign = (name: unknown[]) => ({
      uuid: randomUUID(),
      name,
      'end-point': ['OTE-HQ-100G-2', 'TAM-GDC-100G-2'].map((code, i) => ({
        'local-id': String(i),
        'service-interface-point': { 'service-interface-point-uuid': generated.mapping.endpoints[code] },
      })),
    });
    target.plant(foreign([{ 'value-name': 'SERVICE_NAME', value: 'someone-else' }]));
    // Borrowing our label is not enough: the name must repeat the service's own uuid.
    target.plant(foreign([{ 'value-name': 'apn-reservation', value: first.id }]));

    expect((await driver.listLightpaths()).sort()).toEqual([first.id, second.id].sort());
    const lists = target.exchanges.filter((e) => e.method === 'GET' && e.path.endsWith('/tapi-connectivity:connectivity-context'));
    expect(lists.map((e) => e.query)).toEqual(['content=all']);
    // The same server lists nothing under content=config: that is what a reconciler using it would have seen.
    const config = await fetch(`${target.url}/rests/data/tapi-common:context/tapi-connectivity:connectivity-context?content=config`);
    expect(await config.json()).toEqual({ 'tapi-connectivity:connectivity-context': {} });
  });

  it('refuses, without retry, to adopt an existing service that joins other end points', async () => {
    const target = await server();
    const driver = driverFor(target);
    const spec = lightpath();
    await driver.setupLightpath(spec);
    const other = sampleLightpath(mapped, 'OTE-HQ-100G-2', 'SRK-GDC-100G-2', 12);

    const error = await driverError(driver.setupLightpath({ ...other, id: spec.id }));

    expect(error.retryable).toBe(false);
    expect(error.message).toContain('already exists');
    expect(target.creates()).toHaveLength(1);
  });
});

describe('TapiDriver, RPC style (TransportPCE, ONOS ODTN)', () => {
  it('creates through create-connectivity-service, records the uuid the controller chose and uses it to read and delete', async () => {
    const target = await server({ activationDelayMs: 100 });
    const store = new MemoryServiceUuidStore();
    const driver = driverFor(target, { mode: 'rpc', serviceUuids: store });
    const spec = lightpath();

    await expect(driver.setupLightpath(spec)).resolves.toEqual({ id: spec.id, state: 'UP', configuredLinkIds: spec.linkIds });

    const [create] = target.creates();
    expect(create).toMatchObject({
      path: '/rests/operations/tapi-connectivity:create-connectivity-service',
      status: 200,
      answerKind: 'create-output',
    });
    const uuid = (create.responseBody as Record<string, any>)['tapi-connectivity:output'].service.uuid as string;
    expect(uuid).not.toBe(spec.id);
    await expect(store.get(spec.id)).resolves.toBe(uuid);
    const input = (create.requestBody as Record<string, any>)['tapi-connectivity:input'];
    expect(input['connectivity-constraint']).toMatchObject({
      'service-layer': 'PHOTONIC_MEDIA',
      'requested-capacity': { 'total-size': { value: '100', unit: 'GBPS' } },
    });
    expect(input['topology-constraint']['include-link']).toEqual(spec.linkIds.map((code) => generated.mapping.links[code]));
    for (const ep of input['end-point']) {
      expect(ep.name).toContainEqual({ 'value-name': 'apn-reservation', value: spec.id });
      // The 2.1.3 create RPC's end point has the OTSi spec only.
      expect(
        ep['tapi-photonic-media:otsi-connectivity-service-end-point-spec']['otsi-config']['central-frequency']['central-frequency'],
      ).toBe('191950000');
      expect(ep['tapi-photonic-media:otsia-connectivity-service-end-point-spec']).toBeUndefined();
    }
    expect(sent(target, 'GET', `/connectivity-service=${uuid}`).length).toBeGreaterThan(0);
    await expect(driver.listLightpaths()).resolves.toEqual([spec.id]);

    await driver.teardownLightpath(spec.id);

    const [deletion] = sent(target, 'POST', 'delete-connectivity-service');
    expect(deletion.requestBody).toEqual({ 'tapi-connectivity:input': { 'service-id-or-name': uuid } });
    expect(target.services.size).toBe(0);
    await expect(driver.getLightpath(spec.id)).resolves.toBeNull();
  });

  it('finds a service whose uuid was never recorded by the names on its end points, instead of creating a second one', async () => {
    const target = await server();
    const spec = lightpath();
    await driverFor(target, { mode: 'rpc' }).setupLightpath(spec);

    // Another worker, or this one after a crash between the create and recording its uuid.
    const forgetful = driverFor(target, { mode: 'rpc', serviceUuids: new MemoryServiceUuidStore() });
    await expect(forgetful.setupLightpath(spec)).resolves.toMatchObject({ state: 'UP' });
    await expect(forgetful.getLightpath(spec.id)).resolves.toMatchObject({ state: 'UP' });

    expect(target.creates()).toHaveLength(1);
    await forgetful.teardownLightpath(spec.id);
    expect(target.services.size).toBe(0);
  });

  it('lists only services whose end points carry our name, and tears down such an orphan by it', async () => {
    const target = await server();
    const driver = driverFor(target, { mode: 'rpc' });
    const orphan = randomUUID();
    const endPoints = (tag?: string) =>
      ['OTE-HQ-100G-3', 'TAM-GDC-100G-1'].map((code, i) => ({
        'local-id': String(i),
        ...(tag ? { name: [{ 'value-name': 'apn-reservation', value: tag }] } : {}),
        'service-interface-point': { 'service-interface-point-uuid': generated.mapping.endpoints[code] },
      }));
    target.plant({ uuid: randomUUID(), 'end-point': endPoints(orphan) });
    target.plant({ uuid: randomUUID(), 'end-point': endPoints() });
    // A label that is no lightpath id of ours: never listed, so never torn down.
    target.plant({ uuid: randomUUID(), 'end-point': endPoints('not-a-reservation') });

    await expect(driver.listLightpaths()).resolves.toEqual([orphan]);
    await driver.teardownLightpath(orphan);
    await expect(driver.listLightpaths()).resolves.toEqual([]);
    expect(target.services.size).toBe(2);
  });
});

describe('TapiDriver errors', () => {
  it('reports 503 on create as retryable and succeeds when the job retries', async () => {
    const target = await server({ failCreateTimes: 2 });
    const driver = driverFor(target);
    const spec = lightpath();

    for (let attempt = 1; attempt <= 2; attempt++) {
      const error = await driverError(driver.setupLightpath(spec));
      expect(error.retryable).toBe(true);
      expect(error.message).toContain('HTTP 503');
      expect(error.message).toContain('path computation engine busy');
      expect(error.details).toMatchObject({ status: 503, retryAfterMs: 1000 });
    }
    // The driver itself did not retry: one create per call.
    expect(target.creates()).toHaveLength(2);

    await expect(driver.setupLightpath(spec)).resolves.toMatchObject({ state: 'UP' });
    expect(target.services.size).toBe(1);
  });

  it.each(['data', 'rpc'] as const)('reports a controller refusing the create (%s) as final, with its error-message', async (mode) => {
    const target = await server();
    target.rejectCreates('no route with enough OSNR margin between the end points');
    const error = await driverError(driverFor(target, { mode }).setupLightpath(lightpath()));

    expect(error.retryable).toBe(false);
    expect(error.message).toContain('HTTP 400');
    expect(error.message).toContain('no route with enough OSNR margin');
    expect(error.details).toMatchObject({ status: 400, errorTags: ['invalid-value'] });
  });

  it('sends credentials given in the URL as HTTP Basic authentication, as OpenDaylight and ONOS expect', async () => {
    const target = await server({ requireAuthorization: `Basic ${Buffer.from('admin:s3cr:t').toString('base64')}` });
    const url = target.url.replace('http://', 'http://admin:s3cr%3At@');
    await expect(driverFor({ url }).setupLightpath(lightpath())).resolves.toMatchObject({ state: 'UP' });
  });

  it('reports refused credentials as not retryable, without echoing them', async () => {
    const target = await server({ requireAuthorization: 'Bearer right', restconfRoot: '/restconf' });
    const driver = driverFor(target, { headers: { Authorization: 'Bearer wrong-token' }, restconfRoot: '/restconf' });

    const error = await driverError(driver.getLightpath(randomUUID()));

    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/HTTP 401.*credentials/);
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain('wrong-token');
  });

  it('reports a closed port as retryable', async () => {
    const target = await startTapiTestServer({ context: generated.context });
    await target.close(); // the port is now free and refuses connections

    const error = await driverError(driverFor(target).setupLightpath(lightpath()));

    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ kind: 'network' });
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('gives up retryably on a server that accepts the request but never answers', async () => {
    const silent: Server = createServer(() => {
      /* never respond */
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    open.push({
      close: () =>
        new Promise<void>((resolve) => {
          silent.closeAllConnections();
          silent.close(() => resolve());
        }),
    });
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;

    const error = await driverError(driverFor({ url }, { requestTimeoutMs: 200, restconfRoot: '/restconf' }).getLightpath(randomUUID()));

    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ kind: 'timeout' });
  });
});
