/**
 * Every reference figure the planner and the rating engine use, each with its basis, and the operator
 * overrides on top of them.
 *
 * The figures come from the two files next to this module, copied from the project's shared reference:
 * equipment-and-prices.json (power, capex, PUE, carbon, network prices, each with its basis) and
 * poc-unet3d-40km.json (the IOWN Global Forum remote-GPU PoC, the estimator's only calibration data).
 * The values the files do not give are model constants and guesses, each saying so in its basis.
 *
 * Keys are flat dotted names (`pue.green`, `equipment.GPU_SERVER.powerKw`); an override names the key and
 * gives a value, or a value and a basis. Unknown keys and out-of-range values are refused, naming the key.
 */
import { DistanceClass, EquipmentKind, PlannerInputError, RefValue, ScenarioKind } from '../domain';
import { CalibrationError, FIBER_LATENCY_US_PER_KM, LinkSpec, ModelParameters, ReadPath, calibrate, fiberRttMs } from '../physics';
import prices from './equipment-and-prices.json';
import poc from './poc-unet3d-40km.json';

export { poc as POC_REFERENCE, prices as PRICES_REFERENCE };

export type EquipmentField = 'powerKw' | 'capexUsd' | 'lifeYears';
/** Wavelength rates the reference prices. */
export const WAVELENGTH_RATES = ['10', '100', '400'] as const;
export type WavelengthRate = (typeof WAVELENGTH_RATES)[number];

/** Internet egress: GB up to `upToGb` (cumulative; null = no bound) at `usdPerGb`. */
export interface EgressTier {
  readonly upToGb: number | null;
  readonly usdPerGb: number;
}

export type NumericKey =
  | 'model.fiberUsPerKm'
  | 'model.lanRttMs'
  | 'model.lanBandwidthGbps'
  | 'model.apnBandwidthGbps'
  | 'model.internetBandwidthGbps'
  | 'model.internetRttMs'
  | `model.mtuBytes.${ScenarioKind}`
  | 'model.ethernetOverheadBytes'
  | 'model.ipTcpHeaderBytes'
  | 'model.rpcHeaderBytes'
  | 'model.rsizeBytes'
  | 'model.bytesInFlight'
  | 'model.syncRoundTripsPerStep'
  | 'model.kr11MaxSlowdownPercent'
  | 'model.tieTolerancePercent'
  | 'storage.arrayReadGBps'
  | 'storage.nodeGBps'
  | 'pue.standard'
  | 'pue.green'
  | 'carbon.kgPerKwh'
  | 'energy.usdPerKwh'
  | `equipment.${EquipmentKind}.${EquipmentField}`
  | 'gpu.hourUsd'
  | 'gpu.perServer'
  | `network.apnWavelengthHourUsd.${WavelengthRate}`
  | `network.apnDistanceMultiplier.${DistanceClass}`
  | 'network.metroMaxKm'
  | 'network.regionalMaxKm'
  | 'network.apnSetupFeeUsd'
  | 'metering.mountHourUsd'
  | 'metering.replicaGbHourUsd'
  | 'metering.cacheGbHourUsd';

export type ReferenceKey = NumericKey | 'network.internetEgressTiers';

export type ReferenceValues = { readonly [K in NumericKey]: RefValue<number> } & {
  readonly 'network.internetEgressTiers': RefValue<readonly EgressTier[]>;
};

/** The one value the model fits; its default is computed from the other values and the PoC file. */
export const CALIBRATED_KEY = 'model.syncRoundTripsPerStep' satisfies NumericKey;
type StaticValues = Omit<ReferenceValues, typeof CALIBRATED_KEY>;

/** An override: the value alone (basis becomes 'operator override'), or a value with its own basis. */
export type OverrideValue<T> = T | { value: T; basis?: string };
export type Overrides = { [K in NumericKey]?: OverrideValue<number> } & {
  'network.internetEgressTiers'?: OverrideValue<readonly EgressTier[]>;
};

