/**
 * The LightpathSpec ⇄ TAPI connectivity-service mapping, kept apart from the HTTP code so that each can be
 * read on its own. The mapping itself is documented at the top of tapi-driver.ts.
 *
 * Model: ONF TAPI 2.1.3 — tapi-common 2020-04-23, tapi-topology 2020-04-23, tapi-connectivity 2020-06-16,
 * tapi-photonic-media 2020-06-16, tapi-dsr 2020-04-23.
 * Encoding: JSON per RFC 7951, which is what RESTCONF (RFC 8040) carries as application/yang-data+json.
 */
import type { LightpathOperState, LightpathSpec, LightpathStatus } from '../apn-driver';
import { isUuid } from '../../../core/ids';

/** How services are created and deleted: TR-547's data tree, or the tapi-connectivity RPCs. */
export type TapiMode = 'data' | 'rpc';

/** Data resource of the TAPI connectivity context, under the RESTCONF root (RFC 8040 §3.3: {+restconf}/data/...). */
export const CONNECTIVITY_CONTEXT_PATH = '/data/tapi-common:context/tapi-connectivity:connectivity-context';
export const CREATE_RPC = 'tapi-connectivity:create-connectivity-service';
export const DELETE_RPC = 'tapi-connectivity:delete-connectivity-service';

/**
 * The list member as it appears in a POST body and a GET answer. Qualified with the module name because it
 * is the top-level member of the message (RFC 7951 §4).
 */
export const SERVICE_MEMBER = 'tapi-connectivity:connectivity-service';

/** name[] entries we add; TAPI leaves value-name free, so these are ours and documented as such. */
export const NAME_RESERVATION = 'apn-reservation';
export const NAME_CHANNEL = 'apn-channel';
export const NAME_ROUTE = 'apn-route';

export const A_END_LOCAL_ID = 'a-end';
export const Z_END_LOCAL_ID = 'z-end';

/** The modules that define the identities a controller may name without a prefix (RFC 7951 §6.8 wants one). */
const IDENTITY_MODULES: ReadonlyArray<[RegExp, string]> = [
  [/^PHOTONIC_LAYER_QUALIFIER_/, 'tapi-photonic-media'],
  [/^DIGITAL_SIGNAL_TYPE_/, 'tapi-dsr'],
  [/^ODU_TYPE_/, 'tapi-odu'],
  [/^ETH_TYPE_|^ETHERNET_/, 'tapi-eth'],
  [/^LAYER_PROTOCOL_QUALIFIER_/, 'tapi-common'],
];

/** The URI of one connectivity-service: list keys go percent-encoded after '=' (RFC 8040 §3.5.3). */
export function serviceResourcePath(uuid: string): string {
  return `${CONNECTIVITY_CONTEXT_PATH}/connectivity-service=${encodeURIComponent(uuid)}`;
}

/** The URI of one service-interface-point of the controller's context. */
export function sipResourcePath(uuid: string): string {
  return `/data/tapi-common:context/service-interface-point=${encodeURIComponent(uuid)}`;
}

/** THz → MHz: TAPI's central-frequency leaf is a uint64 "specified in MHz" (tapi-photonic-media, central-frequency). */
export function thzToMhz(frequencyThz: number): number {
  return Math.round(frequencyThz * 1_000_000);
}

/**
 * requested-capacity/total-size is a uint64 with a unit (tapi-common capacity-value). A whole number of Gbit/s
 * goes as GBPS; anything else as MBPS so no precision is lost to the integer type.
 */
function capacityOf(rateGbps: number): { value: string; unit: 'GBPS' | 'MBPS' } {
  return Number.isInteger(rateGbps)
    ? { value: String(rateGbps), unit: 'GBPS' }
    : { value: String(Math.round(rateGbps * 1000)), unit: 'MBPS' };
}

/** What the controller's service-interface-point says about its layer. */
export interface SipLayer {
  readonly layerProtocolName: string | undefined;
  /** As the controller wrote them; see qualifiedIdentity. */
  readonly qualifiers: readonly string[];
}

