/**
 * The conformance check of the TAPI driver against the official TAPI 2.1.3 models (yanglint), shared by the
 * operator's script (src/cli/tapi-conformance.ts, `npm run tapi:conformance`) and the unit tests:
 *
 *  - the controller's context is valid data of the models;
 *  - every request the driver can send (the data-tree create, the create RPC's input, the delete RPC's
 *    input) for a sample lightpath mapped into that context is valid, its leafrefs resolved against the
 *    context, and every node and link it names is in the context (the YANG types those as plain uuids);
 *  - a set of deliberately broken requests is each rejected, so the check can fail;
 *  - against the TAPI test server, a whole lifecycle in each mode, with every request the driver sent and
 *    every answer the server gave validated afterwards.
 */
import { randomUUID } from 'node:crypto';
import type { ControllerRef, LightpathSpec } from '../../apn-driver';
import { frequencyThz } from '../../../../topology/pce';
import { TapiDriver } from '../tapi-driver';
import { CreateLayers, TapiMode, buildCreateBody, buildCreateInput, buildDeleteInput, endPointLayerOf, unmappedItems } from '../tapi-model';
import { ContextIndex, indexContext } from './controller-context';
import { startTapiTestServer } from './tapi-test-server';
import type { MessageKind, Verdict } from './yanglint';

export interface Validator {
  validate(kind: MessageKind, message: unknown, context: Record<string, unknown>): Promise<Verdict> | Verdict;
}

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly message: string;
}

/** The parts of a topology document a sample lightpath needs, with the TAPI mapping. */
export interface MappedTopology {
  readonly nodes: ReadonlyArray<{ code: string; tapiNodeUuid?: string }>;
  readonly sites?: ReadonlyArray<{ code: string; node: string }>;
  readonly links: ReadonlyArray<{ code: string; a: string; b: string; tapiLinkUuid?: string }>;
  readonly endpoints?: ReadonlyArray<{ code: string; site: string; rateGbps: number; tapiServiceInterfacePointUuid?: string }>;
}

/**
 * A lightpath between two endpoints of the document over the fewest links, on `channel`, as the setup job
 * would describe it to the driver (ids are the codes here; the controller refs are the document's mapping).
 */
export function sampleLightpath(doc: MappedTopology, from: string, to: string, channel = 0): LightpathSpec {
  const endpoints = new Map((doc.endpoints ?? []).map((e) => [e.code, e]));
  const nodeOfSite = new Map((doc.sites ?? []).map((s) => [s.code, s.node]));
  const a = endpoints.get(from);
  const z = endpoints.get(to);
  if (!a || !z) throw new Error(`no endpoint ${!a ? from : to} in the topology document`);
  const start = nodeOfSite.get(a.site);
  const goal = nodeOfSite.get(z.site);
  if (!start || !goal) throw new Error(`endpoint ${!start ? from : to} is at a site with no node`);
  // Breadth-first over the links: the fewest hops is enough for a sample.
  const previous = new Map<string, { node: string; link: string }>();
  const seen = new Set([start]);
  const queue = [start];
  while (queue.length > 0 && !seen.has(goal)) {
    const node = queue.shift() as string;
    for (const l of doc.links) {
      const next = l.a === node ? l.b : l.b === node ? l.a : null;
      if (next === null || seen.has(next)) continue;
      seen.add(next);
      previous.set(next, { node, link: l.code });
      queue.push(next);
    }
  }
  if (!seen.has(goal)) throw new Error(`no path between ${from} and ${to}`);
  const nodeIds = [goal];
  const linkIds: string[] = [];
  for (let at = goal; at !== start;) {
    const step = previous.get(at) as { node: string; link: string };
    linkIds.unshift(step.link);
    nodeIds.unshift(step.node);
    at = step.node;
  }
  const nodes = new Map(doc.nodes.map((n) => [n.code, n]));
  const links = new Map(doc.links.map((l) => [l.code, l]));
  const ref = (code: string, uuid: string | undefined): ControllerRef => ({ code, uuid: uuid ?? null });
  return {
    id: randomUUID(),
    nodeIds,
    linkIds,
    channel,
    frequencyThz: frequencyThz(channel),
    rateGbps: a.rateGbps,
    sourceEndpointId: from,
    destinationEndpointId: to,
    controller: {
      sourceEndpoint: ref(from, a.tapiServiceInterfacePointUuid),
      destinationEndpoint: ref(to, z.tapiServiceInterfacePointUuid),
      nodes: nodeIds.map((code) => ref(code, nodes.get(code)?.tapiNodeUuid)),
      links: linkIds.map((code) => ref(code, links.get(code)?.tapiLinkUuid)),
    },
  };
}