const ref = <T>(value: T, basis: string): RefValue<T> => ({ value, basis });
const FILE = 'equipment-and-prices.json';

function equipmentValues(kind: EquipmentKind): { [F in EquipmentField as `equipment.${EquipmentKind}.${F}`]: RefValue<number> } {
  const item = prices.equipment.find((e) => e.kind === kind);
  if (!item) throw new Error(`${FILE} has no equipment of kind ${kind}`);
  const typical = 'typicalPowerKw' in item && typeof item.typicalPowerKw === 'number' ? item.typicalPowerKw : undefined;
  const power =
    typical !== undefined
      ? ref(typical, `typical draw under training load (rated ${item.ratedPowerKw} kW); ${item.basis}`)
      : ref(item.ratedPowerKw, `rated power, used as the draw; ${item.basis}`);
  const values = {
    [`equipment.${kind}.powerKw`]: power,
    [`equipment.${kind}.capexUsd`]: ref(item.capexUsd, `${item.model}; ${item.basis}`),
    [`equipment.${kind}.lifeYears`]: ref(item.lifeYears, `amortisation life; ${item.basis}`),
  };
  return values as { [F in EquipmentField as `equipment.${EquipmentKind}.${F}`]: RefValue<number> };
}

function egressTiers(): EgressTier[] {
  return prices.network.internetEgressUsdPerGbTiers.value.map(([upToGb, usdPerGb]) => {
    if (usdPerGb === null || usdPerGb === undefined) throw new Error(`${FILE}: an egress tier has no price`);
    return { upToGb: upToGb ?? null, usdPerGb };
  });
}

const greenRange = prices.pue.greenDataCenterRange.value;
const wavelength = prices.network.apnWavelengthHourUsd;
const multiplier = prices.network.apnDistanceClassMultiplier;
const referenceLink = poc.referenceLinkWithoutPublishedResult;

