/**
 * Usage events, the pure parts: meters and units, the deterministic event id, hour windows, distance
 * classes, and the validation of an ingested CloudEvent. Imports nothing from Nest or TypeORM.
 */
import { DISTANCE_CLASSES, DistanceClass, STORAGE_DESIGNS, isOneOf } from '../planning/domain';
import { REFERENCE_DEFAULTS } from '../planning/reference';
import { DecimalError, toScaled } from './decimal';
import { BILLED_METERS, SHADOW_METERS } from './rating';

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

/** Namespaces the service's own meters live in; an external meter must use another one. */
const RESERVED_NAMESPACES = ['lightpath', 'mount', 'storage', 'gpu', 'network', 'energy', 'carbon'];
const EXTERNAL_METER = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

export function isKnownMeter(type: string): boolean {
  return isOneOf(BILLED_METERS, type) || isOneOf(SHADOW_METERS, type);
}

/** Known meters, or a dotted lower-case name outside the reserved namespaces (e.g. `nfs.bytes_read`). */
export function meterProblem(type: string): string | null {
  if (isKnownMeter(type)) return null;
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
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Checks one ingested event; `tenantExists` answers whether its subject is a tenant. Returns the row to
 * insert, or the rejection naming the field (`events[3].data.quantity`) and the fix.
 */
export function validateUsageEvent(input: UsageEventInputShape, index: number, tenantExists: (id: string) => boolean): UsageRow | Rejection {
  const reject = (field: string, reason: string): Rejection => ({ index, field: `events[${index}].${field}`, reason });
  if (input.specversion !== '1.0') return reject('specversion', 'must be "1.0" (CloudEvents 1.0)');
  if (typeof input.id !== 'string' || input.id.trim() === '') return reject('id', 'must be a non-empty string, unique within its source');
  if (typeof input.source !== 'string' || input.source.trim() === '') return reject('source', 'must be a non-empty URI-reference, e.g. urn:example:nfs-agent');
  if (input.source === METERING_SOURCE) return reject('source', `${METERING_SOURCE} is the service's own source; use your own`);
  if (typeof input.type !== 'string') return reject('type', 'must be the meter name, e.g. gpu.node_seconds');
  const meter = meterProblem(input.type);
  if (meter) return reject('type', meter);
  if (typeof input.time !== 'string' || !RFC3339.test(input.time) || Number.isNaN(Date.parse(input.time))) {
    return reject('time', 'must be an RFC 3339 date-time with a zone, e.g. 2026-11-21T09:00:00Z');
  }
  const time = new Date(input.time);
  if (time.getTime() % HOUR_MS !== 0) return reject('time', 'must be the start of an hour window (minutes, seconds and fractions zero)');
  if (typeof input.subject !== 'string' || !UUID.test(input.subject) || !tenantExists(input.subject.toLowerCase())) {
    return reject('subject', 'must be the id of an existing tenant');
  }
  const revision = input.revision ?? 1;
  if (typeof revision !== 'number' || !Number.isInteger(revision) || revision < 1) return reject('revision', 'must be a positive integer (1 for a first report)');
  const data = input.data;
  if (!data || typeof data !== 'object' || Array.isArray(data)) return reject('data', 'must be an object with at least quantity');
  const d = data as Record<string, unknown>;
  if (typeof d.quantity !== 'string' && typeof d.quantity !== 'number') return reject('data.quantity', 'must be a non-negative decimal, as text (e.g. "3600.5")');
  let quantity: string;
  try {
    const text = String(d.quantity).trim();
    if (toScaled(text, 9) < 0n) return reject('data.quantity', 'must not be negative');
    if (!/^\d+(\.\d+)?$/.test(text)) return reject('data.quantity', 'must be plain decimal text without sign or exponent, e.g. "3600.5"');
    quantity = text;
  } catch (error) {
    if (error instanceof DecimalError) return reject('data.quantity', `must be a non-negative decimal: ${error.message}`);
    throw error;
  }
  let rateGbps: number | null = null;
  let distanceClass: string | null = null;
  let design: string | null = null;
  if (d.rateGbps !== undefined) {
    if (typeof d.rateGbps !== 'number' || !Number.isInteger(d.rateGbps) || d.rateGbps <= 0) return reject('data.rateGbps', 'must be a positive whole number of Gbps');
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
  if (input.type === 'lightpath.wavelength_seconds' && (rateGbps === null || distanceClass === null)) {
    return reject(rateGbps === null ? 'data.rateGbps' : 'data.distanceClass', 'is required on lightpath.wavelength_seconds (it selects the price)');
  }
  if (input.type === 'mount.seconds' && design === null) return reject('data.design', 'is required on mount.seconds (it selects the price)');
  const appliesTo = typeof d.appliesTo === 'string' ? d.appliesTo : null;
  if (isOneOf(SHADOW_METERS, input.type) && appliesTo === null) return reject('data.appliesTo', 'is required on energy.kwh and carbon.kg: the billed meter the figure belongs beside');
  const resourceId = typeof d.resourceId === 'string' && d.resourceId !== '' ? d.resourceId : `${input.source}/${input.id}`;
  return {
    source: input.source,
    id: input.id,
    type: input.type,
    tenantId: input.subject.toLowerCase(),
    time,
    data: { ...d, quantity, unit: typeof d.unit === 'string' ? d.unit : (METER_UNITS[input.type] ?? 'unit') },
    resourceId,
    revision,
    quantity,
    rateGbps,
    distanceClass,
    design,
    appliesTo,
  };
}

export const isRejection = (value: UsageRow | Rejection): value is Rejection => 'reason' in value;
