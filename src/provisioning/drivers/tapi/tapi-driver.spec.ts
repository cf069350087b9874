import { randomUUID } from 'node:crypto';
import { Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DriverError, LightpathSpec } from '../apn-driver';
import { TapiDriver, TapiDriverOptions } from './tapi-driver';
import { TapiFixture, TapiFixtureOptions, startTapiFixture } from './tapi-fixture';

// Real HTTP over 127.0.0.1 against the fixture: these tests exercise the wire format, not a mocked fetch.

const open: Array<{ close(): Promise<void> }> = [];

async function fixture(options?: TapiFixtureOptions): Promise<TapiFixture> {
  const started = await startTapiFixture(options);
  open.push(started);
  return started;
}

function driverFor(target: { url: string }, options: Partial<TapiDriverOptions> = {}): TapiDriver {
  return new TapiDriver({ baseUrl: target.url, timeoutMs: 3_000, pollIntervalMs: 20, ...options });
}

function lightpath(): LightpathSpec {
  return {
    id: randomUUID(),
    nodeIds: [randomUUID(), randomUUID(), randomUUID()],
    linkIds: [randomUUID(), randomUUID()],
    channel: 12,
    frequencyThz: 193.7, // 193.1 THz + 12 × 50 GHz
    rateGbps: 400,
    sourceEndpointId: randomUUID(),
    destinationEndpointId: randomUUID(),
  };
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

function count(target: TapiFixture, method: string): number {
  return target.requests.filter((r) => r.method === method).length;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

describe('TapiDriver against a TAPI RESTCONF server', () => {
  it('creates the connectivity-service from the spec and resolves UP once the controller enables it', async () => {
    const server = await fixture({ activationDelayMs: 300, requireAuthorization: 'Bearer s3cret' });
    const spec = lightpath();
    const controllerNode = new Map(spec.nodeIds.map((id, i) => [id, `00000000-0000-4000-8000-00000000000${i}`]));
    const driver = driverFor(server, {
      headers: { Authorization: 'Bearer s3cret' },
      nodeUuidOf: (id) => controllerNode.get(id) ?? 'unmapped',
    });

    const started = Date.now();
    const status = await driver.setupLightpath(spec);
    const elapsed = Date.now() - started;

    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(status).toEqual({ id: spec.id, state: 'UP', configuredLinkIds: spec.linkIds });
    expect(count(server, 'POST')).toBe(1);
    // It polled while the service was DISABLED, pausing pollIntervalMs (20) between reads rather than spinning.
    expect(count(server, 'GET')).toBeGreaterThan(2);
    expect(count(server, 'GET')).toBeLessThanOrEqual(Math.ceil(elapsed / 20) + 2);

    const service = server.services.get(spec.id) as Record<string, any>;
    expect(service.uuid).toBe(spec.id);
    expect(service.name).toContainEqual({ 'value-name': 'apn-reservation', value: spec.id });
    expect(service['administrative-state']).toBe('UNLOCKED');
    expect(service['service-layer']).toBe('PHOTONIC_MEDIA');
    expect(service['requested-capacity']).toEqual({ 'total-size': { value: '400', unit: 'GBPS' } });
    expect(service['include-link']).toEqual(spec.linkIds);
    expect(service['include-node']).toEqual([
      '00000000-0000-4000-8000-000000000000',
      '00000000-0000-4000-8000-000000000001',
      '00000000-0000-4000-8000-000000000002',
    ]);
    const endPoints = service['end-point'] as Array<Record<string, any>>;
    expect(endPoints.map((ep) => ep['service-interface-point']['service-interface-point-uuid'])).toEqual([
      spec.sourceEndpointId,
      spec.destinationEndpointId,
    ]);
    for (const ep of endPoints) {
      expect(ep['layer-protocol-name']).toBe('PHOTONIC_MEDIA');
      expect(ep['layer-protocol-qualifier']).toBe('tapi-photonic-media:PHOTONIC_LAYER_QUALIFIER_OTSi');
      const otsi = ep['tapi-photonic-media:otsi-connectivity-service-end-point-spec']['otsi-config'];
      // 193.7 THz in the MHz the YANG leaf is specified in, as an RFC 7951 uint64 string.
      expect(otsi['central-frequency']['central-frequency']).toBe('193700000');
      expect(otsi['central-frequency']['frequency-constraint']).toEqual({
        'grid-type': 'DWDM',
        'adjustment-granularity': 'G_50GHZ',
      });
    }
  });

  it('sets up a lightpath twice but creates it once, the second time without waiting', async () => {
    const server = await fixture();
    const driver = driverFor(server);
    const spec = lightpath();

    await driver.setupLightpath(spec);
    const before = server.requests.length;
    const again = await driver.setupLightpath(spec);

    expect(again).toEqual({ id: spec.id, state: 'UP', configuredLinkIds: spec.linkIds });
    expect(count(server, 'POST')).toBe(1);
    expect(server.requests.slice(before)).toEqual([
      { method: 'GET', path: expect.stringContaining(`/connectivity-service=${spec.id}`) },
    ]);
  });

  it('converges when two workers set up the same lightpath at once (one create answers 409)', async () => {
    const server = await fixture({ activationDelayMs: 100 });
    const spec = lightpath();

    const [first, second] = await Promise.all([
      driverFor(server).setupLightpath(spec),
      driverFor(server).setupLightpath(spec),
    ]);

    expect(first.state).toBe('UP');
    expect(second.state).toBe('UP');
    expect(server.services.size).toBe(1);
    expect(count(server, 'POST')).toBe(2);
  });

  it('gets null for a lightpath the controller does not know', async () => {
    const server = await fixture();
    await expect(driverFor(server).getLightpath(randomUUID())).resolves.toBeNull();
  });

  it('reports PARTIAL when the service is disabled but has connections, and UP again when it recovers', async () => {
    const server = await fixture();
    const driver = driverFor(server);
    const spec = lightpath();
    await driver.setupLightpath(spec);

    server.forceOperationalState(spec.id, 'DISABLED');
    await expect(driver.getLightpath(spec.id)).resolves.toEqual({
      id: spec.id,
      state: 'PARTIAL',
      configuredLinkIds: [],
    });

    server.forceOperationalState(spec.id, null);
    await expect(driver.getLightpath(spec.id)).resolves.toEqual({
      id: spec.id,
      state: 'UP',
      configuredLinkIds: spec.linkIds,
    });
  });

  it('tears down by deleting the service, and tearing down again succeeds', async () => {
    const server = await fixture();
    const driver = driverFor(server);
    const spec = lightpath();
    await driver.setupLightpath(spec);

    await driver.teardownLightpath(spec.id);
    expect(server.services.has(spec.id)).toBe(false);
    await expect(driver.getLightpath(spec.id)).resolves.toBeNull();

    await expect(driver.teardownLightpath(spec.id)).resolves.toBeUndefined();
    expect(count(server, 'DELETE')).toBe(2);
  });

  it('lists the lightpaths it created, and never services another client created on the same controller', async () => {
    const server = await fixture();
    const driver = driverFor(server);
    await expect(driver.listLightpaths()).resolves.toEqual([]);

    const first = lightpath();
    const second = lightpath();
    await driver.setupLightpath(first);
    await driver.setupLightpath(second);
    const foreign = (uuid: string, name: unknown[]) =>
      fetch(`${server.url}/restconf/data/tapi-common:context/tapi-connectivity:connectivity-context`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/yang-data+json' },
        body: JSON.stringify({
          'tapi-connectivity:connectivity-service': [
            {
              uuid,
              name,
              'end-point': [
                { 'local-id': '1', 'service-interface-point': { 'service-interface-point-uuid': randomUUID() } },
                { 'local-id': '2', 'service-interface-point': { 'service-interface-point-uuid': randomUUID() } },
              ],
            },
          ],
        }),
      });
    expect((await foreign(randomUUID(), [{ 'value-name': 'SERVICE_NAME', value: 'someone-else' }])).status).toBe(201);
    // Borrowing our label is not enough: the name must repeat the service's own uuid.
    expect((await foreign(randomUUID(), [{ 'value-name': 'apn-reservation', value: first.id }])).status).toBe(201);
    expect(server.services.size).toBe(4);

    expect((await driver.listLightpaths()).sort()).toEqual([first.id, second.id].sort());

    await driver.teardownLightpath(first.id);
    await expect(driver.listLightpaths()).resolves.toEqual([second.id]);
  });

  it('reports 503 on create as retryable and succeeds when the job retries', async () => {
    const server = await fixture({ failCreateTimes: 2 });
    const driver = driverFor(server);
    const spec = lightpath();

    for (let attempt = 1; attempt <= 2; attempt++) {
      const error = await driverError(driver.setupLightpath(spec));
      expect(error.retryable).toBe(true);
      expect(error.message).toContain('HTTP 503');
      expect(error.message).toContain('path computation engine busy');
      expect(error.details).toMatchObject({ status: 503, retryAfterMs: 1000 });
    }
    // The driver itself did not retry: one POST per call.
    expect(count(server, 'POST')).toBe(2);

    await expect(driver.setupLightpath(spec)).resolves.toMatchObject({ state: 'UP' });
    expect(server.services.size).toBe(1);
  });

  it('reports a 400 as not retryable, carrying the RESTCONF error-message', async () => {
    const server = await fixture({ rejectCreateWith: 400 });
    const error = await driverError(driverFor(server).setupLightpath(lightpath()));

    expect(error.retryable).toBe(false);
    expect(error.message).toContain('HTTP 400');
    expect(error.message).toContain('service-interface-point not found in tapi-common:context');
    expect(error.details).toMatchObject({ status: 400, errorTags: ['invalid-value'] });
  });

  it('reports refused credentials as not retryable, without echoing them', async () => {
    const server = await fixture({ requireAuthorization: 'Bearer right' });
    const driver = driverFor(server, { headers: { Authorization: 'Bearer wrong-token' } });

    const error = await driverError(driver.getLightpath(randomUUID()));

    expect(error.retryable).toBe(false);
    expect(error.message).toMatch(/HTTP 401.*credentials/);
    expect(JSON.stringify({ message: error.message, details: error.details })).not.toContain('wrong-token');
  });

  it('times out retryably, within timeoutMs, when the service never becomes ENABLED; a retry resumes it', async () => {
    const server = await fixture({ activationDelayMs: Number.POSITIVE_INFINITY });
    const driver = driverFor(server, { timeoutMs: 300 });
    const spec = lightpath();

    const started = Date.now();
    const error = await driverError(driver.setupLightpath(spec));
    const elapsed = Date.now() - started;

    expect(error.retryable).toBe(true);
    expect(error.message).toContain('ENABLED');
    expect(error.details).toMatchObject({ lastState: 'DOWN' });
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(800);
    await expect(driver.getLightpath(spec.id)).resolves.toEqual({ id: spec.id, state: 'DOWN', configuredLinkIds: [] });

    // The service was left in place, so the retry waits on it instead of creating another.
    server.forceOperationalState(spec.id, 'ENABLED');
    await expect(driver.setupLightpath(spec)).resolves.toMatchObject({ state: 'UP' });
    expect(count(server, 'POST')).toBe(1);
  });

  it('refuses, without retry, to adopt an existing service that joins other end points', async () => {
    const server = await fixture();
    const driver = driverFor(server);
    const spec = lightpath();
    await driver.setupLightpath(spec);

    const error = await driverError(driver.setupLightpath({ ...spec, destinationEndpointId: randomUUID() }));

    expect(error.retryable).toBe(false);
    expect(error.message).toContain('already exists');
    expect(count(server, 'POST')).toBe(1);
  });

  it('reports a closed port as retryable', async () => {
    const server = await startTapiFixture();
    await server.close(); // the port is now free and refuses connections

    const error = await driverError(driverFor(server).setupLightpath(lightpath()));

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

    const started = Date.now();
    const error = await driverError(driverFor({ url }, { timeoutMs: 200 }).getLightpath(randomUUID()));

    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ kind: 'timeout' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