/** The defaults, before calibration and overrides. */
export const STATIC_DEFAULTS: StaticValues = {
  'model.fiberUsPerKm': ref(
    FIBER_LATENCY_US_PER_KM,
    'physics: group index ≈ 1.47 in single-mode fiber; the same figure path computation uses',
  ),
  'model.lanRttMs': ref(0.1, 'typical: host stacks plus one or two switch hops at one site (0.05-0.1 ms); the upper end'),
  'model.lanBandwidthGbps': ref(100, 'PoC: the local case ran on the same 100G-class network as the 40 km case'),
  'model.apnBandwidthGbps': ref(100, 'PoC: 100G-class Open APN lightpath'),
  'model.internetBandwidthGbps': ref(referenceLink.bandwidthGbps, `PoC: ${referenceLink.description}`),
  'model.internetRttMs': ref(referenceLink.rttMs, `PoC: ${referenceLink.description}`),
  'model.mtuBytes.LOCAL': ref(9000, 'jumbo frames, usual on a storage network inside a site'),
  'model.mtuBytes.APN': ref(9000, 'jumbo frames carried end to end over a dedicated lightpath'),
  'model.mtuBytes.INTERNET': ref(1500, 'standard Ethernet MTU on Internet paths'),
  'model.ethernetOverheadBytes': ref(38, 'IEEE 802.3: preamble+SFD 8, header 14, FCS 4, inter-frame gap 12 bytes per frame'),
  'model.ipTcpHeaderBytes': ref(52, 'IPv4 20 + TCP 20 + TCP timestamp option 12 bytes per segment'),
  'model.rpcHeaderBytes': ref(132, 'record mark 4 + RPC reply 24 + NFSv3 READ reply (status, attributes, count, eof, length) 104 bytes'),
  'model.rsizeBytes': ref(1_048_576, 'Linux NFS client maximum rsize, 1 MiB'),
  'model.bytesInFlight': ref(
    268_435_456,
    'assumed tuned client: 32 concurrent readers (8 GPU processes × 4 loader threads) × 8 MiB read-ahead = 256 MiB in flight',
  ),
  'model.kr11MaxSlowdownPercent': ref(10, `PoC requirement ${poc.requirement.id}: ${poc.requirement.text}`),
  'model.tieTolerancePercent': ref(1, 'designs whose total time is within this share of the fastest count as tied; cost decides'),
  'storage.arrayReadGBps': ref(
    20,
    'guess: all-flash NFS HA pair with two 100G ports; the PoC local epoch implies at least 10.6 GB/s (3.8e12 B in 357 s)',
  ),
  'storage.nodeGBps': ref(20, 'guess: NVMe cache/replica node, four PCIe Gen4 drives at ~5-7 GB/s each, read or write'),
  'pue.standard': ref(prices.pue.standardDataCenter.value, prices.pue.standardDataCenter.basis),
  'pue.green': ref(
    Math.round(((greenRange[0] + greenRange[1]) / 2) * 1000) / 1000,
    `midpoint of the green data center range ${greenRange[0]}-${greenRange[1]} (${prices.pue.greenDataCenterRange.basis})`,
  ),
  'carbon.kgPerKwh': ref(prices.gridCarbonKgPerKwh.japanAverage.value, `Japan grid, ${prices.gridCarbonKgPerKwh.japanAverage.basis}`),
  'energy.usdPerKwh': ref(0.15, 'guess: Japanese high-voltage business tariff of about 20-25 JPY/kWh; replace with the contract price'),
  ...equipmentValues('GPU_SERVER'),
  ...equipmentValues('STORAGE_NFS_ARRAY'),
  ...equipmentValues('CACHE_OR_REPLICA_NODE'),
  ...equipmentValues('SWITCH_100G'),
  ...equipmentValues('APN_TRANSPONDER'),
  'gpu.hourUsd': ref(prices.gpuHourUsd.h100.value, `H100 GPU-hour, ${prices.gpuHourUsd.h100.basis}`),
  'gpu.perServer': ref(8, 'GPUs in one 8x H100 server'),
  'network.apnWavelengthHourUsd.10': ref(wavelength['10'], `10G wavelength-hour, ${wavelength.basis}`),
  'network.apnWavelengthHourUsd.100': ref(wavelength['100'], `100G wavelength-hour, ${wavelength.basis}`),
  'network.apnWavelengthHourUsd.400': ref(wavelength['400'], `400G wavelength-hour, ${wavelength.basis}`),
  'network.apnDistanceMultiplier.METRO': ref(multiplier.METRO_UP_TO_100KM, multiplier.basis),
  'network.apnDistanceMultiplier.REGIONAL': ref(multiplier.REGIONAL_UP_TO_500KM, multiplier.basis),
  'network.apnDistanceMultiplier.LONG_HAUL': ref(multiplier.LONG_HAUL, multiplier.basis),
  'network.metroMaxKm': ref(100, `class bound in ${FILE} (METRO_UP_TO_100KM)`),
  'network.regionalMaxKm': ref(500, `class bound in ${FILE} (REGIONAL_UP_TO_500KM)`),
  'network.apnSetupFeeUsd': ref(prices.network.apnSetupFeeUsd.value, `per lightpath, ${prices.network.apnSetupFeeUsd.basis}`),
  'network.internetEgressTiers': ref(egressTiers(), prices.network.internetEgressUsdPerGbTiers.basis),
  'metering.mountHourUsd': ref(0.05, 'guess: no public price for a managed NFS mount; a small per-hour service fee'),
  'metering.replicaGbHourUsd': ref(0.00014, 'guess: block storage at about 0.10 USD per GB-month (÷ 730 h)'),
  'metering.cacheGbHourUsd': ref(0.00021, 'guess: NVMe cache capacity at about 0.15 USD per GB-month (÷ 730 h)'),
};

type Check = 'positive' | 'nonNegative' | 'pue' | 'positiveInteger' | 'mtu';