/** The layer an end point is requested on, chosen from its service-interface-point. */
export interface EndPointLayer {
  readonly layerProtocolName: 'PHOTONIC_MEDIA' | 'DSR';
  /** An identityref value, module-qualified (RFC 7951 §6.8). */
  readonly qualifier: string;
}

/** An identity value with its module prefix; a controller that leaves it out gets it added for known families. */
export function qualifiedIdentity(value: string): string {
  if (value.includes(':')) return value;
  const module = IDENTITY_MODULES.find(([pattern]) => pattern.test(value))?.[1];
  return module ? `${module}:${value}` : value;
}

/**
 * The end point's layer: the service-interface-point's own layer-protocol-name, and among its supported
 * qualifiers OTSi for photonic media (one optical signal per lightpath), else the first it lists. Returns a
 * sentence instead when the point is on a layer this driver does not provision.
 */
export function endPointLayerOf(sip: SipLayer): EndPointLayer | string {
  const layer = sip.layerProtocolName;
  if (layer !== 'PHOTONIC_MEDIA' && layer !== 'DSR') {
    return `is on layer ${layer ?? '(none given)'}; lightpaths are set up on PHOTONIC_MEDIA or DSR service-interface-points`;
  }
  const qualifiers = sip.qualifiers.map(qualifiedIdentity);
  const preferred =
    layer === 'PHOTONIC_MEDIA'
      ? (qualifiers.find((q) => q === 'tapi-photonic-media:PHOTONIC_LAYER_QUALIFIER_OTSi') ?? qualifiers[0])
      : qualifiers[0];
  if (!preferred) return `lists no supported-layer-protocol-qualifier for layer ${layer}`;
  return { layerProtocolName: layer, qualifier: preferred };
}

/** Reads layer-protocol-name and supported-layer-protocol-qualifier from a GET of a service-interface-point. */
export function parseSipLayer(body: unknown): SipLayer | null {
  if (!isRecord(body)) return null;
  const entry = asArray(member(body, 'service-interface-point'))[0] ?? body;
  if (!isRecord(entry)) return null;
  // 2.1.3 makes layer-protocol-name a leaf; older servers send a one-element array.
  const layer = asArray(entry['layer-protocol-name'])[0];
  return {
    layerProtocolName: typeof layer === 'string' ? layer : undefined,
    qualifiers: asArray(entry['supported-layer-protocol-qualifier']).filter((q): q is string => typeof q === 'string'),
  };
}

export interface CreateLayers {
  readonly a: EndPointLayer;
  readonly z: EndPointLayer;
}

/**
 * The frequency on the 50 GHz grid, as an OTSi termination config. uint64 leaves are JSON strings in RFC 7951
 * (§6.1), so the frequency goes quoted.
 */
function otsiConfig(spec: LightpathSpec): Record<string, unknown> {
  return {
    'central-frequency': {
      'central-frequency': String(thzToMhz(spec.frequencyThz)),
      // The orchestrator books channels on the fixed 50 GHz ITU-T G.694.1 grid (see LightpathSpec.channel).
      'frequency-constraint': { 'grid-type': 'DWDM', 'adjustment-granularity': 'G_50GHZ' },
    },
  };
}

function names(spec: LightpathSpec): Array<{ 'value-name': string; value: string }> {
  return [
    { 'value-name': NAME_RESERVATION, value: spec.id },
    { 'value-name': NAME_CHANNEL, value: String(spec.channel) },
    // include-link is a leaf-list the server may return in its own order; the route order is ours to keep.
    { 'value-name': NAME_ROUTE, value: spec.linkIds.join(',') },
  ];
}

function endPoint(
  localId: string,
  sipUuid: string,
  layer: EndPointLayer,
  frequency: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    'local-id': localId,
    ...extra,
    'layer-protocol-name': layer.layerProtocolName,
    // identityref values carry their defining module's name (RFC 7951 §6.8).
    'layer-protocol-qualifier': layer.qualifier,
    'service-interface-point': { 'service-interface-point-uuid': sipUuid },
    direction: 'BIDIRECTIONAL',
    role: 'SYMMETRIC',
    // A member added by an augment from another module is qualified with that module's name (RFC 7951 §4).
    ...frequency,
  };
}

