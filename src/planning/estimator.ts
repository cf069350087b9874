/**
 * Scenario comparison: for one training workload, how long each way of reaching the data takes, what it
 * costs in energy, carbon and money, whether it meets KR1.1, and which design to pick. Pure and
 * deterministic: no clock, no I/O, no framework. The timing model is in physics.ts, the money in cost.ts;
 * docs/planner.md explains both and tabulates the predictions.
 */
import {
  DistanceClass,
  PlannerInputError,
  RefValue,
  SCENARIO_KINDS,
  STORAGE_DESIGNS,
  ScenarioKind,
  StorageDesign,
  isOneOf,
} from '../vocabulary/domain';
import { CostEstimate, DEFAULT_EQUIPMENT, EquipmentSet, GpuPricing, SiteRates, SiteRole, estimateCost } from './cost';
import {
  EpochEstimate,
  LinkSpec,
  ModelParameters,
  ReadPath,
  StepBoundKind,
  StreamThroughput,
  CalibrationError,
  estimateEpoch,
  fiberRttMs,
  gpuTimeFromLocalEpoch,
  transferSeconds,
} from '../vocabulary/physics';
import {
  CALIBRATED_KEY,
  MeasuredPair,
  Overrides,
  ReferenceValues,
  basisList,
  calibrateOnRuns,
  lanLink,
  localReadPath,
  modelParameters,
  resolveReference,
} from '../vocabulary/reference';

export interface WorkloadInput {
  /** Bytes read per epoch (GraphQL BigInt: a decimal string, a bigint or a safe integer). */
  datasetBytes: bigint | number | string;
  steps: number;
  epochs?: number;
  /** GPU time per step; or give localEpochSeconds and it is derived. */
  gpuSecondsPerStep?: number;
  /** A measured epoch with storage at the GPU site. */
  localEpochSeconds?: number;
}

export interface ScenarioInput {
  label: string;
  kind: ScenarioKind;
  design?: StorageDesign;
  bandwidthGbps?: number;
  rttMs?: number;
  distanceKm?: number;
  gpuSiteId?: string;
}

/** A site's figures; what is left out comes from the reference (green data center or standard). */
export interface SitePricingInput {
  pue?: number;
  carbonKgPerKwh?: number;
  energyUsdPerKwh?: number;
}

export interface CompareInput {
  workload: WorkloadInput;
  scenarios: ScenarioInput[];
  /** CONFIDENTIAL data may not rest at the GPU site: DIRECT only. */
  confidential?: boolean;
  /** Site figures by site id, for scenario.gpuSiteId and storageSiteId. */
  sites?: Record<string, SitePricingInput>;
  /** The office site holding the data; default: a standard data center. */
  storageSiteId?: string;
  equipment?: Partial<EquipmentSet>;
  gpuPricing?: GpuPricing;
  overrides?: Overrides;
  /** A tenant's own measured runs to calibrate on, instead of the PoC's (see calibrateOnRuns). */
  calibration?: MeasuredPair;
}

export interface LinkResult {
  bandwidthGbps: number;
  rttMs: number;
  distanceKm: number | null;
  distanceClass: DistanceClass | null;
  mtuBytes: number;
  goodputGbps: number;
}

export interface ScenarioResult {
  label: string;
  kind: ScenarioKind;
  design: StorageDesign;
  /** False when the data's classification rules the design out. */
  allowed: boolean;
  /** An epoch once the data is at hand: DIRECT over the link, REPLICATION and CACHE from the GPU site. */
  epochSeconds: number;
  /** The first epoch including replication (REPLICATION) or a cold cache (CACHE). */
  firstEpochSeconds: number;
  replicationSeconds: number;
  totalSeconds: number;
  slowdownPercent: number;
  meetsKr11: boolean;
  /** What limits reading from the office: GPU (loading hidden), LINK, STORAGE or WINDOW (bytes in flight / RTT). */
  bound: StepBoundKind;
  energyKwh: number;
  co2Kg: number;
  costUsd: number;
  link: LinkResult;
  /** The figures used for the GPU site and the office, each with its basis. */
  sites: Record<SiteRole, SiteRates>;
  cost: CostEstimate;
  reasons: string[];
}

export interface Recommendation {
  label: string;
  kind: ScenarioKind;
  design: StorageDesign;
  totalSeconds: number;
  costUsd: number;
  reasons: string[];
}

