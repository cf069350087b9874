/**
 * Usage events, the pure parts: meters and units, the deterministic event id, hour windows, distance
 * classes, and the validation of an ingested CloudEvent. Imports nothing from Nest or TypeORM.
 */
import { parseInstant } from '../core/time';
import { DISTANCE_CLASSES, DistanceClass, STORAGE_DESIGNS, isOneOf } from '../vocabulary/domain';
import { REFERENCE_DEFAULTS } from '../vocabulary/reference';
import { BILLED_METERS, SHADOW_METERS } from './rating';
import { jsonBytes, jsonProblem, textProblem } from './storable';
import { isUuid } from '../core/ids';

/** The source of every event the service derives from its own records. */
export const METERING_SOURCE = 'urn:apn:orchestrator:metering';

export const HOUR_MS = 3_600_000;

export const METER_UNITS: Readonly<Record<string, string>> = {
  'lightpath.wavelength_seconds': 'second',
  'lightpath.setup': 'count',
  'mount.seconds': 'second',
  'storage.replica_gb_seconds': 'GB-second',
  'storage.cache_gb_seconds': 'GB-second',
  'gpu.node_seconds': 'second',
  'network.internet_egress_bytes': 'byte',
  'energy.kwh': 'kWh',
  'carbon.kg': 'kg',
};

/**
 * The meters the service derives from its own records. An external event may not report one of them for a
 * resource the service meters itself (a reservation, mount or GPU allocation): it would be billed twice.
 */
export const SERVICE_METERS: readonly string[] = Object.keys(METER_UNITS).filter((meter) => meter !== 'network.internet_egress_bytes');

/**
 * Bounds of an ingested event, each chosen so that the event is stored whole by PostgreSQL: the primary key
 * (source, id) and the series index (type, resource, time) stay under the 2,704-byte B-tree entry limit
 * even at three UTF-8 bytes per character (600 + 1,500 bytes; a resource defaults to `source/id`, 701
 * characters); a quantity fits the rating's nano-units exactly; a revision fits the integer column.
 */
export const USAGE_BOUNDS = {
  eventsPerCall: 5000,
  idLength: 200,
  sourceLength: 500,
  typeLength: 100,
  resourceIdLength: 200,
  dataBytes: 16 * 1024,
  dataDepth: 8,
  quantityIntegerDigits: 18,
  quantityFractionDigits: 9,
  maxRevision: 2_147_483_647,
  maxRateGbps: 1_000_000,
} as const;

/** Namespaces the service's own meters live in; an external meter must use another one. */
const RESERVED_NAMESPACES = ['lightpath', 'mount', 'storage', 'gpu', 'network', 'energy', 'carbon'];
const EXTERNAL_METER = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

export function isKnownMeter(type: string): boolean {
  return isOneOf(BILLED_METERS, type) || isOneOf(SHADOW_METERS, type);
}

/** Known meters, or a dotted lower-case name outside the reserved namespaces (e.g. `nfs.bytes_read`). */
export function meterProblem(type: string): string | null {
  if (isKnownMeter(type)) return null;
  if (type.length > USAGE_BOUNDS.typeLength)
    return `is ${type.length} characters long; a meter name has at most ${USAGE_BOUNDS.typeLength}`;
  if (!EXTERNAL_METER.test(type)) {
    return `must be a known meter (${[...BILLED_METERS, ...SHADOW_METERS].join(', ')}) or a namespaced external meter such as nfs.bytes_read`;
  }
  const namespace = type.split('.')[0];
  if (RESERVED_NAMESPACES.includes(namespace)) {
    return `${type} is not a known meter, and the namespace ${namespace}. is reserved for the service's meters; use one of them or another namespace`;
  }
  return null;
}

/** `<meter>:<resourceId>:<windowStartIso>:r<revision>`: the same usage always gets the same id. */
export function usageEventId(meter: string, resourceId: string, windowStart: Date, revision: number): string {
  return `${meter}:${resourceId}:${windowStart.toISOString()}:r${revision}`;
}

export function distanceClassOf(km: number): DistanceClass {
  if (km <= REFERENCE_DEFAULTS['network.metroMaxKm'].value) return 'METRO';
  if (km <= REFERENCE_DEFAULTS['network.regionalMaxKm'].value) return 'REGIONAL';
  return 'LONG_HAUL';
}

export const floorHour = (ms: number): number => Math.floor(ms / HOUR_MS) * HOUR_MS;

/** The hour windows [startMs, endMs) touches, each with the milliseconds of overlap. */
export function hourSlices(startMs: number, endMs: number): Array<{ windowStart: number; ms: number }> {
  const slices: Array<{ windowStart: number; ms: number }> = [];
  for (let w = floorHour(startMs); w < endMs; w += HOUR_MS) {
    const ms = Math.min(endMs, w + HOUR_MS) - Math.max(startMs, w);
    if (ms > 0) slices.push({ windowStart: w, ms });
  }
  return slices;
}