function mappedUuids(spec: LightpathSpec): { a: string; z: string; nodes: string[]; links: string[] } {
  const need = (uuid: string | null): string => {
    // The driver checks the mapping before building a body (see unmappedItems); this is a programming error.
    if (uuid === null) throw new Error('buildCreate*: the lightpath has unmapped items');
    return uuid;
  };
  return {
    a: need(spec.controller.sourceEndpoint.uuid),
    z: need(spec.controller.destinationEndpoint.uuid),
    nodes: spec.controller.nodes.map((n) => need(n.uuid)),
    links: spec.controller.links.map((l) => need(l.uuid)),
  };
}

/** The items of the lightpath the topology maps to no controller uuid, in words ("endpoint OTE-HQ-100G-1"). */
export function unmappedItems(spec: LightpathSpec): string[] {
  const { sourceEndpoint, destinationEndpoint, nodes, links } = spec.controller;
  return [
    ...[sourceEndpoint, destinationEndpoint].filter((e) => e.uuid === null).map((e) => `endpoint ${e.code}`),
    ...nodes.filter((n) => n.uuid === null).map((n) => `node ${n.code}`),
    ...links.filter((l) => l.uuid === null).map((l) => `link ${l.code}`),
  ];
}

/**
 * The data-tree create (TR-547): POST on the connectivity-context, the child resource as body (RFC 8040
 * §4.4.1), its uuid chosen by us (the lightpath id). The frequency goes in OTSiA's end point spec, which 2.1.3
 * introduces for the connectivity-service end point in place of the deprecated OTSi one.
 */
export function buildCreateBody(spec: LightpathSpec, layers: CreateLayers): Record<string, unknown> {
  const ids = mappedUuids(spec);
  const frequency = {
    'tapi-photonic-media:otsia-connectivity-service-end-point-spec': {
      'otsi-config': [{ 'local-id': '1', ...otsiConfig(spec) }],
    },
  };
  return {
    [SERVICE_MEMBER]: [
      {
        uuid: spec.id,
        name: names(spec),
        'service-layer': layers.a.layerProtocolName,
        'service-type': 'POINT_TO_POINT_CONNECTIVITY',
        'connectivity-direction': 'BIDIRECTIONAL',
        'requested-capacity': { 'total-size': capacityOf(spec.rateGbps) },
        'include-link': ids.links,
        'include-node': ids.nodes,
        'administrative-state': 'UNLOCKED',
        'end-point': [endPoint(A_END_LOCAL_ID, ids.a, layers.a, frequency), endPoint(Z_END_LOCAL_ID, ids.z, layers.z, frequency)],
      },
    ],
  };
}

/**
 * The create-connectivity-service RPC input (RFC 8040 §3.6.1: { "module:input": {...} }). Its input has no
 * service name and no uuid, so our names go on the end points (tapi-common local-class), where the service
 * keeps them. In 2.1.3 the RPC input's end point is augmented with the OTSi spec only (the OTSiA spec augments
 * the data tree's end point, not the RPC), so the frequency goes there.
 */
export function buildCreateInput(spec: LightpathSpec, layers: CreateLayers): Record<string, unknown> {
  const ids = mappedUuids(spec);
  const frequency = { 'tapi-photonic-media:otsi-connectivity-service-end-point-spec': { 'otsi-config': otsiConfig(spec) } };
  const tagged = { name: names(spec) };
  return {
    'tapi-connectivity:input': {
      'end-point': [
        endPoint(A_END_LOCAL_ID, ids.a, layers.a, frequency, tagged),
        endPoint(Z_END_LOCAL_ID, ids.z, layers.z, frequency, tagged),
      ],
      'connectivity-constraint': {
        'service-layer': layers.a.layerProtocolName,
        'service-type': 'POINT_TO_POINT_CONNECTIVITY',
        'connectivity-direction': 'BIDIRECTIONAL',
        'requested-capacity': { 'total-size': capacityOf(spec.rateGbps) },
      },
      'topology-constraint': { 'include-link': ids.links, 'include-node': ids.nodes },
    },
  };
}

