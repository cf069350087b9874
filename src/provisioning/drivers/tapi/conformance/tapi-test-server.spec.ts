import { randomUUID } from 'node:crypto';
import referenceTopology from '../../../../topology/reference-topology.json';
import { layersFromContext, sampleLightpath, sampleRequests } from './conformance';
import { controllerContextFor, indexContext, withTapiMapping } from './controller-context';
import { TapiTestServer, startTapiTestServer } from './tapi-test-server';

// The test server refuses what a controller would refuse, whichever validator it runs (yanglint when installed).

const generated = controllerContextFor(referenceTopology);
const mapped = withTapiMapping(referenceTopology, generated.mapping);
let server: TapiTestServer;

beforeAll(async () => {
  server = await startTapiTestServer({ context: generated.context });
});
afterAll(() => server.close());

function requests() {
  const spec = sampleLightpath(mapped, 'OTE-HQ-100G-1', 'SNG-DC-100G-1', 4);
  const layers = layersFromContext(spec, indexContext(generated.context));
  if (typeof layers === 'string') throw new Error(layers);
  return sampleRequests(spec, layers);
}

async function post(path: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}/rests${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/yang-data+json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

const CONTEXT = '/data/tapi-common:context/tapi-connectivity:connectivity-context';
const CREATE = '/operations/tapi-connectivity:create-connectivity-service';

describe(`TAPI test server`, () => {
  it('announces its RESTCONF root in host-meta and serves nothing under /restconf', async () => {
    const meta = await fetch(`${server.url}/.well-known/host-meta`);
    expect(meta.headers.get('content-type')).toBe('application/xrd+xml');
    expect(await meta.text()).toContain(`<Link rel='restconf' href='/rests'/>`);
    const wrongRoot = await fetch(`${server.url}/restconf${CONTEXT}`);
    expect(wrongRoot.status).toBe(404);
    expect(await wrongRoot.json()).toMatchObject({ 'ietf-restconf:errors': { error: [{ 'error-tag': 'invalid-value' }] } });
  });

  it('refuses a service-interface-point it does not have with 409 data-missing, in both styles', async () => {
    const valid = requests();
    const body = JSON.parse(JSON.stringify(valid.createBody));
    body['tapi-connectivity:connectivity-service'][0]['end-point'][1]['service-interface-point']['service-interface-point-uuid'] =
      randomUUID();
    const input = JSON.parse(JSON.stringify(valid.createInput));
    input['tapi-connectivity:input']['end-point'][0]['service-interface-point']['service-interface-point-uuid'] = randomUUID();

    for (const [path, message] of [
      [CONTEXT, body],
      [CREATE, input],
    ] as const) {
      const answer = await post(path, message);
      expect(answer.status).toBe(409);
      expect(answer.body['ietf-restconf:errors'].error[0]).toMatchObject({
        'error-tag': 'data-missing',
        'error-app-tag': 'instance-required',
      });
    }
    expect(server.services.size).toBe(0);
  });

  it('refuses links and nodes it does not have, and an end point on another layer than its service-interface-point, with 400 invalid-value', async () => {
    const valid = requests();
    const unknownLink = JSON.parse(JSON.stringify(valid.createBody));
    unknownLink['tapi-connectivity:connectivity-service'][0]['include-link'].push(randomUUID());
    const wrongLayer = JSON.parse(JSON.stringify(valid.createBody));
    for (const ep of wrongLayer['tapi-connectivity:connectivity-service'][0]['end-point']) {
      ep['layer-protocol-name'] = 'DSR';
      ep['layer-protocol-qualifier'] = 'tapi-dsr:DIGITAL_SIGNAL_TYPE_100_GigE';
    }
    const unknownNode = JSON.parse(JSON.stringify(valid.createInput));
    unknownNode['tapi-connectivity:input']['topology-constraint']['include-node'][0] = 'node-of-someone-else';

    for (const [path, message, said] of [
      [CONTEXT, unknownLink, /include-link .* is not a link of this controller/],
      [CONTEXT, wrongLayer, /is on layer PHOTONIC_MEDIA, not DSR/],
      [CREATE, unknownNode, /include-node node-of-someone-else is not a node/],
    ] as const) {
      const answer = await post(path, message);
      expect(answer.status).toBe(400);
      expect(answer.body['ietf-restconf:errors'].error[0]['error-tag']).toBe('invalid-value');
      expect(answer.body['ietf-restconf:errors'].error[0]['error-message']).toMatch(said);
    }
    expect(server.services.size).toBe(0);
  });

  it('moves a created service PLANNED → INSTALLED and a deleted one PENDING_REMOVAL → gone by itself', async () => {
    server.setActivationDelay(100);
    server.setRemovalDelay(100);
    const created = await post(CREATE, requests().createInput);
    expect(created.status).toBe(200);
    const service = created.body['tapi-connectivity:output'].service;
    expect(service).toMatchObject({ 'lifecycle-state': 'PLANNED', 'operational-state': 'DISABLED' });
    const state = () => server.services.get(service.uuid)?.lifecycle;
    const until = async (wanted: string | undefined) => {
      while (state() !== wanted) await new Promise((r) => setTimeout(r, 10));
    };
    await until('INSTALLED');
    expect(
      (
        await post('/operations/tapi-connectivity:delete-connectivity-service', {
          'tapi-connectivity:input': { 'service-id-or-name': service.uuid },
        })
      ).status,
    ).toBe(204);
    expect(state()).toBe('PENDING_REMOVAL');
    await until(undefined);
  });
});