/** Milliseconds as decimal seconds, exact. */
export const msToSeconds = (ms: number): string => formatMillis(BigInt(Math.round(ms)));

function formatMillis(ms: bigint): string {
  const whole = ms / 1000n;
  const frac = (ms % 1000n).toString().padStart(3, '0').replace(/0+$/, '');
  return frac ? `${whole}.${frac}` : `${whole}`;
}

/** A usage event as recorded: the columns of usage_events. */
export interface UsageRow {
  source: string;
  id: string;
  type: string;
  tenantId: string;
  time: Date;
  data: Record<string, unknown>;
  resourceId: string;
  revision: number;
  quantity: string;
  rateGbps: number | null;
  distanceClass: string | null;
  design: string | null;
  appliesTo: string | null;
}

export interface UsageEventInputShape {
  specversion?: unknown;
  id?: unknown;
  source?: unknown;
  type?: unknown;
  subject?: unknown;
  time?: unknown;
  data?: unknown;
  revision?: unknown;
}

export interface Rejection {
  index: number;
  field: string;
  reason: string;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Why `text` is not a quantity the service stores and rates exactly, or null. */
export function quantityProblem(text: string): string | null {
  if (text.startsWith('-')) return 'must not be negative';
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!match) return 'must be plain decimal text without sign or exponent, e.g. "3600.5"';
  const integerDigits = match[1].replace(/^0+(?=\d)/, '').length;
  if (integerDigits > USAGE_BOUNDS.quantityIntegerDigits)
    return `has ${integerDigits} digits before the decimal point; at most ${USAGE_BOUNDS.quantityIntegerDigits}`;
  const fractionDigits = (match[2] ?? '').length;
  if (fractionDigits > USAGE_BOUNDS.quantityFractionDigits) {
    return `has ${fractionDigits} decimal places; at most ${USAGE_BOUNDS.quantityFractionDigits} (quantities are rated to the nano-unit)`;
  }
  return null;
}

/** The attributes of an event's data that select its price or place it beside a billed meter. */
interface PriceAttributes {
  rateGbps: number | null;
  distanceClass: string | null;
  design: string | null;
  appliesTo: string | null;
}

function priceAttributesOf(
  type: string,
  d: Record<string, unknown>,
  reject: (field: string, reason: string) => Rejection,
): PriceAttributes | Rejection {
  let rateGbps: number | null = null;
  let distanceClass: string | null = null;
  let design: string | null = null;
  if (d.rateGbps !== undefined) {
    if (typeof d.rateGbps !== 'number' || !Number.isInteger(d.rateGbps) || d.rateGbps <= 0 || d.rateGbps > USAGE_BOUNDS.maxRateGbps) {
      return reject('data.rateGbps', `must be a positive whole number of Gbps, at most ${USAGE_BOUNDS.maxRateGbps}`);
    }
    rateGbps = d.rateGbps;
  }
  if (d.distanceClass !== undefined) {
    if (!isOneOf(DISTANCE_CLASSES, d.distanceClass)) return reject('data.distanceClass', `must be one of ${DISTANCE_CLASSES.join(', ')}`);
    distanceClass = d.distanceClass;
  }
  if (d.design !== undefined) {
    if (!isOneOf(STORAGE_DESIGNS, d.design)) return reject('data.design', `must be one of ${STORAGE_DESIGNS.join(', ')}`);
    design = d.design;
  }
  if (type === 'lightpath.wavelength_seconds' && (rateGbps === null || distanceClass === null)) {
    return reject(
      rateGbps === null ? 'data.rateGbps' : 'data.distanceClass',
      'is required on lightpath.wavelength_seconds (it selects the price)',
    );
  }
  if (type === 'mount.seconds' && design === null) return reject('data.design', 'is required on mount.seconds (it selects the price)');
  let appliesTo: string | null = null;
  if (d.appliesTo !== undefined && d.appliesTo !== null) {
    if (typeof d.appliesTo !== 'string' || meterProblem(d.appliesTo)) {
      return reject('data.appliesTo', 'must be the name of the meter the figure belongs beside, e.g. gpu.node_seconds');
    }
    appliesTo = d.appliesTo;
  }
  if (isOneOf(SHADOW_METERS, type) && appliesTo === null)
    return reject('data.appliesTo', 'is required on energy.kwh and carbon.kg: the billed meter the figure belongs beside');
  return { rateGbps, distanceClass, design, appliesTo };
}

/**
 * Checks one ingested event, in memory; `tenantExists` answers whether its subject is a tenant. Returns the
 * row to insert, or the rejection naming the field (`events[3].data.quantity`) and the fix. A row that
 * passes is stored whole by PostgreSQL: every bound of USAGE_BOUNDS is checked here.
 */
