/**
 * A stand-in for yanglint where it is not installed: a hand-written check of the requests a client sends to
 * create and delete a point-to-point connectivity-service, written from the TAPI 2.1.3 YANG (tapi-common
 * 2020-04-23, tapi-connectivity and tapi-photonic-media 2020-06-16, tapi-path-computation 2020-04-23).
 *
 * It knows only the members such a request uses (end points with their service-interface-point, layer,
 * direction, role, capacity, names and OTSi / OTSiA specs; the service's layer, type, direction, capacity,
 * names, include/exclude constraints and administrative state), and refuses any other member, so it is
 * stricter than the models about what it does not know and as strict about what it does: module-qualified
 * identities and augments, enumeration values, uint64 as strings (RFC 7951 §6.1), the OTSiA spec only on the
 * data tree's end point (2.1.3 augments the create RPC's end point with the OTSi spec only), no state leaves in
 * a create, and service-interface-points that exist in the context. Answers are not checked here.
 */
import { contextBody, indexContext } from './controller-context';
import type { MessageKind, Verdict } from './yanglint';

const ENUMS = {
  layer: ['ODU', 'ETH', 'DSR', 'PHOTONIC_MEDIA'],
  serviceType: [
    'POINT_TO_POINT_CONNECTIVITY',
    'POINT_TO_MULTIPOINT_CONNECTIVITY',
    'MULTIPOINT_CONNECTIVITY',
    'ROOTED_MULTIPOINT_CONNECTIVITY',
  ],
  forwarding: ['BIDIRECTIONAL', 'UNIDIRECTIONAL', 'UNDEFINED_OR_UNKNOWN'],
  portDirection: ['BIDIRECTIONAL', 'INPUT', 'OUTPUT', 'UNIDENTIFIED_OR_UNKNOWN'],
  portRole: ['SYMMETRIC', 'ROOT', 'LEAF', 'TRUNK', 'UNKNOWN'],
  adminState: ['LOCKED', 'UNLOCKED'],
  capacityUnit: ['TB', 'TBPS', 'GB', 'GBPS', 'MB', 'MBPS', 'KB', 'KBPS', 'GHz', 'MHz'],
  gridType: ['DWDM', 'CWDM', 'FLEX', 'GRIDLESS', 'UNSPECIFIED'],
  granularity: ['G_100GHZ', 'G_50GHZ', 'G_25GHZ', 'G_12_5GHZ', 'G_6_25GHZ', 'G_3_125GHZ', 'UNCONSTRAINED'],
};

const PHOTONIC_QUALIFIERS = [
  'OTSi',
  'OTSiA',
  'OTSiG',
  'NMC',
  'NMCA',
  'SMC',
  'SMCA',
  'OCH',
  'OMS',
  'OTS',
  'OTSiMC',
  'OTSiMCA',
  'MC',
  'MCA',
].map((q) => `tapi-photonic-media:PHOTONIC_LAYER_QUALIFIER_${q}`);

class Refusal extends Error {}

type Where = 'data' | 'rpc';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function refuse(path: string, why: string): never {
  throw new Refusal(`${path}: ${why}`);
}

function object(path: string, value: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (!isRecord(value)) refuse(path, 'expected a JSON object');
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) refuse(`${path}/${key}`, 'unknown member');
  }
  return value;
}

function string(path: string, value: unknown): string {
  if (typeof value !== 'string') refuse(path, `expected a string, got ${JSON.stringify(value)}`);
  return value;
}

function oneOf(path: string, value: unknown, values: readonly string[]): void {
  if (!values.includes(string(path, value))) refuse(path, `${JSON.stringify(value)} is not one of ${values.join(', ')}`);
}

function uint64(path: string, value: unknown): void {
  // RFC 7951 §6.1: 64-bit numbers are JSON strings, so that no parser rounds them.
  if (typeof value !== 'string' || !/^(0|[1-9]\d*)$/.test(value) || BigInt(value) > 18446744073709551615n) {
    refuse(path, `expected a uint64 as a JSON string of digits, got ${JSON.stringify(value)}`);
  }
}

function array(path: string, value: unknown): unknown[] {
  if (!Array.isArray(value)) refuse(path, 'expected a JSON array');
  return value;
}

function names(path: string, value: unknown): void {
  array(path, value).forEach((entry, i) => {
    const n = object(`${path}[${i}]`, entry, ['value-name', 'value']);
    if (n['value-name'] !== undefined) string(`${path}[${i}]/value-name`, n['value-name']);
    string(`${path}[${i}]/value`, n.value);
  });
}

function capacity(path: string, value: unknown): void {
  const c = object(path, value, ['total-size']);
  if (c['total-size'] === undefined) return;
  const size = object(`${path}/total-size`, c['total-size'], ['value', 'unit']);
  if (size.value !== undefined) uint64(`${path}/total-size/value`, size.value);
  if (size.unit !== undefined) oneOf(`${path}/total-size/unit`, size.unit, ENUMS.capacityUnit);
}

