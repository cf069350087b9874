/**
 * Rating: usage records in, invoice lines out. A pure function of the records and one rate card.
 *
 * Usage records are CloudEvents-shaped: `type` is the meter (e.g. `lightpath.wavelength_seconds`),
 * `subject` the tenant (invoices rate one tenant's usage summed per meter and price attributes, with no
 * subject, so lines group by meter and attributes), `data.quantity` the amount in the meter's
 * unit, and `data` carries the attributes that select the price (rateGbps and distanceClass for a
 * lightpath, design for a mount). `energy.kwh` and `carbon.kg` are shadow meters: never billed, shown
 * beside the line named by `data.appliesTo` (and the same subject and attributes).
 *
 * Money is exact. Quantities and prices are read as decimals (strings, or numbers through their shortest
 * text) into scaled BigInts; every line's amount is rounded once, half to even, to the micro-dollar; totals
 * are exact sums of the lines' micro-dollars. Records of the same meter, subject and price attributes make
 * one line. Internet egress is priced across its tiers on the invoice's cumulative bytes, one line per tier.
 * Records that cannot be rated (unknown meter, missing attribute, a rate the card does not price, a bad
 * quantity, a duplicate CloudEvents source+id) are returned in `unrated` with the reason, never dropped.
 */
import { DISTANCE_CLASSES, DistanceClass, FieldError, STORAGE_DESIGNS, StorageDesign, isOneOf } from '../vocabulary/domain';
import { NumericKey, REFERENCE_DEFAULTS, ReferenceValues, WAVELENGTH_RATES } from '../vocabulary/reference';
import { DecimalError, DecimalInput, decimalPlaces, divRound, formatScaled, pow10, toScaled } from './decimal';
import { jsonBytes, jsonProblem, textProblem } from './storable';

export const BILLED_METERS = [
  'lightpath.wavelength_seconds',
  'lightpath.setup',
  'mount.seconds',
  'storage.replica_gb_seconds',
  'storage.cache_gb_seconds',
  'gpu.node_seconds',
  'network.internet_egress_bytes',
] as const;
export type BilledMeter = (typeof BILLED_METERS)[number];
export const SHADOW_METERS = ['energy.kwh', 'carbon.kg'] as const;
export type ShadowMeter = (typeof SHADOW_METERS)[number];
export type Meter = BilledMeter | ShadowMeter;

export interface UsageData {
  /** In the meter's unit: seconds, a count, GB-seconds, bytes, kWh or kg. Decimal text or a number. */
  quantity: DecimalInput;
  rateGbps?: number;
  /** A DistanceClass; other text is refused when rated. */
  distanceClass?: string;
  /** A StorageDesign; other text is refused when rated. */
  design?: string;
  /** On energy.kwh and carbon.kg: the billed meter the figure belongs beside. */
  appliesTo?: string;
  [attribute: string]: unknown;
}

/** A CloudEvents 1.0 event whose `type` is the meter. */
export interface UsageRecord {
  specversion: string;
  id: string;
  source: string;
  type: string;
  /** RFC 3339. */
  time: string;
  subject?: string;
  datacontenttype?: string;
  data: UsageData;
}

export interface EgressTierPrice {
  /** Cumulative upper bound in GB (10^9 bytes); null on the last tier. */
  upToGb: DecimalInput | null;
  usdPerGb: DecimalInput;
}

/** Prices in USD, as decimals. A card applies from `effectiveFrom` until a later card takes over. */
export interface RateCard {
  id: string;
  version: number;
  /** RFC 3339. */
  effectiveFrom: string;
  currency: 'USD';
  /** Per wavelength-hour, by line rate in Gbps ("10", "100", "400"). */
  lightpathHourUsd: Readonly<Record<string, DecimalInput>>;
  distanceClassMultiplier: Readonly<Record<DistanceClass, DecimalInput>>;
  /** Per lightpath set up. */
  lightpathSetupUsd: DecimalInput;
  /** Per mount-hour, by storage design. */
  mountHourUsd: Readonly<Record<StorageDesign, DecimalInput>>;
  replicaGbHourUsd: DecimalInput;
  cacheGbHourUsd: DecimalInput;
  /** Per GPU node-hour. */
  gpuNodeHourUsd: DecimalInput;
  internetEgressTiers: readonly EgressTierPrice[];
  /** Where each price comes from, by field name. */
  basis?: Readonly<Record<string, string>>;
}