export function validateUsageEvent(
  input: UsageEventInputShape,
  index: number,
  tenantExists: (id: string) => boolean,
): UsageRow | Rejection {
  const reject = (field: string, reason: string): Rejection => ({ index, field: `events[${index}].${field}`, reason });
  if (input.specversion !== '1.0') return reject('specversion', 'must be "1.0" (CloudEvents 1.0)');
  if (typeof input.id !== 'string' || input.id.trim() === '') return reject('id', 'must be a non-empty string, unique within its source');
  const idProblem = textProblem(input.id, USAGE_BOUNDS.idLength);
  if (idProblem) return reject('id', idProblem);
  if (typeof input.source !== 'string' || input.source.trim() === '')
    return reject('source', 'must be a non-empty URI-reference, e.g. urn:example:nfs-agent');
  const sourceProblem = textProblem(input.source, USAGE_BOUNDS.sourceLength);
  if (sourceProblem) return reject('source', sourceProblem);
  if (input.source === METERING_SOURCE) return reject('source', `${METERING_SOURCE} is the service's own source; use your own`);
  if (typeof input.type !== 'string') return reject('type', 'must be the meter name, e.g. gpu.node_seconds');
  const meter = meterProblem(input.type);
  if (meter) return reject('type', meter);
  if (typeof input.time !== 'string' || input.time.length > 40 || !RFC3339.test(input.time)) {
    return reject('time', 'must be an RFC 3339 date-time with a zone, e.g. 2026-11-21T09:00:00Z');
  }
  const instant = parseInstant(input.time);
  if (!instant.ok) return reject('time', instant.reason);
  const time = instant.date;
  if (time.getTime() % HOUR_MS !== 0) return reject('time', 'must be the start of an hour window (minutes, seconds and fractions zero)');
  if (typeof input.subject !== 'string' || !isUuid(input.subject) || !tenantExists(input.subject.toLowerCase())) {
    return reject('subject', 'must be the id of an existing tenant');
  }
  const revision = input.revision ?? 1;
  if (typeof revision !== 'number' || !Number.isInteger(revision) || revision < 1 || revision > USAGE_BOUNDS.maxRevision) {
    return reject('revision', `must be a whole number from 1 (a first report) to ${USAGE_BOUNDS.maxRevision}`);
  }
  const data = input.data;
  if (!data || typeof data !== 'object' || Array.isArray(data)) return reject('data', 'must be an object with at least quantity');
  const stored = jsonProblem(data, USAGE_BOUNDS.dataDepth);
  if (stored) return reject(`data${stored.path}`, stored.reason);
  const d = data as Record<string, unknown>;
  if (typeof d.quantity !== 'string' && typeof d.quantity !== 'number')
    return reject('data.quantity', 'must be a non-negative decimal, as text (e.g. "3600.5")');
  const quantity = String(d.quantity).trim();
  const quantityIssue = quantityProblem(quantity);
  if (quantityIssue) return reject('data.quantity', quantityIssue);
  const attributes = priceAttributesOf(input.type, d, reject);
  if ('reason' in attributes) return attributes;
  const { rateGbps, distanceClass, design, appliesTo } = attributes;
  let resourceId = `${input.source}/${input.id}`;
  if (d.resourceId !== undefined && d.resourceId !== null && d.resourceId !== '') {
    if (typeof d.resourceId !== 'string') return reject('data.resourceId', 'must be text: the id of the metered thing');
    const resourceProblem = textProblem(d.resourceId, USAGE_BOUNDS.resourceIdLength);
    if (resourceProblem) return reject('data.resourceId', resourceProblem);
    resourceId = d.resourceId;
  }
  const storedData = { ...d, quantity, unit: typeof d.unit === 'string' ? d.unit : (METER_UNITS[input.type] ?? 'unit') };
  const bytes = jsonBytes(storedData);
  if (bytes > USAGE_BOUNDS.dataBytes) return reject('data', `is ${bytes} bytes as JSON; at most ${USAGE_BOUNDS.dataBytes} (16 KiB)`);
  return {
    source: input.source,
    id: input.id,
    type: input.type,
    tenantId: input.subject.toLowerCase(),
    time,
    data: storedData,
    resourceId,
    revision,
    quantity,
    rateGbps,
    distanceClass,
    design,
    appliesTo,
  };
}

/**
 * The id of the service-metered resource an ingested row reports one of the service's own meters for, when
 * its resource id could name one (a UUID); the store then refuses it if the resource exists.
 */
export function claimedServiceResource(row: Pick<UsageRow, 'type' | 'resourceId'>): string | null {
  return SERVICE_METERS.includes(row.type) && isUuid(row.resourceId) ? row.resourceId.toLowerCase() : null;
}

export const isRejection = (value: UsageRow | Rejection): value is Rejection => 'reason' in value;