export interface ComparisonResult {
  scenarios: ScenarioResult[];
  baseline: { label: string | null; epochSeconds: number; totalSeconds: number; source: string };
  recommended: Recommendation | null;
  calibration: {
    syncRoundTripsPerStep: RefValue<number>;
    gpuSecondsPerStep: number;
    gpuSecondsPerStepSource: string;
  };
  basis: ReturnType<typeof basisList>;
  warnings: string[];
}

export const MAX_SCENARIOS = 50;

interface Workload {
  datasetBytes: number;
  steps: number;
  epochs: number;
  bytesPerStep: number;
  gpuSecondsPerStep: number;
}

// ---------------------------------------------------------------- validation

/**
 * Upper bounds of the planner's inputs: far beyond any real link or workload, low enough that no product
 * of them overflows to Infinity (which no answer could carry).
 */
export const PLANNER_INPUT_MAX = {
  bandwidthGbps: 1_000_000,
  rttMs: 100_000,
  distanceKm: 40_000,
  steps: 1_000_000_000,
  epochs: 100_000,
  gpuSecondsPerStep: 86_400,
  localEpochSeconds: 31_622_400,
  pue: 10,
  carbonKgPerKwh: 10,
  energyUsdPerKwh: 100,
  equipmentCount: 100_000,
} as const;

function finite(
  field: string,
  value: unknown,
  { min = 0, exclusive = false, integer = false, max = Number.MAX_SAFE_INTEGER } = {},
): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new PlannerInputError(field, 'must be a finite number');
  if (integer && !Number.isInteger(value)) throw new PlannerInputError(field, `must be an integer, got ${value}`);
  if (exclusive ? value <= min : value < min) {
    throw new PlannerInputError(field, `must be ${exclusive ? 'greater than' : 'at least'} ${min}, got ${value}`);
  }
  if (value > max) throw new PlannerInputError(field, `must be at most ${max}, got ${value}`);
  return value;
}

function optionalFinite(field: string, value: unknown, rules?: Parameters<typeof finite>[2]): number | undefined {
  return value === undefined || value === null ? undefined : finite(field, value, rules);
}

function datasetBytesOf(value: unknown): number {
  const field = 'workload.datasetBytes';
  let bytes: bigint;
  if (typeof value === 'bigint') bytes = value;
  else if (typeof value === 'string' && /^\d+$/.test(value.trim())) bytes = BigInt(value.trim());
  else if (typeof value === 'number' && Number.isSafeInteger(value)) bytes = BigInt(value);
  else throw new PlannerInputError(field, 'must be a whole number of bytes (a decimal string, a bigint or a safe integer)');
  if (bytes <= 0n) throw new PlannerInputError(field, 'must be greater than 0');
  return Number(bytes);
}

function validateSites(sites: unknown): Record<string, SitePricingInput> {
  if (sites === undefined || sites === null) return {};
  if (typeof sites !== 'object' || Array.isArray(sites)) throw new PlannerInputError('sites', 'must be an object of site id to figures');
  for (const [id, site] of Object.entries(sites as Record<string, unknown>)) {
    if (!site || typeof site !== 'object') throw new PlannerInputError(`sites.${id}`, 'must be an object');
    const s = site as Record<string, unknown>;
    optionalFinite(`sites.${id}.pue`, s.pue, { min: 1, max: PLANNER_INPUT_MAX.pue });
    optionalFinite(`sites.${id}.carbonKgPerKwh`, s.carbonKgPerKwh, { max: PLANNER_INPUT_MAX.carbonKgPerKwh });
    optionalFinite(`sites.${id}.energyUsdPerKwh`, s.energyUsdPerKwh, { max: PLANNER_INPUT_MAX.energyUsdPerKwh });
  }
  return sites as Record<string, SitePricingInput>;
}

function validateEquipment(input: unknown): EquipmentSet {
  if (input === undefined || input === null) return DEFAULT_EQUIPMENT;
  if (typeof input !== 'object' || Array.isArray(input)) throw new PlannerInputError('equipment', 'must be an object');
  const given = input as Record<string, unknown>;
  const set = { ...DEFAULT_EQUIPMENT };
  for (const key of Object.keys(given)) {
    if (!(key in DEFAULT_EQUIPMENT)) {
      throw new PlannerInputError(`equipment.${key}`, `is not one of ${Object.keys(DEFAULT_EQUIPMENT).join(', ')}`);
    }
    const name = key as keyof EquipmentSet;
    const value = optionalFinite(`equipment.${key}`, given[key], {
      integer: true,
      min: name === 'gpuServers' ? 1 : 0,
      max: PLANNER_INPUT_MAX.equipmentCount,
    });
    if (value !== undefined) set[name] = value;
  }
  return set;
}