export interface InvoiceLine {
  meter: string;
  subject: string | null;
  description: string;
  rateGbps?: number;
  distanceClass?: DistanceClass;
  design?: StorageDesign;
  /** 1-based egress tier. */
  tier?: number;
  /** Exact sum of the records' quantities, in the meter's unit. */
  usageQuantity: string;
  usageUnit: string;
  /** In the billing unit, 6 decimals. */
  quantity: string;
  unit: string;
  unitPriceUsd: string;
  amountMicros: bigint;
  amountUsd: string;
  /** Shadow figures: shown, not billed. */
  energyKwh: string;
  /** Of energyKwh, the part computed from measured power, and so what the figure rests on (null without energy). */
  energyMeasuredKwh: string;
  energyBasis: 'measured' | 'rated' | 'mixed' | null;
  carbonKg: string;
  records: number;
}

export interface InvoiceTotals {
  amountMicros: bigint;
  amountUsd: string;
  energyKwh: string;
  carbonKg: string;
}

export interface UnratedRecord {
  id: string;
  type: string;
  reason: string;
}

export interface RatedUsage {
  cardId: string;
  cardVersion: number;
  currency: 'USD';
  lines: InvoiceLine[];
  totals: InvoiceTotals;
  unrated: UnratedRecord[];
}

/** A rate card that cannot be used, or a bad argument: `card.lightpathHourUsd.100`, `at`. */
export class RatingError extends FieldError {}

/** Quantities are kept to the nano-unit, prices to the nano-dollar, amounts to the micro-dollar. */
const QUANTITY_SCALE = 9;
const PRICE_SCALE = 9;
const AMOUNT_SCALE = 6;

interface MeterSpec {
  usageUnit: string;
  unit: string;
  /** Usage units per billing unit (3600 seconds per hour, 10^9 bytes per GB). */
  usagePerUnit: bigint;
  label: string;
}

const METER_SPECS: Record<BilledMeter, MeterSpec> = {
  'lightpath.wavelength_seconds': { usageUnit: 'second', unit: 'wavelength-hour', usagePerUnit: 3600n, label: 'Lightpath' },
  'lightpath.setup': { usageUnit: 'count', unit: 'setup', usagePerUnit: 1n, label: 'Lightpath setup' },
  'mount.seconds': { usageUnit: 'second', unit: 'mount-hour', usagePerUnit: 3600n, label: 'Storage mount' },
  'storage.replica_gb_seconds': { usageUnit: 'GB-second', unit: 'GB-hour', usagePerUnit: 3600n, label: 'Replica capacity' },
  'storage.cache_gb_seconds': { usageUnit: 'GB-second', unit: 'GB-hour', usagePerUnit: 3600n, label: 'Cache capacity' },
  'gpu.node_seconds': { usageUnit: 'second', unit: 'node-hour', usagePerUnit: 3600n, label: 'GPU node' },
  'network.internet_egress_bytes': { usageUnit: 'byte', unit: 'GB', usagePerUnit: 1_000_000_000n, label: 'Internet egress' },
};

/** A price as a scaled integer: value × 10^-scale USD per billing unit. */
interface Price {
  value: bigint;
  scale: number;
}

interface PreparedCard {
  lightpath: Map<string, bigint>;
  multiplier: Record<DistanceClass, bigint>;
  setup: bigint;
  mount: Record<StorageDesign, bigint>;
  replica: bigint;
  cache: bigint;
  gpuNode: bigint;
  tiers: Array<{ upToBytes: bigint | null; nanoPerGb: bigint }>;
}

function cardDecimal(field: string, value: unknown): bigint {
  try {
    const scaled = toScaled(value as DecimalInput, PRICE_SCALE);
    if (scaled < 0n) throw new RatingError(field, 'must not be negative');
    return scaled;
  } catch (error) {
    if (error instanceof DecimalError) throw new RatingError(field, error.message);
    throw error;
  }
}

function recordOf<K extends string>(field: string, keys: readonly K[], source: Readonly<Record<K, DecimalInput>> | undefined) {
  if (!source || typeof source !== 'object') throw new RatingError(field, 'is missing');
  return Object.fromEntries(keys.map((k) => [k, cardDecimal(`${field}.${k}`, source[k])])) as Record<K, bigint>;
}