function otsiConfig(path: string, value: unknown, keyed: boolean): void {
  // otsi-termination-config-pac uses local-class: local-id (the key of OTSiA's list) and name.
  const config = object(path, value, ['local-id', 'name', 'central-frequency']);
  if (keyed) string(`${path}/local-id`, config['local-id']);
  if (config.name !== undefined) names(`${path}/name`, config.name);
  if (config['central-frequency'] === undefined) return;
  const cf = object(`${path}/central-frequency`, config['central-frequency'], ['central-frequency', 'frequency-constraint']);
  if (cf['central-frequency'] !== undefined) uint64(`${path}/central-frequency/central-frequency`, cf['central-frequency']);
  if (cf['frequency-constraint'] !== undefined) {
    const fc = object(`${path}/central-frequency/frequency-constraint`, cf['frequency-constraint'], [
      'grid-type',
      'adjustment-granularity',
    ]);
    if (fc['grid-type'] !== undefined) oneOf(`${path}/central-frequency/frequency-constraint/grid-type`, fc['grid-type'], ENUMS.gridType);
    if (fc['adjustment-granularity'] !== undefined) {
      oneOf(`${path}/central-frequency/frequency-constraint/adjustment-granularity`, fc['adjustment-granularity'], ENUMS.granularity);
    }
  }
}

function qualifier(path: string, value: unknown): void {
  const v = string(path, value);
  const [module, name] = v.includes(':') ? v.split(':', 2) : [undefined, v];
  // RFC 7951 §6.8: an identityref names its identity's module unless it is the leaf's own (tapi-connectivity has none).
  if (module === undefined) refuse(path, `identity ${v} needs its module prefix (e.g. tapi-photonic-media:${v})`);
  if (module === 'tapi-photonic-media' && PHOTONIC_QUALIFIERS.includes(v)) return;
  if (module === 'tapi-dsr' && /^DIGITAL_SIGNAL_TYPE_\w+$/.test(name)) return;
  if (module === 'tapi-odu' && /^ODU_TYPE_\w+$/.test(name)) return;
  if (module === 'tapi-common' && name === 'LAYER_PROTOCOL_QUALIFIER_UNSPECIFIED') return;
  refuse(path, `${v} is not a layer-protocol-qualifier identity of the TAPI 2.1.3 modules`);
}

function endPoint(path: string, value: unknown, where: Where, sips: ReadonlySet<string>): void {
  const otsi = 'tapi-photonic-media:otsi-connectivity-service-end-point-spec';
  const otsia = 'tapi-photonic-media:otsia-connectivity-service-end-point-spec';
  const allowed = [
    'local-id',
    'name',
    'layer-protocol-name',
    'layer-protocol-qualifier',
    'service-interface-point',
    'capacity',
    'direction',
    'role',
    'administrative-state',
    otsi,
    // 2.1.3 augments the OTSiA spec onto the data tree's end point only.
    ...(where === 'data' ? [otsia] : []),
  ];
  const ep = object(path, value, allowed);
  string(`${path}/local-id`, ep['local-id']);
  if (ep.name !== undefined) names(`${path}/name`, ep.name);
  if (ep['layer-protocol-name'] !== undefined) oneOf(`${path}/layer-protocol-name`, ep['layer-protocol-name'], ENUMS.layer);
  if (ep['layer-protocol-qualifier'] !== undefined) qualifier(`${path}/layer-protocol-qualifier`, ep['layer-protocol-qualifier']);
  if (ep['service-interface-point'] !== undefined) {
    const sip = object(`${path}/service-interface-point`, ep['service-interface-point'], ['service-interface-point-uuid']);
    const uuid = string(`${path}/service-interface-point/service-interface-point-uuid`, sip['service-interface-point-uuid']);
    if (!sips.has(uuid))
      refuse(`${path}/service-interface-point/service-interface-point-uuid`, `leafref: no service-interface-point ${uuid} in the context`);
  }
  if (ep.capacity !== undefined) capacity(`${path}/capacity`, ep.capacity);
  if (ep.direction !== undefined) oneOf(`${path}/direction`, ep.direction, ENUMS.portDirection);
  if (ep.role !== undefined) oneOf(`${path}/role`, ep.role, ENUMS.portRole);
  if (ep['administrative-state'] !== undefined) oneOf(`${path}/administrative-state`, ep['administrative-state'], ENUMS.adminState);
  if (ep[otsi] !== undefined) {
    const spec = object(`${path}/${otsi}`, ep[otsi], ['otsi-config']);
    if (spec['otsi-config'] !== undefined) otsiConfig(`${path}/${otsi}/otsi-config`, spec['otsi-config'], false);
  }
  if (ep[otsia] !== undefined) {
    const spec = object(`${path}/${otsia}`, ep[otsia], ['otsi-config', 'number-of-otsi']);
    if (spec['number-of-otsi'] !== undefined) uint64(`${path}/${otsia}/number-of-otsi`, spec['number-of-otsi']);
    if (spec['otsi-config'] !== undefined) {
      array(`${path}/${otsia}/otsi-config`, spec['otsi-config']).forEach((c, i) =>
        otsiConfig(`${path}/${otsia}/otsi-config[${i}]`, c, true),
      );
    }
  }
}