// ---------------------------------------------------------------- scenario paths

interface ResolvedScenario {
  input: ScenarioInput;
  kind: ScenarioKind;
  design: StorageDesign;
  link: LinkSpec;
  distanceKm: number | null;
  distanceClass: DistanceClass | null;
  gpuSite: SiteRates;
  notes: string[];
}

function distanceClassOf(km: number, values: ReferenceValues): DistanceClass {
  if (km <= values['network.metroMaxKm'].value) return 'METRO';
  if (km <= values['network.regionalMaxKm'].value) return 'REGIONAL';
  return 'LONG_HAUL';
}

function siteRates(
  id: string | null,
  given: SitePricingInput | undefined,
  pueDefault: RefValue<number>,
  values: ReferenceValues,
): SiteRates {
  const pick = (value: number | undefined, fallback: RefValue<number>): RefValue<number> =>
    value === undefined || value === null ? fallback : { value, basis: `site ${id}: operator figure` };
  return {
    id,
    pue: pick(given?.pue, pueDefault),
    carbonKgPerKwh: pick(given?.carbonKgPerKwh, values['carbon.kgPerKwh']),
    energyUsdPerKwh: pick(given?.energyUsdPerKwh, values['energy.usdPerKwh']),
  };
}

function lookupSite(field: string, id: unknown, sites: Record<string, SitePricingInput>): SitePricingInput {
  if (typeof id !== 'string' || id === '') throw new PlannerInputError(field, 'must be a non-empty site id');
  const site = sites[id];
  if (!site) throw new PlannerInputError(field, `no figures for site ${id} in sites`);
  return site;
}

/**
 * The round trip of an APN or Internet scenario, and the distance it prices by: as given, derived from the
 * other, or the reference link's. Says how in `notes`.
 */
function remoteRoundTrip(
  at: string,
  kind: Exclude<ScenarioKind, 'LOCAL'>,
  rttMs: number | undefined,
  distanceKm: number | undefined,
  values: ReferenceValues,
  notes: string[],
): { rtt: number; km: number | null } {
  const fiberUs = values['model.fiberUsPerKm'].value;
  const lanRtt = values['model.lanRttMs'].value;
  let rtt: number;
  let km: number | null = distanceKm ?? null;
  if (kind === 'APN') {
    if (rttMs === undefined && distanceKm === undefined) {
      throw new PlannerInputError(`${at}.distanceKm`, 'an APN scenario needs distanceKm (or a measured rttMs)');
    }
    if (rttMs !== undefined) {
      rtt = rttMs;
      if (km === null) {
        km = Math.max(0, rttMs - lanRtt) / ((2 * fiberUs) / 1000);
        notes.push(`RTT ${fmt(rttMs, 3)} ms as given; distance taken as ${fmt(km, 1)} km of fiber for pricing`);
      } else {
        notes.push(`RTT ${fmt(rttMs, 3)} ms as given (measured), not derived from ${km} km`);
      }
    } else {
      const fiber = fiberRttMs(km as number, { fiberUsPerKm: fiberUs });
      rtt = lanRtt + fiber;
      notes.push(`RTT ${fmt(rtt, 3)} ms = fiber 2 × ${km} km × ${fiberUs} µs = ${fmt(fiber, 3)} ms + host and LAN ${lanRtt} ms`);
    }
  } else if (rttMs !== undefined) {
    rtt = rttMs;
  } else if (distanceKm !== undefined) {
    rtt = lanRtt + fiberRttMs(distanceKm, { fiberUsPerKm: fiberUs });
    notes.push(`RTT ${fmt(rtt, 3)} ms from ${distanceKm} km of straight fiber: a lower bound for an Internet route`);
  } else {
    rtt = values['model.internetRttMs'].value;
    notes.push(`RTT ${rtt} ms: the PoC's Internet reference link`);
  }
  return { rtt, km };
}