/** Checks a card and reads its prices; throws RatingError naming the field. */
function prepare(card: RateCard): PreparedCard {
  if (!card || typeof card !== 'object') throw new RatingError('card', 'is missing');
  if (typeof card.id !== 'string' || card.id === '') throw new RatingError('card.id', 'must be a non-empty string');
  if (!Number.isInteger(card.version) || card.version < 1) throw new RatingError('card.version', 'must be a positive integer');
  if (Number.isNaN(Date.parse(card.effectiveFrom))) throw new RatingError('card.effectiveFrom', 'must be an RFC 3339 date-time');
  if (card.currency !== 'USD') throw new RatingError('card.currency', 'only USD is supported');
  const lightpathSource = card.lightpathHourUsd ?? {};
  const lightpath = new Map(
    Object.keys(lightpathSource).map((rate) => {
      if (!(Number(rate) > 0)) throw new RatingError(`card.lightpathHourUsd.${rate}`, 'keys are line rates in Gbps');
      return [String(Number(rate)), cardDecimal(`card.lightpathHourUsd.${rate}`, lightpathSource[rate])] as const;
    }),
  );
  if (!Array.isArray(card.internetEgressTiers) || card.internetEgressTiers.length === 0) {
    throw new RatingError('card.internetEgressTiers', 'must list at least one tier');
  }
  let previous = 0n;
  const tierList: readonly EgressTierPrice[] = card.internetEgressTiers;
  const tiers = tierList.map((tier, i) => {
    const field = `card.internetEgressTiers[${i}]`;
    const last = i === card.internetEgressTiers.length - 1;
    const nanoPerGb = cardDecimal(`${field}.usdPerGb`, tier.usdPerGb);
    if (last !== (tier.upToGb === null)) {
      throw new RatingError(`${field}.upToGb`, last ? 'the last tier must be unbounded (null)' : 'only the last tier is unbounded');
    }
    if (tier.upToGb === null) return { upToBytes: null, nanoPerGb };
    // GB scaled to 10^9 is a byte count.
    const upToBytes = cardDecimal(`${field}.upToGb`, tier.upToGb);
    if (upToBytes <= previous) throw new RatingError(`${field}.upToGb`, 'tier bounds must increase');
    previous = upToBytes;
    return { upToBytes, nanoPerGb };
  });
  return {
    lightpath,
    multiplier: recordOf('card.distanceClassMultiplier', DISTANCE_CLASSES, card.distanceClassMultiplier),
    setup: cardDecimal('card.lightpathSetupUsd', card.lightpathSetupUsd),
    mount: recordOf('card.mountHourUsd', STORAGE_DESIGNS, card.mountHourUsd),
    replica: cardDecimal('card.replicaGbHourUsd', card.replicaGbHourUsd),
    cache: cardDecimal('card.cacheGbHourUsd', card.cacheGbHourUsd),
    gpuNode: cardDecimal('card.gpuNodeHourUsd', card.gpuNodeHourUsd),
    tiers,
  };
}

interface Priced {
  price: Price;
  attributes: Pick<InvoiceLine, 'rateGbps' | 'distanceClass' | 'design'>;
  detail: string;
}

/** The price of one record of a time- or count-based meter, or why it has none. */
function priceOf(meter: Exclude<BilledMeter, 'network.internet_egress_bytes'>, data: UsageData, card: PreparedCard): Priced | string {
  const flat = (value: bigint): Priced => ({ price: { value, scale: PRICE_SCALE }, attributes: {}, detail: '' });
  switch (meter) {
    case 'lightpath.wavelength_seconds': {
      const { rateGbps, distanceClass } = data;
      if (typeof rateGbps !== 'number') return 'data.rateGbps is missing';
      const hourly = card.lightpath.get(String(rateGbps));
      if (hourly === undefined) return `the rate card has no price for ${rateGbps} Gbps wavelengths`;
      if (!isOneOf(DISTANCE_CLASSES, distanceClass)) return `data.distanceClass must be one of ${DISTANCE_CLASSES.join(', ')}`;
      return {
        price: { value: hourly * card.multiplier[distanceClass], scale: 2 * PRICE_SCALE },
        attributes: { rateGbps, distanceClass },
        detail: `${rateGbps}G ${distanceClass} (×${formatScaled(card.multiplier[distanceClass], PRICE_SCALE)})`,
      };
    }
    case 'mount.seconds': {
      if (!isOneOf(STORAGE_DESIGNS, data.design)) return `data.design must be one of ${STORAGE_DESIGNS.join(', ')}`;
      return { ...flat(card.mount[data.design]), attributes: { design: data.design }, detail: data.design };
    }
    case 'lightpath.setup':
      return flat(card.setup);
    case 'storage.replica_gb_seconds':
      return flat(card.replica);
    case 'storage.cache_gb_seconds':
      return flat(card.cache);
    case 'gpu.node_seconds':
      return flat(card.gpuNode);
  }
}

interface LineAccumulator {
  meter: string;
  subject: string | null;
  spec: MeterSpec | null;
  priced: Priced | null;
  tier?: number;
  tierLabel?: string;
  usage: bigint;
  records: number;
  energy: bigint;
  /** Of `energy`, what the service computed from measured power (the rest from rated power). */
  measuredEnergy?: bigint;
  carbon: bigint;
}