function checkOf(key: NumericKey): Check {
  if (key === 'model.syncRoundTripsPerStep' || key === 'model.lanRttMs' || key === 'model.internetRttMs') return 'nonNegative';
  if (key.startsWith('model.mtuBytes.')) return 'mtu';
  if (key === 'model.rsizeBytes' || key === 'model.bytesInFlight' || key === 'gpu.perServer') return 'positiveInteger';
  if (key.endsWith('OverheadBytes') || key.endsWith('HeaderBytes')) return 'nonNegative';
  if (key.startsWith('pue.')) return 'pue';
  if (key.endsWith('Usd') || key.endsWith('UsdPerKwh') || key === 'carbon.kgPerKwh' || key.includes('HourUsd')) return 'nonNegative';
  if (key === 'model.tieTolerancePercent') return 'nonNegative';
  return 'positive';
}

/** No reference figure exceeds this in its unit (the largest default is 268435456 bytes in flight). */
export const REFERENCE_VALUE_MAX = 1e12;

function checkNumber(field: string, key: NumericKey, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new PlannerInputError(field, 'must be a finite number');
  if (Math.abs(value) > REFERENCE_VALUE_MAX)
    throw new PlannerInputError(field, `must be at most ${REFERENCE_VALUE_MAX} in its unit, got ${value}`);
  switch (checkOf(key)) {
    case 'positive':
      if (value <= 0) throw new PlannerInputError(field, `must be greater than 0, got ${value}`);
      break;
    case 'nonNegative':
      if (value < 0) throw new PlannerInputError(field, `must not be negative, got ${value}`);
      break;
    case 'pue':
      if (value < 1) throw new PlannerInputError(field, `a PUE is at least 1, got ${value}`);
      break;
    case 'positiveInteger':
      if (!Number.isInteger(value) || value <= 0) throw new PlannerInputError(field, `must be a positive integer, got ${value}`);
      break;
    case 'mtu':
      if (!Number.isInteger(value) || value < 576 || value > 65535) {
        throw new PlannerInputError(field, `an MTU is an integer from 576 to 65535 bytes, got ${value}`);
      }
      break;
  }
  return value;
}

function checkTiers(field: string, value: unknown): EgressTier[] {
  if (!Array.isArray(value) || value.length === 0) throw new PlannerInputError(field, 'must be a non-empty list of tiers');
  if (value.length > 20) throw new PlannerInputError(field, `has ${value.length} tiers; at most 20`);
  let previous = 0;
  return value.map((tier: unknown, i) => {
    const at = `${field}[${i}]`;
    const { upToGb, usdPerGb } = (tier ?? {}) as { upToGb?: unknown; usdPerGb?: unknown };
    if (typeof usdPerGb !== 'number' || !Number.isFinite(usdPerGb) || usdPerGb < 0 || usdPerGb > REFERENCE_VALUE_MAX) {
      throw new PlannerInputError(`${at}.usdPerGb`, `must be a non-negative number of at most ${REFERENCE_VALUE_MAX}`);
    }
    const last = i === value.length - 1;
    if (last ? upToGb !== null && upToGb !== undefined : typeof upToGb !== 'number' || !(upToGb > previous)) {
      throw new PlannerInputError(`${at}.upToGb`, last ? 'the last tier must be unbounded (null)' : 'tier bounds must increase');
    }
    previous = typeof upToGb === 'number' ? upToGb : previous;
    return { upToGb: last ? null : (upToGb as number), usdPerGb };
  });
}

const isKey = (key: string): key is ReferenceKey => key in STATIC_DEFAULTS || key === CALIBRATED_KEY;

function overrideOf(key: ReferenceKey, raw: unknown): { value: unknown; basis: string } {
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw) && 'value' in raw) {
    const { value, basis } = raw as { value: unknown; basis?: unknown };
    if (basis !== undefined && (typeof basis !== 'string' || basis.trim() === '')) {
      throw new PlannerInputError(`overrides.${key}.basis`, 'must be a non-empty string');
    }
    return { value, basis: typeof basis === 'string' ? `operator override: ${basis}` : 'operator override' };
  }
  return { value: raw, basis: 'operator override' };
}