const UUID_LISTS = [
  'include-link',
  'exclude-link',
  'include-node',
  'exclude-node',
  'include-topology',
  'avoid-topology',
  'include-path',
  'exclude-path',
];

function uuidLists(path: string, object: Record<string, unknown>): void {
  for (const key of UUID_LISTS) {
    if (object[key] !== undefined) array(`${path}/${key}`, object[key]).forEach((u, i) => string(`${path}/${key}[${i}]`, u));
  }
}

function endPoints(path: string, value: unknown, where: Where, sips: ReadonlySet<string>): void {
  const list = array(path, value);
  if (list.length < 2) refuse(path, 'at least two end points (min-elements 2)');
  list.forEach((ep, i) => endPoint(`${path}[${i}]`, ep, where, sips));
}

function constraints(path: string, object: Record<string, unknown>): void {
  if (object['service-layer'] !== undefined) oneOf(`${path}/service-layer`, object['service-layer'], ENUMS.layer);
  if (object['service-type'] !== undefined) oneOf(`${path}/service-type`, object['service-type'], ENUMS.serviceType);
  if (object['service-level'] !== undefined) string(`${path}/service-level`, object['service-level']);
  if (object['connectivity-direction'] !== undefined)
    oneOf(`${path}/connectivity-direction`, object['connectivity-direction'], ENUMS.forwarding);
  if (object['requested-capacity'] !== undefined) capacity(`${path}/requested-capacity`, object['requested-capacity']);
}

const CONSTRAINT_MEMBERS = ['service-layer', 'service-type', 'service-level', 'connectivity-direction', 'requested-capacity'];

function createBody(message: unknown, sips: ReadonlySet<string>): void {
  const top = object('', message, ['tapi-connectivity:connectivity-service']);
  const services = array('/tapi-connectivity:connectivity-service', top['tapi-connectivity:connectivity-service']);
  services.forEach((entry, i) => {
    const path = `/tapi-connectivity:connectivity-service[${i}]`;
    // State leaves (operational-state, lifecycle-state, connection, …) are not configuration: not in a create.
    const s = object(path, entry, ['uuid', 'name', 'end-point', 'administrative-state', ...CONSTRAINT_MEMBERS, ...UUID_LISTS]);
    string(`${path}/uuid`, s.uuid);
    if (s.name !== undefined) names(`${path}/name`, s.name);
    if (s['administrative-state'] !== undefined) oneOf(`${path}/administrative-state`, s['administrative-state'], ENUMS.adminState);
    constraints(path, s);
    uuidLists(path, s);
    endPoints(`${path}/end-point`, s['end-point'], 'data', sips);
  });
}

function createInput(message: unknown, sips: ReadonlySet<string>): void {
  const top = object('', message, ['tapi-connectivity:input']);
  const path = '/tapi-connectivity:input';
  const input = object(path, top['tapi-connectivity:input'], ['end-point', 'connectivity-constraint', 'topology-constraint', 'state']);
  endPoints(`${path}/end-point`, input['end-point'], 'rpc', sips);
  if (input['connectivity-constraint'] !== undefined) {
    constraints(
      `${path}/connectivity-constraint`,
      object(`${path}/connectivity-constraint`, input['connectivity-constraint'], CONSTRAINT_MEMBERS),
    );
  }
  if (input['topology-constraint'] !== undefined) {
    uuidLists(`${path}/topology-constraint`, object(`${path}/topology-constraint`, input['topology-constraint'], UUID_LISTS));
  }
  if (input.state !== undefined) string(`${path}/state`, input.state);
}

function deleteInput(message: unknown): void {
  const top = object('', message, ['tapi-connectivity:input']);
  const input = object('/tapi-connectivity:input', top['tapi-connectivity:input'], ['service-id-or-name']);
  string('/tapi-connectivity:input/service-id-or-name', input['service-id-or-name']);
}

export class StructuralValidator {
  /** Checks a create or delete request; other kinds of message are not checked here (ok, said so). */
  validate(kind: MessageKind, message: unknown, context: Record<string, unknown>): Verdict {
    const sips = new Set(indexContext({ 'tapi-common:context': contextBody(context) }).sips.keys());
    try {
      if (kind === 'create-body') createBody(message, sips);
      else if (kind === 'create-input') createInput(message, sips);
      else if (kind === 'delete-input') deleteInput(message);
      else return { ok: true, message: `${kind}: not checked by the structural check` };
      return { ok: true, message: '' };
    } catch (error) {
      if (error instanceof Refusal) return { ok: false, message: error.message };
      throw error;
    }
  }
}