const lineKey = (meter: string, subject: string | null, attributes: Priced['attributes']) =>
  [meter, subject ?? '', attributes.rateGbps ?? '', attributes.distanceClass ?? '', attributes.design ?? ''].join('|');

function quantityOf(record: UsageRecord): bigint | string {
  try {
    const quantity = toScaled(record.data.quantity, QUANTITY_SCALE);
    return quantity < 0n ? 'data.quantity must not be negative' : quantity;
  } catch (error) {
    if (error instanceof DecimalError) return `data.quantity: ${error.message}`;
    throw error;
  }
}

function egressAccumulators(bytes: bigint, tiers: PreparedCard['tiers']): LineAccumulator[] {
  const spec = METER_SPECS['network.internet_egress_bytes'];
  const lines: LineAccumulator[] = [];
  let lower = 0n;
  tiers.forEach((tier, i) => {
    const upper = tier.upToBytes;
    const inTier = (upper === null || bytes < upper ? bytes : upper) - lower;
    if (inTier > 0n) {
      const range = `${formatScaled(lower, 9)}-${upper === null ? '' : formatScaled(upper, 9)} GB`;
      lines.push({
        meter: 'network.internet_egress_bytes',
        subject: null,
        spec,
        priced: { price: { value: tier.nanoPerGb, scale: PRICE_SCALE }, attributes: {}, detail: '' },
        tier: i + 1,
        tierLabel: `tier ${i + 1}, ${range}`,
        usage: inTier * pow10(QUANTITY_SCALE),
        records: 0,
        energy: 0n,
        carbon: 0n,
      });
    }
    if (upper !== null) lower = upper;
  });
  return lines;
}

/** Amount in micro-dollars: usage × price ÷ (usage per billing unit), rounded half to even once. */
function amountMicros(line: LineAccumulator): bigint {
  if (!line.spec || !line.priced) return 0n;
  const { price } = line.priced;
  return divRound(line.usage * price.value, line.spec.usagePerUnit * pow10(QUANTITY_SCALE + price.scale - AMOUNT_SCALE));
}

function toLine(acc: LineAccumulator): InvoiceLine {
  const amount = amountMicros(acc);
  const spec = acc.spec;
  const price = acc.priced?.price ?? { value: 0n, scale: 0 };
  const detail = acc.tierLabel ?? acc.priced?.detail ?? '';
  const billingQuantity = spec ? divRound(acc.usage * pow10(AMOUNT_SCALE), spec.usagePerUnit * pow10(QUANTITY_SCALE)) : 0n;
  return {
    meter: acc.meter,
    subject: acc.subject,
    description: spec
      ? `${spec.label}${detail ? ` ${detail}` : ''}${acc.subject ? ` for ${acc.subject}` : ''}`
      : `Energy and carbon reported for ${acc.meter}${acc.subject ? ` of ${acc.subject}` : ''}, with no billed line to sit beside`,
    ...acc.priced?.attributes,
    ...(acc.tier !== undefined ? { tier: acc.tier } : {}),
    usageQuantity: formatScaled(acc.usage, QUANTITY_SCALE),
    usageUnit: spec?.usageUnit ?? '',
    quantity: formatScaled(billingQuantity, AMOUNT_SCALE, AMOUNT_SCALE),
    unit: spec?.unit ?? '',
    unitPriceUsd: formatScaled(price.value, price.scale),
    amountMicros: amount,
    amountUsd: formatScaled(amount, AMOUNT_SCALE, AMOUNT_SCALE),
    energyKwh: formatScaled(acc.energy, QUANTITY_SCALE),
    energyMeasuredKwh: formatScaled(acc.measuredEnergy ?? 0n, QUANTITY_SCALE),
    energyBasis: energyBasisOf(acc.energy, acc.measuredEnergy ?? 0n),
    carbonKg: formatScaled(acc.carbon, QUANTITY_SCALE),
    records: acc.records,
  };
}

function energyBasisOf(energy: bigint, measured: bigint): InvoiceLine['energyBasis'] {
  if (energy === 0n) return null;
  return measured === 0n ? 'rated' : measured >= energy ? 'measured' : 'mixed';
}

/**
 * The part of a shadow energy figure computed from measured power: all of it (data.basis "measured"), the
 * `data.measuredQuantity` of a "mixed" one (never more than the figure), none otherwise.
 */
