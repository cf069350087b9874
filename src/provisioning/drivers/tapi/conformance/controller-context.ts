/**
 * A TAPI 2.1.3 controller context (tapi-common:context, RFC 7951 JSON) for a topology document, with the
 * controller's own uuids: what a controller managing that network would expose. The TAPI test server serves
 * it, and the conformance check validates requests against it.
 *
 * Every endpoint becomes a service-interface-point named after its code: a 10 Gbit/s port is a DSR client port
 * (10GigE LAN), any faster one a PHOTONIC_MEDIA line port (OTSi). Every node becomes a photonic node with one
 * node-edge-point per link end and per port; every link joins two of those. The uuids are derived from the codes
 * and a seed, so they are stable between runs and differ from the orchestrator's own ids.
 */
import { createHash } from 'node:crypto';

export interface ContextSource {
  readonly name?: string;
  readonly nodes: ReadonlyArray<{ code: string }>;
  readonly sites?: ReadonlyArray<{ code: string; node: string }>;
  readonly links: ReadonlyArray<{ code: string; a: string; b: string }>;
  readonly endpoints?: ReadonlyArray<{ code: string; site: string; rateGbps: number }>;
}

/** Code → controller uuid, per kind: what an operator writes into the topology document. */
export interface ControllerMapping {
  readonly nodes: Readonly<Record<string, string>>;
  readonly links: Readonly<Record<string, string>>;
  readonly endpoints: Readonly<Record<string, string>>;
}

export interface GeneratedContext {
  /** { "tapi-common:context": { … } } */
  readonly context: Record<string, unknown>;
  readonly mapping: ControllerMapping;
}