/** Model parameters read from resolved values, with the calibrated count given separately. */
export function modelParameters(values: StaticValues, syncRoundTripsPerStep: number): ModelParameters {
  return {
    fiberUsPerKm: values['model.fiberUsPerKm'].value,
    lanRttMs: values['model.lanRttMs'].value,
    ethernetOverheadBytes: values['model.ethernetOverheadBytes'].value,
    ipTcpHeaderBytes: values['model.ipTcpHeaderBytes'].value,
    rpcHeaderBytes: values['model.rpcHeaderBytes'].value,
    rsizeBytes: values['model.rsizeBytes'].value,
    bytesInFlight: values['model.bytesInFlight'].value,
    syncRoundTripsPerStep,
  };
}

/** The PoC's two measured epochs and the remote case's distance. */
export function pocMeasurements(): { localEpochSeconds: number; remoteEpochSeconds: number; distanceKm: number } {
  const local = poc.measured.find((m) => m.case === 'local');
  const remote = poc.measured.find((m) => m.case !== 'local');
  if (!local || remote?.distanceKm === undefined) {
    throw new Error('poc-unet3d-40km.json must hold a local measurement and a remote one with its distance');
  }
  return { localEpochSeconds: local.epochSeconds, remoteEpochSeconds: remote.epochSeconds, distanceKm: remote.distanceKm };
}

/** The link between hosts at one site. */
export function lanLink(values: StaticValues): LinkSpec {
  return {
    bandwidthGbps: values['model.lanBandwidthGbps'].value,
    rttMs: values['model.lanRttMs'].value,
    mtuBytes: values['model.mtuBytes.LOCAL'].value,
  };
}

/** GPUs reading the office array on the same site. */
export function localReadPath(values: StaticValues): ReadPath {
  return { link: lanLink(values), storageBytesPerSecond: [values['storage.arrayReadGBps'].value * 1e9] };
}

/** The read paths of the two measured PoC cases: local, and APN at the PoC's distance, both from the office array. */
export function pocCalibrationPaths(values: StaticValues): { local: ReadPath; remote: ReadPath } {
  const local = localReadPath(values);
  const fiberMs = fiberRttMs(pocMeasurements().distanceKm, { fiberUsPerKm: values['model.fiberUsPerKm'].value });
  const remoteLink: LinkSpec = {
    bandwidthGbps: values['model.apnBandwidthGbps'].value,
    rttMs: local.link.rttMs + fiberMs,
    mtuBytes: values['model.mtuBytes.APN'].value,
  };
  return { local, remote: { ...local, link: remoteLink } };
}

/** Fits the round trips per step on the PoC under the given values; the basis states the figures. */
export function calibratedRoundTrips(values: StaticValues): RefValue<number> {
  const measured = pocMeasurements();
  const paths = pocCalibrationPaths(values);
  const work = { bytesPerStep: poc.workload.datasetBytes / poc.workload.steps, steps: poc.workload.steps };
  const fit = calibrate(
    work,
    { epochSeconds: measured.localEpochSeconds, path: paths.local },
    { epochSeconds: measured.remoteEpochSeconds, path: paths.remote },
    modelParameters(values, 0),
  );
  const extraRttMs = paths.remote.link.rttMs - paths.local.link.rttMs;
  return ref(
    fit.syncRoundTripsPerStep,
    `calibrated on the PoC (${fit.regime}): (${measured.remoteEpochSeconds} s - ${measured.localEpochSeconds} s) / ` +
      `(${work.steps} steps × ${extraRttMs.toFixed(3)} ms extra round trip at ${measured.distanceKm} km)`,
  );
}

/** Two measured runs of one workload: on the same site, and over a longer round trip. */
export interface MeasuredPair {
  readonly bytesPerStep: number;
  readonly steps: number;
  readonly local: { readonly label: string; readonly epochSeconds: number };
  readonly remote: { readonly label: string; readonly epochSeconds: number; readonly rttMs: number; readonly bandwidthGbps: number };
}