function measuredPart(data: UsageData, quantity: bigint): bigint {
  if (data.basis === 'measured') return quantity;
  if (data.basis !== 'mixed' || (typeof data.measuredQuantity !== 'string' && typeof data.measuredQuantity !== 'number')) return 0n;
  try {
    const part = toScaled(data.measuredQuantity, QUANTITY_SCALE);
    return part < 0n ? 0n : part > quantity ? quantity : part;
  } catch (error) {
    if (error instanceof DecimalError) return 0n;
    throw error;
  }
}

/** Where one usage record goes: refused (and why), a shadow figure, Internet egress bytes, or a priced billed meter. */
type SortedRecord =
  | { as: 'refused'; reason: string }
  | { as: 'shadow'; quantity: bigint }
  | { as: 'egress'; bytes: bigint }
  | { as: 'billed'; meter: Exclude<BilledMeter, 'network.internet_egress_bytes'>; quantity: bigint; priced: Priced };

/** Sorts one record; `seen` holds the (source, id) pairs counted so far, so a repeated event counts once. */
function sortRecord(record: UsageRecord, id: string, type: string, seen: Set<string>, prepared: PreparedCard): SortedRecord {
  const refuse = (reason: string): SortedRecord => ({ as: 'refused', reason });
  if (!id || !type || !record.data || typeof record.data !== 'object') return refuse('not a usage event: id, type and data are required');
  const identity = `${record.source}\u0000${id}`;
  if (seen.has(identity)) return refuse(`duplicate of an earlier event with source ${record.source} and id ${id}; counted once`);
  seen.add(identity);
  const quantity = quantityOf(record);
  if (typeof quantity === 'string') return refuse(quantity);
  if (isOneOf(SHADOW_METERS, type)) return { as: 'shadow', quantity };
  if (!isOneOf(BILLED_METERS, type)) return refuse(`unknown meter ${type}`);
  if (type === 'network.internet_egress_bytes') {
    if (quantity % pow10(QUANTITY_SCALE) !== 0n) return refuse('data.quantity must be a whole number of bytes');
    return { as: 'egress', bytes: quantity / pow10(QUANTITY_SCALE) };
  }
  if (type === 'lightpath.setup' && quantity % pow10(QUANTITY_SCALE) !== 0n)
    return refuse('data.quantity must be a whole number of setups');
  const priced = priceOf(type, record.data, prepared);
  if (typeof priced === 'string') return refuse(priced);
  return { as: 'billed', meter: type, quantity, priced };
}

/** Rates usage against one card. Pure: the same records and card always give the same lines. */
export function rate(usage: readonly UsageRecord[], card: RateCard): RatedUsage {
  const prepared = prepare(card);
  const lines = new Map<string, LineAccumulator>();
  const unrated: UnratedRecord[] = [];
  const shadows: Array<{ record: UsageRecord; quantity: bigint }> = [];
  const seen = new Set<string>();
  let egressBytes = 0n;
  let egressRecords = 0;

  for (const record of usage) {
    const id = typeof record?.id === 'string' ? record.id : '';
    const type = typeof record?.type === 'string' ? record.type : '';
    const sorted = sortRecord(record, id, type, seen, prepared);
    switch (sorted.as) {
      case 'refused':
        unrated.push({ id, type, reason: sorted.reason });
        break;
      case 'shadow':
        shadows.push({ record, quantity: sorted.quantity });
        break;
      case 'egress':
        egressBytes += sorted.bytes;
        egressRecords += 1;
        break;
      case 'billed': {
        const subject = record.subject ?? null;
        const key = lineKey(sorted.meter, subject, sorted.priced.attributes);
        const line = lines.get(key) ?? {
          meter: sorted.meter,
          subject,
          spec: METER_SPECS[sorted.meter],
          priced: sorted.priced,
          usage: 0n,
          records: 0,
          energy: 0n,
          carbon: 0n,
        };
        line.usage += sorted.quantity;
        line.records += 1;
        lines.set(key, line);
        break;
      }
    }
  }

  const egress = egressAccumulators(egressBytes, prepared.tiers);
  egress.forEach((line, i) => {
    if (i === 0) line.records = egressRecords;
    lines.set(`network.internet_egress_bytes|tier${line.tier}`, line);
  });
  attachShadows(lines, shadows);

  const accumulators = [...lines.values()].sort(compareLines);
  const ordered = accumulators.map(toLine);
  const totalMicros = ordered.reduce((total, line) => total + line.amountMicros, 0n);
  const energy = accumulators.reduce((total, line) => total + line.energy, 0n);
  const carbon = accumulators.reduce((total, line) => total + line.carbon, 0n);
  return {
    cardId: card.id,
    cardVersion: card.version,
    currency: card.currency,
    lines: ordered,
    totals: {
      amountMicros: totalMicros,
      amountUsd: formatScaled(totalMicros, AMOUNT_SCALE, AMOUNT_SCALE),
      energyKwh: formatScaled(energy, QUANTITY_SCALE),
      carbonKg: formatScaled(carbon, QUANTITY_SCALE),
    },
    unrated,
  };
}