function resolveScenario(
  raw: unknown,
  index: number,
  values: ReferenceValues,
  sites: Record<string, SitePricingInput>,
  officeSite: SiteRates,
): ResolvedScenario {
  const at = `scenarios[${index}]`;
  if (!raw || typeof raw !== 'object') throw new PlannerInputError(at, 'must be an object');
  const input = raw as ScenarioInput;
  if (typeof input.label !== 'string' || input.label.trim() === '' || input.label.length > 200) {
    throw new PlannerInputError(`${at}.label`, 'must be a non-empty string of at most 200 characters');
  }
  if (!isOneOf(SCENARIO_KINDS, input.kind)) throw new PlannerInputError(`${at}.kind`, `must be one of ${SCENARIO_KINDS.join(', ')}`);
  if (input.design !== undefined && input.design !== null && !isOneOf(STORAGE_DESIGNS, input.design)) {
    throw new PlannerInputError(`${at}.design`, `must be one of ${STORAGE_DESIGNS.join(', ')}`);
  }
  const bandwidthGbps = optionalFinite(`${at}.bandwidthGbps`, input.bandwidthGbps, {
    exclusive: true,
    max: PLANNER_INPUT_MAX.bandwidthGbps,
  });
  const rttMs = optionalFinite(`${at}.rttMs`, input.rttMs, { max: PLANNER_INPUT_MAX.rttMs });
  const distanceKm = optionalFinite(`${at}.distanceKm`, input.distanceKm, { max: PLANNER_INPUT_MAX.distanceKm });
  const kind = input.kind;
  const notes: string[] = [];
  const gpuSiteGiven =
    input.gpuSiteId === undefined || input.gpuSiteId === null ? undefined : lookupSite(`${at}.gpuSiteId`, input.gpuSiteId, sites);

  if (kind === 'LOCAL') {
    const ignored = (['design', 'bandwidthGbps', 'rttMs', 'distanceKm'] as const).filter((f) => input[f] != null);
    if (ignored.length > 0) {
      notes.push(`LOCAL: storage and GPUs share a site, so ${ignored.join(', ')} ${ignored.length > 1 ? 'are' : 'is'} ignored`);
    }
    const gpuSite = gpuSiteGiven ? siteRates(input.gpuSiteId ?? null, gpuSiteGiven, values['pue.standard'], values) : officeSite;
    return { input, kind, design: 'DIRECT', link: lanLink(values), distanceKm: null, distanceClass: null, gpuSite, notes };
  }

  const gpuSite = siteRates(input.gpuSiteId ?? null, gpuSiteGiven, values['pue.green'], values);
  if (!gpuSiteGiven) notes.push(`GPU site figures: a green data center (PUE ${values['pue.green'].value}) unless the site is given`);
  const design = input.design ?? 'DIRECT';
  const { rtt, km } = remoteRoundTrip(at, kind, rttMs, distanceKm, values, notes);
  const bandwidthDefault = kind === 'APN' ? values['model.apnBandwidthGbps'] : values['model.internetBandwidthGbps'];
  if (bandwidthGbps === undefined) notes.push(`bandwidth ${bandwidthDefault.value} Gbps by default (${bandwidthDefault.basis})`);
  return {
    input,
    kind,
    design,
    link: { bandwidthGbps: bandwidthGbps ?? bandwidthDefault.value, rttMs: rtt, mtuBytes: values[`model.mtuBytes.${kind}`].value },
    distanceKm: km,
    distanceClass: kind === 'APN' && km !== null ? distanceClassOf(km, values) : null,
    gpuSite,
    notes,
  };
}

// ---------------------------------------------------------------- timing

interface Timing {
  /** What limits the phase that reads from the office: the epoch (DIRECT), the copy (REPLICATION), the cold epoch (CACHE). */
  bound: StepBoundKind;
  firstEpochSeconds: number;
  epochSeconds: number;
  replicationSeconds: number;
  totalSeconds: number;
  officeSeconds: number;
  bytesOverLink: number;
  remoteStream: StreamThroughput;
  reasons: string[];
}

const fmt = (n: number, digits: number) => n.toFixed(digits);
const ms = (seconds: number) => `${fmt(seconds * 1000, 2)} ms`;
const gBps = (bytesPerSecond: number) => `${fmt(bytesPerSecond / 1e9, 2)} GB/s`;
const secs = (s: number) => (s >= 3600 ? `${fmt(s, 0)} s (${fmt(s / 3600, 2)} h)` : `${fmt(s, 1)} s`);
const bytes = (n: number) => (n >= 1e12 ? `${fmt(n / 1e12, 2)} TB` : n >= 1e9 ? `${fmt(n / 1e9, 2)} GB` : `${fmt(n / 1e6, 1)} MB`);