/** The end points' layers as the driver would choose them from the context's service-interface-points. */
export function layersFromContext(spec: LightpathSpec, index: ContextIndex): CreateLayers | string {
  const layer = (end: ControllerRef) => {
    const sip = end.uuid === null ? undefined : index.sips.get(end.uuid);
    if (!sip) return `endpoint ${end.code}: the context has no service-interface-point ${end.uuid ?? '(unmapped)'}`;
    const chosen = endPointLayerOf(sip);
    return typeof chosen === 'string' ? `endpoint ${end.code}: service-interface-point ${end.uuid} ${chosen}` : chosen;
  };
  const a = layer(spec.controller.sourceEndpoint);
  const z = layer(spec.controller.destinationEndpoint);
  if (typeof a === 'string') return a;
  if (typeof z === 'string') return z;
  return { a, z };
}

export interface SampleRequests {
  readonly createBody: Record<string, unknown>;
  readonly createInput: Record<string, unknown>;
  readonly deleteInput: Record<string, unknown>;
}

export function sampleRequests(spec: LightpathSpec, layers: CreateLayers): SampleRequests {
  return {
    createBody: buildCreateBody(spec, layers),
    createInput: buildCreateInput(spec, layers),
    deleteInput: buildDeleteInput(randomUUID()),
  };
}

export interface BrokenRequest {
  readonly name: string;
  readonly kind: MessageKind;
  readonly body: unknown;
}

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access --
   the broken requests below edit arbitrary JSON documents in place, one member each. */
type Json = Record<string, any>;

/** Requests a model-driven server must refuse, each from a valid one with one thing wrong. */
export function brokenRequests(valid: SampleRequests): BrokenRequest[] {
  const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;
  const service = (body: Json) => body['tapi-connectivity:connectivity-service'][0] as Json;
  const aEnd = (body: Json) => service(body)['end-point'][0] as Json;
  const otsiaKey = 'tapi-photonic-media:otsia-connectivity-service-end-point-spec';
  const broken: BrokenRequest[] = [];
  const create = (name: string, change: (body: Json) => void) => {
    const body = copy(valid.createBody) as Json;
    change(body);
    broken.push({ name, kind: 'create-body', body });
  };
  create('identity without its module prefix (layer-protocol-qualifier)', (b) => {
    aEnd(b)['layer-protocol-qualifier'] = String(aEnd(b)['layer-protocol-qualifier']).split(':')[1];
  });
  create('enumeration value the model does not define (service-type POINT_TO_POINT)', (b) => {
    service(b)['service-type'] = 'POINT_TO_POINT';
  });
  create('augment without its module prefix (otsia-connectivity-service-end-point-spec)', (b) => {
    const ep = aEnd(b);
    ep['otsia-connectivity-service-end-point-spec'] = ep[otsiaKey];
    delete ep[otsiaKey];
  });
  create('64-bit number as a JSON number (central-frequency)', (b) => {
    const config = aEnd(b)[otsiaKey]['otsi-config'][0]['central-frequency'];
    config['central-frequency'] = Number(config['central-frequency']);
  });
  create('member the model does not define (end-point colour)', (b) => {
    aEnd(b).colour = 'blue';
  });
  create('service-interface-point uuid not in the context', (b) => {
    aEnd(b)['service-interface-point']['service-interface-point-uuid'] = randomUUID();
  });
  create('state leaf in a create (operational-state)', (b) => {
    service(b)['operational-state'] = 'ENABLED';
  });
  create('top-level member without its module prefix', (b) => {
    b['connectivity-service'] = b['tapi-connectivity:connectivity-service'];
    delete b['tapi-connectivity:connectivity-service'];
  });
  const input = copy(valid.createInput) as Json;
  const inputEnd = input['tapi-connectivity:input']['end-point'][0] as Json;
  inputEnd[otsiaKey] = {
    'otsi-config': [{ 'local-id': '1', ...inputEnd['tapi-photonic-media:otsi-connectivity-service-end-point-spec']['otsi-config'] }],
  };
  delete inputEnd['tapi-photonic-media:otsi-connectivity-service-end-point-spec'];
  broken.push({
    name: 'OTSiA spec in the create RPC input (2.1.3 augments it with the OTSi spec only)',
    kind: 'create-input',
    body: input,
  });
  const unknownSip = copy(valid.createInput) as Json;
  unknownSip['tapi-connectivity:input']['end-point'][1]['service-interface-point']['service-interface-point-uuid'] = randomUUID();
  broken.push({ name: 'service-interface-point uuid not in the context (create RPC)', kind: 'create-input', body: unknownSip });
  broken.push({
    name: 'delete RPC naming the service by a member 2.1.3 does not have (uuid)',
    kind: 'delete-input',
    body: { 'tapi-connectivity:input': { uuid: randomUUID() } },
  });
  return broken;
}