/**
 * Puts each shadow figure beside its line: the line of the same meter, subject and attributes; else the
 * only line of that meter and subject (egress: its first tier); else a line of its own with no amount.
 */
function attachShadows(lines: Map<string, LineAccumulator>, shadows: ReadonlyArray<{ record: UsageRecord; quantity: bigint }>): void {
  if (shadows.length === 0) return;
  const byMeterAndSubject = new Map<string, LineAccumulator[]>();
  for (const line of lines.values()) {
    const key = `${line.meter}|${line.subject ?? ''}`;
    byMeterAndSubject.set(key, [...(byMeterAndSubject.get(key) ?? []), line]);
  }
  for (const { record, quantity } of shadows) {
    const appliesTo = typeof record.data.appliesTo === 'string' ? record.data.appliesTo : 'unattributed';
    const subject = appliesTo === 'network.internet_egress_bytes' ? null : (record.subject ?? null);
    const { rateGbps, distanceClass, design } = record.data;
    const attributes = {
      rateGbps: typeof rateGbps === 'number' ? rateGbps : undefined,
      distanceClass: isOneOf(DISTANCE_CLASSES, distanceClass) ? distanceClass : undefined,
      design: isOneOf(STORAGE_DESIGNS, design) ? design : undefined,
    };
    const sameMeter = byMeterAndSubject.get(`${appliesTo}|${subject ?? ''}`) ?? [];
    let line: LineAccumulator | undefined = lines.get(lineKey(appliesTo, subject, attributes));
    if (!line && (sameMeter.length === 1 || appliesTo === 'network.internet_egress_bytes')) line = sameMeter[0];
    if (!line) {
      const key = `shadow|${appliesTo}|${subject ?? ''}`;
      line = lines.get(key) ?? { meter: appliesTo, subject, spec: null, priced: null, usage: 0n, records: 0, energy: 0n, carbon: 0n };
      lines.set(key, line);
    }
    if (record.type === 'energy.kwh') {
      line.energy += quantity;
      line.measuredEnergy = (line.measuredEnergy ?? 0n) + measuredPart(record.data, quantity);
    } else line.carbon += quantity;
    line.records += 1;
  }
}

const METER_ORDER = new Map<string, number>(BILLED_METERS.map((meter, i) => [meter, i]));

const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function compareLines(a: LineAccumulator, b: LineAccumulator): number {
  const order = (line: LineAccumulator) => (line.spec ? (METER_ORDER.get(line.meter) ?? 99) : 100);
  return (
    order(a) - order(b) ||
    compareText(a.subject ?? '', b.subject ?? '') ||
    (a.tier ?? 0) - (b.tier ?? 0) ||
    compareText(lineKey(a.meter, null, a.priced?.attributes ?? {}), lineKey(b.meter, null, b.priced?.attributes ?? {}))
  );
}

/** The price fields of a card, as `createRateCard` takes them. */
export const RATE_CARD_PRICE_FIELDS = [
  'lightpathHourUsd',
  'distanceClassMultiplier',
  'lightpathSetupUsd',
  'mountHourUsd',
  'replicaGbHourUsd',
  'cacheGbHourUsd',
  'gpuNodeHourUsd',
  'internetEgressTiers',
] as const;

/**
 * Bounds of the prices of a new card: every price fits the nano-dollar scale exactly and stays within
 * what any service is sold at, so that no invoice carries a 300-digit amount.
 */
export const RATE_CARD_BOUNDS = {
  maxPriceUsd: 1_000_000,
  maxMultiplier: 1_000,
  maxTierGb: 1_000_000_000_000,
  decimals: PRICE_SCALE,
  maxLineRates: 16,
  maxLineRateGbps: 1_000_000,
  maxTiers: 16,
  basisLength: 500,
  pricesBytes: 16 * 1024,
} as const;