function streamReason(what: string, stream: StreamThroughput, rttMs: number, p: ModelParameters): string {
  const windowText = Number.isFinite(stream.windowBytesPerSecond)
    ? `bytes in flight ${bytes(p.bytesInFlight)} / ${fmt(rttMs, 3)} ms = ${gBps(stream.windowBytesPerSecond)}`
    : 'no round-trip limit';
  const limits = `link goodput ${gBps(stream.linkBytesPerSecond)}, storage ${gBps(stream.storageBytesPerSecond)}, ${windowText}`;
  return `${what} at ${gBps(stream.bytesPerSecond)}, ${stream.bound.toLowerCase()}-bound (${limits})`;
}

function epochReason(label: string, work: Workload, epoch: EpochEstimate, syncRttMs: number, p: ModelParameters): string {
  const hidden = epoch.bound === 'GPU' ? 'loading hidden behind compute' : `loading ${epoch.bound.toLowerCase()}-bound, the GPUs wait`;
  return (
    `${label}: step = max(GPU ${ms(epoch.gpuSecondsPerStep)}, ` +
    `streaming ${bytes(work.bytesPerStep)} in ${ms(epoch.streamSecondsPerStep)}) ` +
    `+ ${fmt(p.syncRoundTripsPerStep, 3)} round trips × ${fmt(syncRttMs, 3)} ms = ${ms(epoch.stepSeconds)} (${hidden}); ` +
    `${work.steps} steps = ${secs(epoch.epochSeconds)}`
  );
}

function timeScenario(s: ResolvedScenario, work: Workload, values: ReferenceValues, p: ModelParameters): Timing {
  const array = values['storage.arrayReadGBps'].value * 1e9;
  const node = values['storage.nodeGBps'].value * 1e9;
  const remote: ReadPath = { link: s.link, storageBytesPerSecond: [array] };
  const atGpuSite: ReadPath = { link: lanLink(values), storageBytesPerSecond: [node] };
  const good = estimateEpoch(work, remote, p).stream.goodput;
  const reasons = [
    ...s.notes,
    `Goodput ${fmt(good.gbps, 2)} of ${s.link.bandwidthGbps} Gbps: MTU ${s.link.mtuBytes} carries ` +
      `${good.payloadBytesPerFrame} payload bytes in ${good.wireBytesPerFrame} on the wire; ` +
      `NFS adds ${p.rpcHeaderBytes} bytes per ${p.rsizeBytes / 1024} KiB read`,
  ];

  if (s.kind === 'LOCAL' || s.design === 'DIRECT') {
    const epoch = estimateEpoch(work, remote, p);
    reasons.push(streamReason('Streaming from the office array', epoch.stream, s.link.rttMs, p));
    reasons.push(epochReason(s.kind === 'LOCAL' ? 'Local epoch' : 'Epoch over the link', work, epoch, s.link.rttMs, p));
    const total = work.epochs * epoch.epochSeconds;
    return {
      bound: epoch.bound,
      firstEpochSeconds: epoch.epochSeconds,
      epochSeconds: epoch.epochSeconds,
      replicationSeconds: 0,
      totalSeconds: total,
      officeSeconds: total,
      bytesOverLink: work.epochs * work.datasetBytes,
      remoteStream: epoch.stream,
      reasons,
    };
  }

  const warm = estimateEpoch(work, atGpuSite, p);
  if (s.design === 'REPLICATION') {
    const copy = transferSeconds(work.datasetBytes, { link: s.link, storageBytesPerSecond: [array, node] }, p);
    reasons.push(
      streamReason(
        `Replication: ${bytes(work.datasetBytes)} copied to the replica node in ${secs(copy.seconds)}`,
        copy.stream,
        s.link.rttMs,
        p,
      ),
      `The replication is counted as read time: training starts when the copy is complete`,
      epochReason('Epochs from the replica over the GPU site LAN', work, warm, atGpuSite.link.rttMs, p),
    );
    return {
      bound: copy.stream.bound,
      firstEpochSeconds: copy.seconds + warm.epochSeconds,
      epochSeconds: warm.epochSeconds,
      replicationSeconds: copy.seconds,
      totalSeconds: copy.seconds + work.epochs * warm.epochSeconds,
      officeSeconds: copy.seconds,
      bytesOverLink: work.datasetBytes,
      remoteStream: copy.stream,
      reasons,
    };
  }

  // CACHE: the first epoch misses everywhere, each synchronous operation goes GPU → cache → office.
  const coldRtt = s.link.rttMs + atGpuSite.link.rttMs;
  const cold = estimateEpoch(work, { link: s.link, storageBytesPerSecond: [array, node], syncRttMs: coldRtt }, p);
  reasons.push(
    streamReason('Cold first epoch: the cache fills from the office array', cold.stream, s.link.rttMs, p),
    epochReason('Cold epoch through the cache', work, cold, coldRtt, p),
    work.epochs > 1
      ? epochReason('Warm epochs from the cache node', work, warm, atGpuSite.link.rttMs, p)
      : 'One epoch only: the cache is never read warm',
  );
  return {
    bound: cold.bound,
    firstEpochSeconds: cold.epochSeconds,
    epochSeconds: warm.epochSeconds,
    replicationSeconds: 0,
    totalSeconds: cold.epochSeconds + (work.epochs - 1) * warm.epochSeconds,
    officeSeconds: cold.epochSeconds,
    bytesOverLink: work.datasetBytes,
    remoteStream: cold.stream,
    reasons,
  };
}