/**
 * Fits the round trips per step and the GPU time per step to a tenant's own pair of measured runs instead of
 * the PoC: the same closed form (physics.calibrate), the local run on the GPU site's LAN, the remote one on
 * its measured link (round trip from its path or its own figure). The basis names the runs.
 */
export function calibrateOnRuns(
  values: StaticValues,
  pair: MeasuredPair,
): { roundTrips: RefValue<number>; gpuSecondsPerStep: number; basis: string } {
  const local = localReadPath(values);
  const remote: ReadPath = {
    ...local,
    link: {
      bandwidthGbps: pair.remote.bandwidthGbps,
      rttMs: Math.max(pair.remote.rttMs, local.link.rttMs),
      mtuBytes: values['model.mtuBytes.APN'].value,
    },
  };
  const fit = calibrate(
    { bytesPerStep: pair.bytesPerStep, steps: pair.steps },
    { epochSeconds: pair.local.epochSeconds, path: local },
    { epochSeconds: pair.remote.epochSeconds, path: remote },
    modelParameters(values, 0),
  );
  const basis =
    `calibrated on measured runs "${pair.local.label}" (${pair.local.epochSeconds.toFixed(1)} s on site) and ` +
    `"${pair.remote.label}" (${pair.remote.epochSeconds.toFixed(1)} s at ${pair.remote.rttMs.toFixed(3)} ms round trip), ${fit.regime}`;
  return { roundTrips: ref(fit.syncRoundTripsPerStep, basis), gpuSecondsPerStep: fit.gpuSecondsPerStep, basis };
}

function calibrateOrExplain(values: StaticValues): RefValue<number> {
  try {
    return calibratedRoundTrips(values);
  } catch (error) {
    if (!(error instanceof CalibrationError)) throw error;
    throw new PlannerInputError(
      'overrides',
      `with these values the model cannot reproduce the PoC measurements (${error.message}); override ${CALIBRATED_KEY} as well`,
    );
  }
}

/**
 * The reference values with the operator's overrides applied and the round-trip count calibrated under
 * them (unless it is overridden too). Throws PlannerInputError naming `overrides.<key>`.
 */
export function resolveReference(overrides: Overrides | Record<string, unknown> = {}): ReferenceValues {
  if (overrides === null || typeof overrides !== 'object' || Array.isArray(overrides)) {
    throw new PlannerInputError('overrides', 'must be an object of reference keys to values');
  }
  const values: Record<string, RefValue<unknown>> = { ...STATIC_DEFAULTS };
  for (const [key, raw] of Object.entries(overrides)) {
    if (raw === undefined) continue;
    if (!isKey(key)) throw new PlannerInputError(`overrides.${key}`, 'is not a reference key (see the basis list for the keys)');
    const { value, basis } = overrideOf(key, raw);
    const field = `overrides.${key}`;
    values[key] = key === 'network.internetEgressTiers' ? ref(checkTiers(field, value), basis) : ref(checkNumber(field, key, value), basis);
  }
  const statics = values as unknown as StaticValues;
  if (statics['network.regionalMaxKm'].value <= statics['network.metroMaxKm'].value) {
    throw new PlannerInputError('overrides.network.regionalMaxKm', 'must be greater than network.metroMaxKm');
  }
  const calibrated = (values[CALIBRATED_KEY] as RefValue<number> | undefined) ?? calibrateOrExplain(statics);
  return { ...statics, [CALIBRATED_KEY]: calibrated };
}

/** The values as a list for an API: key, value and basis, sorted by key. */
export function basisList(values: ReferenceValues): Array<{ key: ReferenceKey; value: number | readonly EgressTier[]; basis: string }> {
  return (Object.keys(values) as ReferenceKey[]).sort().map((key) => ({ key, value: values[key].value, basis: values[key].basis }));
}

export const REFERENCE_DEFAULTS: ReferenceValues = resolveReference();