/** The delete-connectivity-service RPC input: 2.1.3 names the service by service-id-or-name. */
export function buildDeleteInput(serviceUuid: string): Record<string, unknown> {
  return { 'tapi-connectivity:input': { 'service-id-or-name': serviceUuid } };
}

/** The uuid the controller gave the service, from the create RPC's output ({ "tapi-connectivity:output": { service } }). */
export function parseCreateOutput(body: unknown): string | null {
  if (!isRecord(body)) return null;
  const output = member(body, 'output');
  const service = isRecord(output) ? output.service : undefined;
  return isRecord(service) && typeof service.uuid === 'string' ? service.uuid : null;
}

/** What the driver reads back from a connectivity-service; every field is optional on the wire. */
export interface ServiceView {
  readonly uuid: string | undefined;
  readonly operationalState: string | undefined;
  readonly lifecycleState: string | undefined;
  readonly connectionCount: number;
  /** Our apn-reservation name on the service itself (data-tree creates). */
  readonly serviceTag: string | undefined;
  /** Our apn-reservation name when every end point carries the same one (RPC creates). */
  readonly endPointTag: string | undefined;
  readonly route: readonly string[] | undefined;
  readonly sipUuids: readonly string[];
  readonly centralFrequenciesMhz: readonly number[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A member by its local name, with or without a module prefix: servers differ on re-qualifying at the top. */
function member(object: Record<string, unknown>, localName: string): unknown {
  if (localName in object) return object[localName];
  for (const key of Object.keys(object)) {
    if (key.endsWith(`:${localName}`)) return object[key];
  }
  return undefined;
}

function asArray(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  return value === undefined || value === null ? [] : [value];
}

function nameValue(entries: unknown, valueName: string): string | undefined {
  const found = asArray(entries)
    .filter(isRecord)
    .find((n) => n['value-name'] === valueName)?.value;
  return typeof found === 'string' ? found : undefined;
}

/** Frequencies from either end point spec: OTSiA's keyed list or the deprecated OTSi container. */
function frequenciesOf(endPoint: Record<string, unknown>): number[] {
  const configs = [
    ...asArray((member(endPoint, 'otsia-connectivity-service-end-point-spec') as Record<string, unknown> | undefined)?.['otsi-config']),
    ...asArray((member(endPoint, 'otsi-connectivity-service-end-point-spec') as Record<string, unknown> | undefined)?.['otsi-config']),
  ];
  const mhz: number[] = [];
  for (const config of configs) {
    const cf = isRecord(config) ? config['central-frequency'] : undefined;
    const value = isRecord(cf) ? Number(cf['central-frequency']) : NaN;
    if (Number.isFinite(value)) mhz.push(value);
  }
  return mhz;
}

/** Reads one connectivity-service entry (from a GET of the service, a list, or the create RPC's output). */
export function parseServiceEntry(entry: unknown): ServiceView | null {
  if (!isRecord(entry)) return null;
  const endPoints = asArray(member(entry, 'end-point')).filter(isRecord);
  const sipUuids: string[] = [];
  const centralFrequenciesMhz: number[] = [];
  const endPointTags = new Set<string | undefined>();
  let endPointRoute: string | undefined;
  for (const ep of endPoints) {
    const sip = member(ep, 'service-interface-point');
    const sipUuid = isRecord(sip) ? sip['service-interface-point-uuid'] : undefined;
    if (typeof sipUuid === 'string') sipUuids.push(sipUuid);
    centralFrequenciesMhz.push(...frequenciesOf(ep));
    endPointTags.add(nameValue(ep.name, NAME_RESERVATION));
    endPointRoute ??= nameValue(ep.name, NAME_ROUTE);
  }
  const routeName = nameValue(entry.name, NAME_ROUTE) ?? endPointRoute;
  const [onlyTag] = endPointTags;
  return {
    uuid: typeof entry.uuid === 'string' ? entry.uuid : undefined,
    operationalState: typeof entry['operational-state'] === 'string' ? entry['operational-state'] : undefined,
    lifecycleState: typeof entry['lifecycle-state'] === 'string' ? entry['lifecycle-state'] : undefined,
    connectionCount: asArray(entry.connection).length,
    serviceTag: nameValue(entry.name, NAME_RESERVATION),
    endPointTag: endPoints.length > 0 && endPointTags.size === 1 ? onlyTag : undefined,
    route: routeName === undefined ? undefined : routeName.split(',').filter((id) => id !== ''),
    sipUuids,
    centralFrequenciesMhz,
  };
}

/**
 * Reads the GET answer for one connectivity-service. RFC 8040 §3.5.3 with RFC 7951 §5.4 gives
 * `{ "tapi-connectivity:connectivity-service": [ {...} ] }`; a bare object is accepted too, as some
 * controllers send one.
 */
export function parseServiceResponse(body: unknown): ServiceView | null {
  if (!isRecord(body)) return null;
  return parseServiceEntry(asArray(member(body, 'connectivity-service'))[0] ?? body);
}

/** Every connectivity-service in a GET of the connectivity-context. */
export function parseServiceList(body: unknown): ServiceView[] {
  if (!isRecord(body)) return [];
  const context = member(body, 'connectivity-context') ?? body;
  if (!isRecord(context)) return [];
  return asArray(member(context, 'connectivity-service'))
    .map(parseServiceEntry)
    .filter((view): view is ServiceView => view !== null && view.uuid !== undefined);
}

/**
 * The lightpath a service on the controller belongs to, or null when this orchestrator did not create it.
 * Controllers are shared, and whatever is claimed here the reconciler may tear down. A data-tree service is
 * ours when its name repeats its own uuid (a copied or hand-made entry that merely borrows the label is not);
 * an RPC-created one, whose uuid the controller chose, when every end point carries the same apn-reservation;
 * in both, only when that label is a UUID, as every lightpath id is.
 */
export function lightpathOf(view: ServiceView, mode: TapiMode): string | null {
  const tag = mode === 'data' ? (view.serviceTag === view.uuid ? view.serviceTag : undefined) : view.endPointTag;
  // Lightpath ids are reservation ids, always UUIDs: a label that is not one was not written by us.
  return tag !== undefined && isUuid(tag) ? tag : null;
}

/**
 * Up means installed and working: lifecycle-state INSTALLED (not PLANNED, POTENTIAL_* or PENDING_REMOVAL) and
 * operational-state ENABLED (tapi-common). A service the controller already backs with connections but that is
 * not up is half-built: PARTIAL. Without connections it is DOWN.
 */
export function toLightpathStatus(id: string, view: ServiceView): LightpathStatus {
  let state: LightpathOperState;
  if (isUp(view)) state = 'UP';
  else state = view.connectionCount > 0 ? 'PARTIAL' : 'DOWN';
  // The service-level view names no hops: which ones carry light would take reading each connection's route.
  // So hops are reported only when the whole service is up, and then they are the route we asked for.
  const configuredLinkIds = state === 'UP' ? (view.route ?? []) : [];
  return { id, state, configuredLinkIds };
}

export function isUp(view: ServiceView): boolean {
  return view.lifecycleState === 'INSTALLED' && view.operationalState === 'ENABLED';
}

/** Differences between a service found on the controller and the spec, in words; empty when it matches. */
export function differencesFrom(view: ServiceView, spec: LightpathSpec): string[] {
  const differences: string[] = [];
  const wanted = [spec.controller.sourceEndpoint.uuid ?? '', spec.controller.destinationEndpoint.uuid ?? ''].sort();
  const found = [...view.sipUuids].sort();
  // Only compare what the controller echoed: a leaf it leaves out says nothing either way.
  if (found.length > 0 && found.join() !== wanted.join()) {
    differences.push(`end points ${found.join(', ')} instead of ${wanted.join(', ')}`);
  }
  const mhz = thzToMhz(spec.frequencyThz);
  const otherFrequency = view.centralFrequenciesMhz.find((f) => f !== mhz);
  if (otherFrequency !== undefined) {
    differences.push(`central frequency ${otherFrequency} MHz instead of ${mhz} MHz`);
  }
  return differences;
}