// ---------------------------------------------------------------- comparison

function resolveWorkload(raw: unknown, values: ReferenceValues, p: ModelParameters, warnings: string[]) {
  if (!raw || typeof raw !== 'object') throw new PlannerInputError('workload', 'is required');
  const input = raw as WorkloadInput;
  const datasetBytes = datasetBytesOf(input.datasetBytes);
  const steps = finite('workload.steps', input.steps, { min: 1, integer: true, max: PLANNER_INPUT_MAX.steps });
  const epochs = optionalFinite('workload.epochs', input.epochs, { min: 1, integer: true, max: PLANNER_INPUT_MAX.epochs }) ?? 1;
  const gpuGiven = optionalFinite('workload.gpuSecondsPerStep', input.gpuSecondsPerStep, { max: PLANNER_INPUT_MAX.gpuSecondsPerStep });
  const localEpoch = optionalFinite('workload.localEpochSeconds', input.localEpochSeconds, {
    exclusive: true,
    max: PLANNER_INPUT_MAX.localEpochSeconds,
  });
  const bytesPerStep = datasetBytes / steps;
  if (gpuGiven !== undefined) {
    return { work: { datasetBytes, steps, epochs, bytesPerStep, gpuSecondsPerStep: gpuGiven }, source: 'workload.gpuSecondsPerStep' };
  }
  if (localEpoch === undefined) {
    throw new PlannerInputError(
      'workload.gpuSecondsPerStep',
      'give gpuSecondsPerStep, or localEpochSeconds (an epoch measured with storage at the GPU site) to derive it from',
    );
  }
  const local = gpuTimeFromLocalEpoch(localEpoch, { bytesPerStep, steps }, localReadPath(values), p);
  if (local.readBound) {
    warnings.push(
      `workload.localEpochSeconds ${localEpoch} s is shorter than streaming ${bytes(datasetBytes)} over the local link allows ` +
        `(${secs(local.modelEpochSeconds)}): the local run was read-bound, so the GPU time is taken as the streaming time; ` +
        'the local link or storage figures may be conservative (see overrides)',
    );
  }
  return {
    work: { datasetBytes, steps, epochs, bytesPerStep, gpuSecondsPerStep: local.gpuSecondsPerStep },
    source:
      `derived from workload.localEpochSeconds: ${localEpoch} s / ${steps} steps ` +
      `- ${fmt(p.syncRoundTripsPerStep, 3)} round trips × ${values['model.lanRttMs'].value} ms`,
  };
}

