/**
 * The LightpathSpec ⇄ TAPI connectivity-service mapping, kept apart from the HTTP code so that each can be
 * read on its own. The mapping itself is documented at the top of tapi-driver.ts.
 *
 * Model: ONF TAPI 2.1.3, YANG revision 2020-04-23 (tapi-connectivity, tapi-photonic-media, tapi-common).
 * Encoding: JSON per RFC 7951, which is what RESTCONF (RFC 8040) carries as application/yang-data+json.
 */
import type { LightpathOperState, LightpathSpec, LightpathStatus } from '../apn-driver';

/** RESTCONF data resource of the TAPI connectivity context (RFC 8040 §3.3: {+restconf}/data/...). */
export const CONNECTIVITY_CONTEXT_PATH =
  '/restconf/data/tapi-common:context/tapi-connectivity:connectivity-context';

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

/** The URI of one connectivity-service: list keys go percent-encoded after '=' (RFC 8040 §3.5.3). */
export function serviceResourcePath(uuid: string): string {
  return `${CONNECTIVITY_CONTEXT_PATH}/connectivity-service=${encodeURIComponent(uuid)}`;
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

export interface IdMappers {
  readonly nodeUuidOf: (nodeId: string) => string;
  readonly linkUuidOf: (linkId: string) => string;
}

/** The POST body creating the connectivity-service for `spec` (RFC 8040 §4.4.1: the body is the child resource). */
export function buildCreateBody(spec: LightpathSpec, ids: IdMappers): Record<string, unknown> {
  // uint64 leaves are JSON strings in RFC 7951 (§6.1), so the frequency and capacity go quoted.
  const centralFrequency = {
    'central-frequency': String(thzToMhz(spec.frequencyThz)),
    // The orchestrator books channels on the fixed 50 GHz ITU-T G.694.1 grid (see LightpathSpec.channel).
    'frequency-constraint': { 'grid-type': 'DWDM', 'adjustment-granularity': 'G_50GHZ' },
  };
  const endPoint = (localId: string, sipUuid: string): Record<string, unknown> => ({
    'local-id': localId,
    'layer-protocol-name': 'PHOTONIC_MEDIA',
    // identityref values carry their defining module's name (RFC 7951 §6.8).
    'layer-protocol-qualifier': 'tapi-photonic-media:PHOTONIC_LAYER_QUALIFIER_OTSi',
    'service-interface-point': { 'service-interface-point-uuid': sipUuid },
    direction: 'BIDIRECTIONAL',
    role: 'SYMMETRIC',
    // A member added by an augment from another module is qualified with that module's name (RFC 7951 §4).
    'tapi-photonic-media:otsi-connectivity-service-end-point-spec': {
      'otsi-config': { 'central-frequency': centralFrequency },
    },
  });
  return {
    [SERVICE_MEMBER]: [
      {
        uuid: spec.id,
        name: [
          { 'value-name': NAME_RESERVATION, value: spec.id },
          { 'value-name': NAME_CHANNEL, value: String(spec.channel) },
          // include-link is a leaf-list the server may return in its own order; the route order is ours to keep.
          { 'value-name': NAME_ROUTE, value: spec.linkIds.join(',') },
        ],
        'service-layer': 'PHOTONIC_MEDIA',
        'service-type': 'POINT_TO_POINT_CONNECTIVITY',
        'connectivity-direction': 'BIDIRECTIONAL',
        'requested-capacity': { 'total-size': capacityOf(spec.rateGbps) },
        'include-link': spec.linkIds.map(ids.linkUuidOf),
        'include-node': spec.nodeIds.map(ids.nodeUuidOf),
        'administrative-state': 'UNLOCKED',
        'end-point': [
          endPoint(A_END_LOCAL_ID, spec.sourceEndpointId),
          endPoint(Z_END_LOCAL_ID, spec.destinationEndpointId),
        ],
      },
    ],
  };
}

/** What the driver reads back from a connectivity-service; every field is optional on the wire. */
export interface ServiceView {
  readonly uuid: string | undefined;
  readonly operationalState: string | undefined;
  readonly connectionCount: number;
  readonly route: readonly string[] | undefined;
  readonly includeLink: readonly string[] | undefined;
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

function strings(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.filter((item): item is string => typeof item === 'string');
}

/**
 * Reads the GET answer for one connectivity-service. RFC 8040 §3.5.3 with RFC 7951 §5.4 gives
 * `{ "tapi-connectivity:connectivity-service": [ {...} ] }`; a bare object is accepted too, as some
 * controllers send one.
 */
export function parseServiceResponse(body: unknown): ServiceView | null {
  if (!isRecord(body)) return null;
  const entry = asArray(member(body, 'connectivity-service'))[0] ?? body;
  if (!isRecord(entry)) return null;

  const names = asArray(entry.name).filter(isRecord);
  const routeName = names.find((n) => n['value-name'] === NAME_ROUTE)?.value;
  const endPoints = asArray(member(entry, 'end-point')).filter(isRecord);
  const sipUuids: string[] = [];
  const centralFrequenciesMhz: number[] = [];
  for (const ep of endPoints) {
    const sip = member(ep, 'service-interface-point');
    const sipUuid = isRecord(sip) ? sip['service-interface-point-uuid'] : undefined;
    if (typeof sipUuid === 'string') sipUuids.push(sipUuid);
    const otsi = member(ep, 'otsi-connectivity-service-end-point-spec');
    const config = isRecord(otsi) ? asArray(otsi['otsi-config'])[0] : undefined;
    const cf = isRecord(config) ? config['central-frequency'] : undefined;
    const mhz = isRecord(cf) ? Number(cf['central-frequency']) : NaN;
    if (Number.isFinite(mhz)) centralFrequenciesMhz.push(mhz);
  }
  return {
    uuid: typeof entry.uuid === 'string' ? entry.uuid : undefined,
    operationalState: typeof entry['operational-state'] === 'string' ? entry['operational-state'] : undefined,
    connectionCount: asArray(entry.connection).length,
    route: typeof routeName === 'string' ? routeName.split(',').filter((id) => id !== '') : undefined,
    includeLink: strings(entry['include-link']),
    sipUuids,
    centralFrequenciesMhz,
  };
}

/**
 * The uuids of the services in a GET of the connectivity-context that this orchestrator created: those whose
 * name[] carries apn-reservation. Controllers are shared, and whatever is listed here the reconciler may tear down.
 */
export function parseOwnServiceUuids(body: unknown): string[] {
  if (!isRecord(body)) return [];
  const context = member(body, 'connectivity-context') ?? body;
  if (!isRecord(context)) return [];
  const uuids: string[] = [];
  for (const entry of asArray(member(context, 'connectivity-service'))) {
    if (!isRecord(entry) || typeof entry.uuid !== 'string') continue;
    const names = asArray(entry.name).filter(isRecord);
    // The name must repeat the uuid: a copied or hand-made entry that merely borrows the label is not ours.
    if (names.some((n) => n['value-name'] === NAME_RESERVATION && n.value === entry.uuid)) uuids.push(entry.uuid);
  }
  return uuids;
}

/**
 * operational-state ENABLED ("partially or fully operable", tapi-common) means light end to end. A DISABLED
 * service that the controller already backs with connections is half-built: PARTIAL. Without connections it is DOWN.
 */
export function toLightpathStatus(
  id: string,
  view: ServiceView,
  includeLinkHoldsOurIds: boolean,
): LightpathStatus {
  let state: LightpathOperState;
  if (view.operationalState === 'ENABLED') state = 'UP';
  else state = view.connectionCount > 0 ? 'PARTIAL' : 'DOWN';
  // The service-level view names no hops: which ones carry light would take reading each connection's route.
  // So hops are reported only when the whole service is up, and then they are the route we asked for. The
  // include-link fallback (a controller that drops our name entries) holds the controller's link uuids, which
  // are our link ids only when no link id mapping is configured.
  const fallback = includeLinkHoldsOurIds ? view.includeLink : undefined;
  const configuredLinkIds = state === 'UP' ? (view.route ?? fallback ?? []) : [];
  return { id, state, configuredLinkIds };
}

/** Differences between a service found on the controller and the spec, in words; empty when it matches. */
export function differencesFrom(view: ServiceView, spec: LightpathSpec): string[] {
  const differences: string[] = [];
  const wanted = [spec.sourceEndpointId, spec.destinationEndpointId].sort();
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