/** A name-based uuid in RFC 4122 layout (version 5 bits over SHA-256 rather than SHA-1: only uniqueness matters). */
export function derivedUuid(seed: string, kind: string, code: string): string {
  const hex = createHash('sha256').update(`${seed}\u0000${kind}\u0000${code}`).digest('hex');
  const variant = ((parseInt(hex[16], 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

const INSTALLED = { 'administrative-state': 'UNLOCKED', 'operational-state': 'ENABLED', 'lifecycle-state': 'INSTALLED' };

/**
 * What tapi-topology requires of every node and link (min-elements 1 on each list): a cost, a latency, and for
 * links a shared-risk group, how the adjacency was validated and the layers at either end.
 */
function transferCharacteristics(code: string, kind: 'node' | 'link'): Record<string, unknown> {
  const common = {
    'cost-characteristic': [{ 'cost-name': 'hop', 'cost-value': '1', 'cost-algorithm': 'fixed' }],
    'latency-characteristic': [{ 'traffic-property-name': 'fixed', 'fixed-latency-characteristic': '0' }],
  };
  if (kind === 'node') return common;
  return {
    ...common,
    'risk-characteristic': [{ 'risk-characteristic-name': 'duct', 'risk-identifier-list': [code] }],
    'validation-mechanism': [
      { 'validation-mechanism': 'manual', 'layer-protocol-adjacency-validated': 'true', 'validation-robustness': 'high' },
    ],
    // The model asks every link for at least two entries (layer-protocol-transition-pac); a fiber carries
    // photonic media end to end, so there is no transition: the same layer at both ends.
    'transitioned-layer-protocol-name': ['PHOTONIC_MEDIA', 'PHOTONIC_MEDIA'],
  };
}

function named(value: string): Array<{ 'value-name': string; value: string }> {
  return [{ 'value-name': 'name', value }];
}

const DSR_QUALIFIER = 'tapi-dsr:DIGITAL_SIGNAL_TYPE_10_GigE_LAN';
const OTSI_QUALIFIER = 'tapi-photonic-media:PHOTONIC_LAYER_QUALIFIER_OTSi';
const OMS_QUALIFIER = 'tapi-photonic-media:PHOTONIC_LAYER_QUALIFIER_OMS';

/** A 10 Gbit/s port is a DSR client port, any faster one a photonic line port. */
function portLayer(rateGbps: number): { layer: 'DSR' | 'PHOTONIC_MEDIA'; qualifier: string } {
  return rateGbps <= 10 ? { layer: 'DSR', qualifier: DSR_QUALIFIER } : { layer: 'PHOTONIC_MEDIA', qualifier: OTSI_QUALIFIER };
}

type Uuid = (kind: string, code: string) => string;

export function controllerContextFor(doc: ContextSource, seed = 'apn-test-controller'): GeneratedContext {
  const uuid: Uuid = (kind, code) => derivedUuid(seed, kind, code);
  const mapping = {
    nodes: Object.fromEntries(doc.nodes.map((n) => [n.code, uuid('node', n.code)])),
    links: Object.fromEntries(doc.links.map((l) => [l.code, uuid('link', l.code)])),
    endpoints: Object.fromEntries((doc.endpoints ?? []).map((e) => [e.code, uuid('sip', e.code)])),
  };
  return {
    context: {
      'tapi-common:context': {
        uuid: uuid('context', doc.name ?? 'topology'),
        name: [{ 'value-name': 'context-name', value: doc.name ?? 'topology' }],
        'service-interface-point': serviceInterfacePoints(doc, mapping),
        'tapi-topology:topology-context': { topology: [topologyFor(doc, mapping, uuid)] },
        'tapi-connectivity:connectivity-context': {},
      },
    },
    mapping,
  };
}

/** One service-interface-point per endpoint, named after its code, with the port's full rate available. */
function serviceInterfacePoints(doc: ContextSource, mapping: ControllerMapping): Array<Record<string, unknown>> {
  return (doc.endpoints ?? []).map((e) => {
    const { layer, qualifier } = portLayer(e.rateGbps);
    return {
      uuid: mapping.endpoints[e.code],
      name: named(e.code),
      ...INSTALLED,
      'layer-protocol-name': layer,
      'supported-layer-protocol-qualifier': [qualifier],
      'total-potential-capacity': { 'total-size': { value: String(e.rateGbps), unit: 'GBPS' } },
      'available-capacity': { 'total-size': { value: String(e.rateGbps), unit: 'GBPS' } },
    };
  });
}

/** The photonic topology: every node with a node-edge-point per link end and per port, every link between two of them. */
function topologyFor(doc: ContextSource, mapping: ControllerMapping, uuid: Uuid): Record<string, unknown> {
  const topologyUuid = uuid('topology', doc.name ?? 'topology');
  const nodeOfSite = new Map((doc.sites ?? []).map((s) => [s.code, s.node]));
  const neps = new Map<string, Array<Record<string, unknown>>>(doc.nodes.map((n) => [n.code, []]));
  const nepOf = (node: string, end: string, layer: string, qualifier: string, sip?: string) => {
    const nep: Record<string, unknown> = {
      uuid: uuid('nep', `${node}/${end}`),
      name: named(`${node}/${end}`),
      ...INSTALLED,
      'layer-protocol-name': layer,
      'supported-cep-layer-protocol-qualifier': [qualifier],
      'link-port-direction': 'BIDIRECTIONAL',
      'termination-direction': 'BIDIRECTIONAL',
    };
    if (sip) nep['mapped-service-interface-point'] = [{ 'service-interface-point-uuid': sip }];
    neps.get(node)?.push(nep);
    return nep.uuid as string;
  };
  const links = doc.links.map((l) => ({
    uuid: mapping.links[l.code],
    name: named(l.code),
    ...INSTALLED,
    'layer-protocol-name': ['PHOTONIC_MEDIA'],
    direction: 'BIDIRECTIONAL',
    ...transferCharacteristics(l.code, 'link'),
    'node-edge-point': [l.a, l.b].map((node) => ({
      'topology-uuid': topologyUuid,
      'node-uuid': mapping.nodes[node],
      'node-edge-point-uuid': nepOf(node, l.code, 'PHOTONIC_MEDIA', OMS_QUALIFIER),
    })),
  }));
  for (const e of doc.endpoints ?? []) {
    const node = nodeOfSite.get(e.site);
    if (!node) continue;
    const { layer, qualifier } = portLayer(e.rateGbps);
    nepOf(node, e.code, layer, qualifier, mapping.endpoints[e.code]);
  }
  const nodes = doc.nodes.map((n) => ({
    uuid: mapping.nodes[n.code],
    name: named(n.code),
    ...INSTALLED,
    'layer-protocol-name': ['PHOTONIC_MEDIA', 'DSR'],
    ...transferCharacteristics(n.code, 'node'),
    'owned-node-edge-point': neps.get(n.code) ?? [],
  }));
  return {
    uuid: topologyUuid,
    name: named(doc.name ?? 'topology'),
    'layer-protocol-name': ['PHOTONIC_MEDIA', 'DSR'],
    node: nodes,
    link: links,
  };
}

/** The document with the mapping written into it (tapiNodeUuid, tapiLinkUuid, tapiServiceInterfacePointUuid). */
export function withTapiMapping<
  D extends {
    nodes: ReadonlyArray<{ code: string }>;
    links: ReadonlyArray<{ code: string }>;
    endpoints?: ReadonlyArray<{ code: string }>;
  },
>(doc: D, mapping: ControllerMapping, leaveOut: ReadonlySet<string> = new Set()): D {
  const pick = (table: Readonly<Record<string, string>>, code: string) => (leaveOut.has(code) ? undefined : table[code]);
  return {
    ...doc,
    nodes: doc.nodes.map((n) => ({ ...n, tapiNodeUuid: pick(mapping.nodes, n.code) })),
    links: doc.links.map((l) => ({ ...l, tapiLinkUuid: pick(mapping.links, l.code) })),
    endpoints: (doc.endpoints ?? []).map((e) => ({ ...e, tapiServiceInterfacePointUuid: pick(mapping.endpoints, e.code) })),
  };
}

/** The context's own object, whether given as { "tapi-common:context": {…} } or bare. */
export function contextBody(context: Record<string, unknown>): Record<string, unknown> {
  const inner = context['tapi-common:context'];
  return typeof inner === 'object' && inner !== null ? (inner as Record<string, unknown>) : context;
}

export interface ContextIndex {
  readonly sips: Map<string, { layerProtocolName: string | undefined; qualifiers: string[]; name: string | undefined }>;
  readonly nodes: Set<string>;
  readonly links: Set<string>;
}

/** The uuids a context holds, by kind, and each service-interface-point's layer. */
export function indexContext(context: Record<string, unknown>): ContextIndex {
  const body = contextBody(context);
  const list = (value: unknown) => (Array.isArray(value) ? (value as Array<Record<string, unknown>>) : []);
  const strings = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []);
  const firstName = (entry: Record<string, unknown>) => {
    const value = list(entry.name)[0]?.value;
    return typeof value === 'string' ? value : undefined;
  };
  const sips = new Map<string, { layerProtocolName: string | undefined; qualifiers: string[]; name: string | undefined }>();
  for (const sip of list(body['service-interface-point'])) {
    if (typeof sip.uuid !== 'string') continue;
    const layer: unknown = Array.isArray(sip['layer-protocol-name'])
      ? (sip['layer-protocol-name'] as unknown[])[0]
      : sip['layer-protocol-name'];
    sips.set(sip.uuid, {
      layerProtocolName: typeof layer === 'string' ? layer : undefined,
      qualifiers: strings(sip['supported-layer-protocol-qualifier']),
      name: firstName(sip),
    });
  }
  const nodes = new Set<string>();
  const links = new Set<string>();
  const topologyContext = (body['tapi-topology:topology-context'] ?? body['topology-context']) as Record<string, unknown> | undefined;
  for (const topology of list(topologyContext?.topology)) {
    for (const node of list(topology.node)) if (typeof node.uuid === 'string') nodes.add(node.uuid);
    for (const link of list(topology.link)) if (typeof link.uuid === 'string') links.add(link.uuid);
  }
  return { sips, nodes, links };
}