function pickRecommendation(results: ScenarioResult[], confidential: boolean, values: ReferenceValues): Recommendation | null {
  const remote = results.filter((r) => r.kind !== 'LOCAL');
  const pool = (remote.length > 0 ? remote : results).filter((r) => r.allowed);
  if (pool.length === 0) return null;
  const reasons: string[] = [];
  if (confidential) {
    const excluded = results.filter((r) => !r.allowed).map((r) => r.label);
    const skipped = excluded.length ? `; not considered: ${excluded.join(', ')}` : '';
    reasons.push(`CONFIDENTIAL data may not rest at the GPU site: DIRECT only${skipped}`);
  }
  if (remote.length > 0 && remote.length < results.length) reasons.push('LOCAL scenarios are the baseline, not a candidate');
  const fastest = pool.reduce((best, r) => (r.totalSeconds < best.totalSeconds ? r : best));
  const tolerance = values['model.tieTolerancePercent'].value;
  const tied = pool.filter((r) => r.totalSeconds <= fastest.totalSeconds * (1 + tolerance / 100));
  const chosen = tied.reduce((best, r) => (r.costUsd < best.costUsd ? r : best));
  reasons.push(`Fastest allowed: ${fastest.label}, ${secs(fastest.totalSeconds)} in total`);
  if (tied.length > 1) {
    reasons.push(`Within ${tolerance}% of it: ${tied.map((r) => `${r.label} ($${fmt(r.costUsd, 2)})`).join(', ')}; the cheapest is chosen`);
  }
  reasons.push(
    chosen.meetsKr11
      ? `${chosen.label} meets KR1.1 (${fmt(chosen.slowdownPercent, 2)}% slower than local)`
      : `${chosen.label} does not meet KR1.1 (${fmt(chosen.slowdownPercent, 2)}% slower than local)`,
  );
  const { label, kind, design, totalSeconds, costUsd } = chosen;
  return { label, kind, design, totalSeconds, costUsd, reasons };
}

/** The first LOCAL scenario, or the model with storage on the GPU site's LAN. */
function baselineOf(
  timed: ReadonlyArray<{ s: ResolvedScenario; timing: Timing }>,
  work: Workload,
  values: ReferenceValues,
  p: ModelParameters,
): ComparisonResult['baseline'] {
  const local = timed.find(({ s }) => s.kind === 'LOCAL');
  if (local) {
    const { epochSeconds, totalSeconds } = local.timing;
    return { label: local.s.input.label, epochSeconds, totalSeconds, source: 'the first LOCAL scenario' };
  }
  const { epochSeconds } = estimateEpoch(work, localReadPath(values), p);
  const source = 'the model at the GPU site (no LOCAL scenario given)';
  return { label: null, epochSeconds, totalSeconds: work.epochs * epochSeconds, source };
}

export function compareScenarios(input: CompareInput): ComparisonResult {
  if (!input || typeof input !== 'object') throw new PlannerInputError('input', 'is required');
  const { values, measured } = referenceFor(input);
  const p = modelParameters(values, values[CALIBRATED_KEY].value);
  const warnings: string[] = [];
  const workloadGiven = input.workload as WorkloadInput | undefined;
  const { work, source } =
    measured && workloadGiven && workloadGiven.gpuSecondsPerStep === undefined
      ? resolveWorkload(
          { ...workloadGiven, gpuSecondsPerStep: measured.gpuSecondsPerStep, localEpochSeconds: undefined },
          values,
          p,
          warnings,
        )
      : resolveWorkload(input.workload, values, p, warnings);
  if (!Array.isArray(input.scenarios) || input.scenarios.length === 0) {
    throw new PlannerInputError('scenarios', 'give at least one scenario');
  }
  if (input.scenarios.length > MAX_SCENARIOS) throw new PlannerInputError('scenarios', `at most ${MAX_SCENARIOS} scenarios`);
  if (input.confidential !== undefined && typeof input.confidential !== 'boolean') {
    throw new PlannerInputError('confidential', 'must be true or false');
  }
  const gpuPricing = input.gpuPricing ?? 'AMORTISED';
  if (gpuPricing !== 'AMORTISED' && gpuPricing !== 'HOURLY') throw new PlannerInputError('gpuPricing', 'must be AMORTISED or HOURLY');
  const sites = validateSites(input.sites);
  const equipment = validateEquipment(input.equipment);
  const officeGiven = input.storageSiteId === undefined ? undefined : lookupSite('storageSiteId', input.storageSiteId, sites);
  const officeSite = siteRates(input.storageSiteId ?? null, officeGiven, values['pue.standard'], values);
  const labels = new Set<string>();
  const resolved = input.scenarios.map((raw, i) => {
    const s = resolveScenario(raw, i, values, sites, officeSite);
    if (labels.has(s.input.label)) throw new PlannerInputError(`scenarios[${i}].label`, `"${s.input.label}" is used twice`);
    labels.add(s.input.label);
    return s;
  });

  const kr11 = values['model.kr11MaxSlowdownPercent'].value;
  const timed = resolved.map((s) => ({ s, timing: timeScenario(s, work, values, p) }));
  const baseline = baselineOf(timed, work, values, p);

  const context: ResultContext = { work, baseline, values, equipment, officeSite, gpuPricing, confidential: input.confidential, kr11 };
  const results = timed.map(({ s, timing }) => scenarioResult(s, timing, context));

  return {
    scenarios: results,
    baseline,
    recommended: pickRecommendation(results, input.confidential === true, values),
    calibration: {
      syncRoundTripsPerStep: values[CALIBRATED_KEY],
      gpuSecondsPerStep: work.gpuSecondsPerStep,
      gpuSecondsPerStepSource: measured && source === 'workload.gpuSecondsPerStep' ? measured.basis : source,
    },
    basis: basisList(values),
    warnings,
  };
}