/** Node and link uuids of a lightpath that the context lacks: the models type them as plain uuids, not leafrefs. */
export function unknownRouteItems(spec: LightpathSpec, index: ContextIndex): string[] {
  return [
    ...spec.controller.nodes.filter((n) => n.uuid !== null && !index.nodes.has(n.uuid)).map((n) => `node ${n.code} (${n.uuid})`),
    ...spec.controller.links.filter((l) => l.uuid !== null && !index.links.has(l.uuid)).map((l) => `link ${l.code} (${l.uuid})`),
  ];
}

async function check(name: string, run: () => Promise<Verdict> | Verdict, expectOk = true): Promise<CheckResult> {
  try {
    const verdict = await run();
    const ok = verdict.ok === expectOk;
    const message = expectOk ? verdict.message : verdict.ok ? 'accepted, but must be refused' : `refused: ${verdict.message}`;
    return { name, ok, message };
  } catch (error) {
    return { name, ok: false, message: (error as Error).message };
  }
}

/** The context, the driver's requests for each sample, and the broken requests, against one context. */
export async function checkRequests(
  validator: Validator,
  context: Record<string, unknown>,
  samples: LightpathSpec[],
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  results.push(await check('the controller context is valid TAPI 2.1.3 data', () => validator.validate('context', context, context)));
  const index = indexContext(context);
  let first: SampleRequests | undefined;
  for (const spec of samples) {
    const label = `${spec.controller.sourceEndpoint.code} → ${spec.controller.destinationEndpoint.code}`;
    const unmapped = unmappedItems(spec);
    if (unmapped.length > 0) {
      results.push({ name: `${label}: every item is mapped`, ok: false, message: `unmapped: ${unmapped.join(', ')}` });
      continue;
    }
    const unknown = unknownRouteItems(spec, index);
    results.push({ name: `${label}: every node and link is in the context`, ok: unknown.length === 0, message: unknown.join(', ') });
    const layers = layersFromContext(spec, index);
    if (typeof layers === 'string') {
      results.push({ name: `${label}: the end points' layers`, ok: false, message: layers });
      continue;
    }
    const requests = sampleRequests(spec, layers);
    first ??= requests;
    const layer = layers.a.layerProtocolName;
    results.push(
      await check(`${label} (${layer}): data-tree create body`, () => validator.validate('create-body', requests.createBody, context)),
    );
    results.push(
      await check(`${label} (${layer}): create-connectivity-service input`, () =>
        validator.validate('create-input', requests.createInput, context),
      ),
    );
    results.push(
      await check(`${label} (${layer}): delete-connectivity-service input`, () =>
        validator.validate('delete-input', requests.deleteInput, context),
      ),
    );
  }
  if (first) {
    for (const broken of brokenRequests(first)) {
      results.push(await check(`refuses: ${broken.name}`, () => validator.validate(broken.kind, broken.body, context), false));
    }
  }
  return results;
}

/**
 * A whole lifecycle against the TAPI test server in `mode` (set up, read, list, tear down), then every request
 * the driver sent and every answer the server gave, validated with `validator`.
 */
export async function checkRoundTrip(
  validator: Validator,
  context: Record<string, unknown>,
  sample: LightpathSpec,
  mode: TapiMode,
): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const server = await startTapiTestServer({ context, activationDelayMs: 30, removalDelayMs: 30, validator: 'yanglint' });
  try {
    const driver = new TapiDriver({
      baseUrl: server.url,
      mode,
      pollIntervalMs: 10,
      maxPollIntervalMs: 50,
      activationTimeoutMs: 10_000,
      removalTimeoutMs: 10_000,
    });
    const lifecycle = async (): Promise<Verdict> => {
      const up = await driver.setupLightpath(sample);
      if (up.state !== 'UP') return { ok: false, message: `setup ended ${up.state}` };
      const listed = await driver.listLightpaths();
      if (!listed.includes(sample.id)) return { ok: false, message: 'the lightpath is not listed' };
      await driver.teardownLightpath(sample.id);
      const left = await driver.getLightpath(sample.id);
      return left === null ? { ok: true, message: '' } : { ok: false, message: `still there after teardown: ${left.state}` };
    };
    results.push(await check(`${mode} mode: set up, list and tear down against the test server`, lifecycle));
    for (const [i, exchange] of server.exchanges.entries()) {
      const what = `${mode} mode: #${i + 1} ${exchange.method} ${exchange.path}`;
      if (exchange.requestKind) {
        results.push(
          await check(`${what}: request (${exchange.requestKind})`, () =>
            validator.validate(exchange.requestKind as MessageKind, exchange.requestBody, context),
          ),
        );
      }
      if (exchange.answerKind) {
        results.push(
          await check(`${what}: answer ${exchange.status} (${exchange.answerKind})`, () =>
            validator.validate(exchange.answerKind as MessageKind, exchange.responseBody, context),
          ),
        );
      }
    }
  } finally {
    await server.close();
  }
  return results;
}