function boundedDecimalProblem(value: unknown, max: number): string | null {
  if (value === undefined || value === null) return 'is missing';
  if (typeof value !== 'string' && typeof value !== 'number') return 'must be a decimal, as text or a number';
  try {
    const scaled = toScaled(value, PRICE_SCALE);
    if (scaled < 0n) return 'must not be negative';
    if (scaled > BigInt(max) * pow10(PRICE_SCALE)) return `must be at most ${max}`;
    if (decimalPlaces(value) > PRICE_SCALE) return `has more than ${PRICE_SCALE} decimal places (prices are kept to the nano-dollar)`;
    return null;
  } catch (error) {
    if (error instanceof DecimalError) return error.message;
    throw error;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> => !!value && typeof value === 'object' && !Array.isArray(value);

/**
 * Why the prices of a new card cannot be stored and used, naming the field relative to the prices
 * (`gpuNodeHourUsd`, `internetEgressTiers[2].usdPerGb`, `basis.mountHourUsd`), or null. Checks the bounds of
 * RATE_CARD_BOUNDS and what PostgreSQL's jsonb would refuse; `rate` checks the rest (tier order).
 */
export function rateCardPricesProblem(prices: unknown): { field: string; reason: string } | null {
  const B = RATE_CARD_BOUNDS;
  const fields = [...RATE_CARD_PRICE_FIELDS, 'basis'];
  if (!isRecord(prices)) return { field: '', reason: `must be an object with ${RATE_CARD_PRICE_FIELDS.join(', ')}` };
  const unknown = Object.keys(prices).find((k) => !fields.includes(k));
  if (unknown !== undefined) return { field: unknown, reason: `is not a price; the prices are ${fields.join(', ')}` };
  const stored = jsonProblem(prices, 4);
  if (stored) return { field: stored.path.replace(/^\./, ''), reason: stored.reason };
  const price = (field: string, value: unknown, max: number = B.maxPriceUsd) => {
    const reason = boundedDecimalProblem(value, max);
    return reason ? { field, reason } : null;
  };
  const keyed = (field: string, keys: readonly string[], max: number) => {
    const value = prices[field];
    if (!isRecord(value)) return { field, reason: `must be an object with ${keys.join(', ')}` };
    const extra = Object.keys(value).find((k) => !keys.includes(k));
    if (extra !== undefined) return { field: `${field}.${extra}`, reason: `is not one of ${keys.join(', ')}` };
    for (const k of keys) {
      const problem = price(`${field}.${k}`, value[k], max);
      if (problem) return problem;
    }
    return null;
  };
  const lightpath = prices.lightpathHourUsd;
  if (!isRecord(lightpath))
    return { field: 'lightpathHourUsd', reason: 'must be an object of prices by line rate in Gbps, e.g. { "100": "25" }' };
  const rates = Object.keys(lightpath);
  if (rates.length > B.maxLineRates)
    return { field: 'lightpathHourUsd', reason: `prices ${rates.length} line rates; at most ${B.maxLineRates}` };
  for (const rate of rates) {
    if (!/^[1-9]\d{0,6}$/.test(rate) || Number(rate) > B.maxLineRateGbps) {
      return { field: `lightpathHourUsd.${rate}`, reason: `keys are line rates in whole Gbps, from 1 to ${B.maxLineRateGbps}` };
    }
    const problem = price(`lightpathHourUsd.${rate}`, lightpath[rate]);
    if (problem) return problem;
  }
  const problem =
    keyed('distanceClassMultiplier', DISTANCE_CLASSES, B.maxMultiplier) ??
    price('lightpathSetupUsd', prices.lightpathSetupUsd) ??
    keyed('mountHourUsd', STORAGE_DESIGNS, B.maxPriceUsd) ??
    price('replicaGbHourUsd', prices.replicaGbHourUsd) ??
    price('cacheGbHourUsd', prices.cacheGbHourUsd) ??
    price('gpuNodeHourUsd', prices.gpuNodeHourUsd);
  if (problem) return problem;
  const tiers = prices.internetEgressTiers;
  if (!Array.isArray(tiers) || tiers.length === 0 || tiers.length > B.maxTiers) {
    return {
      field: 'internetEgressTiers',
      reason: `must list from 1 to ${B.maxTiers} tiers of { upToGb, usdPerGb }, the last with upToGb null`,
    };
  }
  for (let i = 0; i < tiers.length; i += 1) {
    const field = `internetEgressTiers[${i}]`;
    const tier: unknown = tiers[i];
    if (!isRecord(tier)) return { field, reason: 'must be an object { upToGb, usdPerGb }' };
    const extra = Object.keys(tier).find((k) => k !== 'upToGb' && k !== 'usdPerGb');
    if (extra !== undefined) return { field: `${field}.${extra}`, reason: 'is not upToGb or usdPerGb' };
    const tierProblem =
      price(`${field}.usdPerGb`, tier.usdPerGb) ?? (tier.upToGb === null ? null : price(`${field}.upToGb`, tier.upToGb, B.maxTierGb));
    if (tierProblem) return tierProblem;
  }
  if (prices.basis !== undefined && prices.basis !== null) {
    if (!isRecord(prices.basis))
      return { field: 'basis', reason: 'must be an object of text by price field, e.g. { "gpuNodeHourUsd": "list price 2026" }' };
    for (const [key, text] of Object.entries(prices.basis)) {
      if (!(RATE_CARD_PRICE_FIELDS as readonly string[]).includes(key))
        return { field: `basis.${key}`, reason: `is not a price field; basis is given for ${RATE_CARD_PRICE_FIELDS.join(', ')}` };
      if (typeof text !== 'string') return { field: `basis.${key}`, reason: 'must be text' };
      const textIssue = textProblem(text, B.basisLength);
      if (textIssue) return { field: `basis.${key}`, reason: textIssue };
    }
  }
  const bytes = jsonBytes(prices);
  if (bytes > B.pricesBytes) return { field: '', reason: `are ${bytes} bytes as JSON; at most ${B.pricesBytes} (16 KiB)` };
  return null;
}

/** The card in force at `at`: the latest effectiveFrom not after it, the higher version on a tie; undefined if none. */
export function selectRateCard<T extends Pick<RateCard, 'effectiveFrom' | 'version'>>(
  cards: readonly T[],
  at: Date | string,
): T | undefined {
  const atMs = typeof at === 'string' ? Date.parse(at) : at.getTime();
  if (Number.isNaN(atMs)) throw new RatingError('at', 'must be a valid date-time');
  let best: { card: T; from: number } | undefined;
  cards.forEach((card, i) => {
    const from = Date.parse(card.effectiveFrom);
    if (Number.isNaN(from)) throw new RatingError(`cards[${i}].effectiveFrom`, 'must be an RFC 3339 date-time');
    if (from > atMs) return;
    if (!best || from > best.from || (from === best.from && card.version > best.card.version)) best = { card, from };
  });
  return best?.card;
}

/** A rate card from the reference values (with any overrides already applied), each price with its basis. */
export function rateCardFromReference(values: ReferenceValues, meta: Pick<RateCard, 'id' | 'version' | 'effectiveFrom'>): RateCard {
  const v = (key: NumericKey): number => values[key].value;
  const mount = v('metering.mountHourUsd');
  return {
    ...meta,
    currency: 'USD',
    lightpathHourUsd: Object.fromEntries(WAVELENGTH_RATES.map((r) => [r, v(`network.apnWavelengthHourUsd.${r}`)])),
    distanceClassMultiplier: {
      METRO: v('network.apnDistanceMultiplier.METRO'),
      REGIONAL: v('network.apnDistanceMultiplier.REGIONAL'),
      LONG_HAUL: v('network.apnDistanceMultiplier.LONG_HAUL'),
    },
    lightpathSetupUsd: v('network.apnSetupFeeUsd'),
    mountHourUsd: { DIRECT: mount, REPLICATION: mount, CACHE: mount },
    replicaGbHourUsd: v('metering.replicaGbHourUsd'),
    cacheGbHourUsd: v('metering.cacheGbHourUsd'),
    // A node-hour is the GPU-hour price times the GPUs in a server; exact in decimal.
    gpuNodeHourUsd: formatScaled(toScaled(v('gpu.hourUsd'), PRICE_SCALE) * BigInt(v('gpu.perServer')), PRICE_SCALE),
    internetEgressTiers: values['network.internetEgressTiers'].value.map((t) => ({ upToGb: t.upToGb, usdPerGb: t.usdPerGb })),
    basis: {
      lightpathHourUsd: values['network.apnWavelengthHourUsd.100'].basis,
      distanceClassMultiplier: values['network.apnDistanceMultiplier.METRO'].basis,
      lightpathSetupUsd: values['network.apnSetupFeeUsd'].basis,
      mountHourUsd: values['metering.mountHourUsd'].basis,
      replicaGbHourUsd: values['metering.replicaGbHourUsd'].basis,
      cacheGbHourUsd: values['metering.cacheGbHourUsd'].basis,
      gpuNodeHourUsd: `${v('gpu.perServer')} × GPU-hour; ${values['gpu.hourUsd'].basis}`,
      internetEgressTiers: values['network.internetEgressTiers'].basis,
    },
  };
}

/** The card built from equipment-and-prices.json and the documented guesses. */
export const DEFAULT_RATE_CARD: RateCard = rateCardFromReference(REFERENCE_DEFAULTS, {
  id: 'reference',
  version: 1,
  effectiveFrom: '2025-01-01T00:00:00Z',
});