/** The reference values in force: the defaults with the overrides, the model recalibrated on measured runs if given. */
function referenceFor(input: CompareInput): { values: ReferenceValues; measured: ReturnType<typeof calibrateOnRuns> | null } {
  const resolvedValues = resolveReference(input.overrides ?? {});
  let measured: ReturnType<typeof calibrateOnRuns> | null = null;
  if (input.calibration) {
    try {
      measured = calibrateOnRuns(resolvedValues, input.calibration);
    } catch (error) {
      if (error instanceof CalibrationError)
        throw new PlannerInputError('calibrationRunId', `the runs cannot calibrate the model: ${error.message}`);
      throw error;
    }
  }
  const values: ReferenceValues = measured ? { ...resolvedValues, [CALIBRATED_KEY]: measured.roundTrips } : resolvedValues;
  return { values, measured };
}

/** What every scenario's result is judged against and priced with. */
interface ResultContext {
  work: ReturnType<typeof resolveWorkload>['work'];
  baseline: ReturnType<typeof baselineOf>;
  values: ReferenceValues;
  equipment: ReturnType<typeof validateEquipment>;
  officeSite: ReturnType<typeof siteRates>;
  gpuPricing: GpuPricing;
  confidential: boolean | undefined;
  kr11: number;
}

/** One scenario's timing priced and judged: cost, slowdown against the local baseline, KR1.1, and why. */
function scenarioResult(s: ReturnType<typeof resolveScenario>, timing: ReturnType<typeof timeScenario>, c: ResultContext): ScenarioResult {
  const siteFigures = { GPU: s.gpuSite, STORAGE: c.officeSite };
  const cost = estimateCost(
    {
      kind: s.kind,
      design: s.design,
      totalSeconds: timing.totalSeconds,
      officeSeconds: timing.officeSeconds,
      bytesOverLink: timing.bytesOverLink,
      bandwidthGbps: s.link.bandwidthGbps,
      distanceClass: s.distanceClass,
    },
    c.equipment,
    siteFigures,
    c.values,
    c.gpuPricing,
  );
  const slowdownPercent = (timing.totalSeconds / c.baseline.totalSeconds - 1) * 100;
  const meetsKr11 = slowdownPercent < c.kr11;
  const allowed = !c.confidential || s.design === 'DIRECT';
  const reasons = [
    ...timing.reasons,
    `Total ${secs(timing.totalSeconds)} over ${c.work.epochs} epoch${c.work.epochs > 1 ? 's' : ''} ` +
      `vs local ${secs(c.baseline.totalSeconds)}: ` +
      `${slowdownPercent >= 0 ? '+' : ''}${fmt(slowdownPercent, 2)}%, ${meetsKr11 ? 'meets' : 'misses'} KR1.1 (< ${c.kr11}%)`,
    ...(allowed ? [] : [`${s.design} is not allowed for CONFIDENTIAL data: the dataset would rest at the GPU site`]),
    ...cost.reasons,
  ];
  return {
    label: s.input.label,
    kind: s.kind,
    design: s.design,
    allowed,
    epochSeconds: timing.epochSeconds,
    firstEpochSeconds: timing.firstEpochSeconds,
    replicationSeconds: timing.replicationSeconds,
    totalSeconds: timing.totalSeconds,
    slowdownPercent,
    meetsKr11,
    bound: timing.bound,
    energyKwh: cost.energyKwh,
    co2Kg: cost.co2Kg,
    costUsd: cost.costUsd,
    link: {
      bandwidthGbps: s.link.bandwidthGbps,
      rttMs: s.link.rttMs,
      distanceKm: s.distanceKm,
      distanceClass: s.distanceClass,
      mtuBytes: s.link.mtuBytes,
      goodputGbps: timing.remoteStream.goodput.gbps,
    },
    sites: siteFigures,
    cost,
    reasons,
  };
}
