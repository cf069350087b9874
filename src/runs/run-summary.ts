/**
 * The PoC Reference's metrics of one measured run, as a pure function of what was recorded: Read, GPU and
 * Save time (totals and per-step percentiles), the training time, storage throughput and latency per
 * direction, energy per piece of equipment and per site, and cost per piece of equipment and the network.
 * Imports nothing from Nest or TypeORM; the figures come from the run's aggregates and samples.
 *
 * - Training time = Σ (Read + GPU + Save) over the recorded steps + the preparation (a replica's copy or a
 *   cache's fill, counted as Read time as the PoC Reference asks). Initialisation (before the first step)
 *   and any time between steps are not in it.
 * - Energy per piece of equipment: measured — the trapezoid integral of its power samples — when its samples
 *   cover the time it was used; otherwise its rated power × that time. Never both. Per site, × its PUE.
 * - Cost per piece of equipment: its price amortised over the time used, plus its energy at the site's
 *   price; the network as the rate card prices it (lightpath-hours and setup for APN, egress for Internet).
 */
import { type DistanceClass } from '../vocabulary/domain';
import { type RateCard, type UsageRecord, rate } from '../metering/rating';
import { PERCENTILE_RESOLUTION_PERCENT, quantiles } from './step-histogram';

export type EquipmentKind = 'GPU_NODE' | 'STORAGE' | 'REPLICA' | 'CACHE' | 'SWITCH';
export type EnergyBasis = 'measured' | 'rated';

export interface SiteFigures {
  readonly id: string;
  readonly code: string;
  readonly pue: number;
  readonly carbonKgPerKwh: number;
  readonly energyUsdPerKwh: number;
}

/** Reference figures of a kind of equipment: draw, price and amortisation life. */
export interface EquipmentReference {
  readonly powerKw: number;
  readonly capexUsd: number;
  readonly lifeYears: number;
  readonly powerBasis: string;
  readonly priceBasis: string;
}

/** One piece of equipment's power samples, reduced over the run's window. */
export interface PowerSeries {
  readonly equipment: string;
  readonly kind: EquipmentKind;
  readonly siteId: string;
  readonly samples: number;
  readonly firstMs: number;
  readonly lastMs: number;
  /** The longest time between two consecutive samples, in seconds. */
  readonly maxGapSeconds: number;
  /** ∫ watts dt between the first and the last sample, by trapezoids, in joules. */
  readonly joules: number;
  readonly firstWatts: number;
  readonly lastWatts: number;
}

/** nfsiostat intervals of one client node and direction (the totals since mount excluded). */
export interface IoSeries {
  readonly direction: 'READ' | 'WRITE';
  readonly node: string;
  readonly samples: number;
  /** Σ interval seconds (an interval of unknown length counts 1 s). */
  readonly seconds: number;
  /** Σ kB/s × interval: kB moved (nfsiostat's kB, 1,024 bytes). */
  readonly kilobytes: number;
  /** Σ ops/s × interval: operations. */
  readonly operations: number;
  /** Σ ops × avg exe (ms) and Σ ops × avg RTT (ms), to weight latency by operations. */
  readonly opsExeMs: number;
  readonly opsRttMs: number;
  readonly retrans: number;
}

export interface SummaryInput {
  readonly design: 'DIRECT' | 'REPLICATION' | 'CACHE';
  readonly connection: {
    readonly kind: 'LOCAL' | 'APN' | 'INTERNET';
    readonly distanceKm: number | null;
    readonly bandwidthGbps: number | null;
    readonly distanceClass: DistanceClass | null;
  };
  readonly datasetBytes: number;
  readonly epochs: number;
  readonly stepsPlanned: number;
  readonly steps: {
    readonly recorded: number;
    readonly readSeconds: number;
    readonly gpuSeconds: number;
    readonly saveSeconds: number;
    /** Histogram buckets per phase, as (bucket, count). */
    readonly buckets: {
      readonly read: ReadonlyArray<readonly [number, number]>;
      readonly gpu: ReadonlyArray<readonly [number, number]>;
      readonly save: ReadonlyArray<readonly [number, number]>;
    };
  };
  readonly preparation: { readonly seconds: number; readonly basis: string };
  /** When the run started and finished (wall clock), when known. */
  readonly window: { readonly startMs: number | null; readonly endMs: number | null };
  readonly io: readonly IoSeries[];
  readonly power: readonly PowerSeries[];
  /** The GPU nodes of the run's allocation, from the inventory. */
  readonly gpuNodes: ReadonlyArray<{ readonly name: string; readonly ratedPowerKw: number }>;
  readonly gpuSite: SiteFigures;
  readonly storageSite: SiteFigures;
  readonly reference: Readonly<Record<'GPU_SERVER' | 'STORAGE_NFS_ARRAY' | 'CACHE_OR_REPLICA_NODE' | 'SWITCH_100G', EquipmentReference>>;
  /** The rate card in force when the run started; null prices no network. */
  readonly rateCard: RateCard | null;
}

export interface PhaseSummary {
  readonly totalSeconds: number;
  readonly meanSeconds: number | null;
  readonly p50Seconds: number | null;
  readonly p99Seconds: number | null;
}

export interface StorageDirection {
  readonly direction: 'READ' | 'WRITE';
  readonly nodes: number;
  readonly samples: number;
  /** 10^6 bytes per second, summed over the client nodes (each node's mean over its intervals). */
  readonly throughputMBps: number;
  readonly opsPerSecond: number;
  /** Mean time per operation as the client saw it (avg exe), and the RPC round trip (avg RTT), weighted by operations. */
  readonly latencyMs: number | null;
  readonly rttMs: number | null;
  readonly retrans: number;
}

export interface EquipmentEnergy {
  readonly equipment: string;
  readonly kind: EquipmentKind;
  readonly siteId: string;
  readonly basis: EnergyBasis;
  /** How the figure was obtained, in words. */
  readonly source: string;
  readonly seconds: number;
  readonly averageKw: number;
  /** At the equipment (IT), and with the site's PUE. */
  readonly itKwh: number;
  readonly kwh: number;
  readonly co2Kg: number;
}

export interface SiteEnergy {
  readonly siteId: string;
  readonly pue: number;
  readonly itKwh: number;
  readonly kwh: number;
  readonly co2Kg: number;
}

export interface CostItem {
  readonly item: string;
  readonly usd: number;
  readonly amortisedUsd: number | null;
  readonly energyUsd: number | null;
  readonly basis: string;
}

export interface RunSummary {
  readonly stepsRecorded: number;
  readonly stepsPlanned: number;
  readonly read: PhaseSummary;
  readonly gpu: PhaseSummary;
  readonly save: PhaseSummary;
  readonly percentileResolutionPercent: number;
  readonly preparationSeconds: number;
  readonly preparationBasis: string;
  /** Read time with the preparation: what the PoC Reference compares. */
  readonly readSecondsWithPreparation: number;
  readonly trainingSeconds: number;
  /** Wall-clock length of the run (first step's start to the finish), when known. */
  readonly wallSeconds: number | null;
  /** The time equipment is counted for: the wall clock when known and at least the steps' sum, else that sum. */
  readonly energySeconds: number;
  readonly storage: readonly StorageDirection[];
  readonly energy: readonly EquipmentEnergy[];
  readonly sites: readonly SiteEnergy[];
  readonly energyKwh: number;
  readonly co2Kg: number;
  readonly costs: readonly CostItem[];
  readonly costUsd: number;
}

/** Samples cover a span when none is further than this from the next, nor from the span's ends. */
export const POWER_MAX_GAP_SECONDS = 300;
const HOURS_PER_YEAR = 8760;

function phase(total: number, steps: number, buckets: ReadonlyArray<readonly [number, number]>): PhaseSummary {
  const [p50, p99] = quantiles(buckets, [0.5, 0.99]);
  return { totalSeconds: total, meanSeconds: steps > 0 ? total / steps : null, p50Seconds: p50, p99Seconds: p99 };
}

function storage(io: readonly IoSeries[]): StorageDirection[] {
  const out: StorageDirection[] = [];
  for (const direction of ['READ', 'WRITE'] as const) {
    const series = io.filter((s) => s.direction === direction && s.samples > 0);
    if (series.length === 0) continue;
    const ops = series.reduce((n, s) => n + s.operations, 0);
    out.push({
      direction,
      nodes: new Set(series.map((s) => s.node)).size,
      samples: series.reduce((n, s) => n + s.samples, 0),
      throughputMBps: series.reduce((sum, s) => sum + (s.kilobytes * 1024) / Math.max(s.seconds, 1e-9) / 1e6, 0),
      opsPerSecond: series.reduce((sum, s) => sum + s.operations / Math.max(s.seconds, 1e-9), 0),
      latencyMs: ops > 0 ? series.reduce((n, s) => n + s.opsExeMs, 0) / ops : null,
      rttMs: ops > 0 ? series.reduce((n, s) => n + s.opsRttMs, 0) / ops : null,
      retrans: series.reduce((n, s) => n + s.retrans, 0),
    });
  }
  return out;
}

interface Piece {
  equipment: string;
  kind: EquipmentKind;
  siteId: string;
  ratedKw: number;
  ratedBasis: string;
  reference: EquipmentReference;
  seconds: number;
  /** Samples that stand for this piece, if any. */
  sampled: PowerSeries[];
}

/**
 * Whether samples cover `seconds` of use: consecutive samples at most POWER_MAX_GAP_SECONDS apart, the first
 * and the last within that of the window's ends (of their own span's, when the window is unknown), and the
 * span at least the time used less twice that.
 */
function covers(s: PowerSeries, seconds: number, window: SummaryInput['window'], preparationSeconds: number): boolean {
  if (s.samples < 1 || s.maxGapSeconds > POWER_MAX_GAP_SECONDS) return false;
  if (window.startMs !== null && window.endMs !== null) {
    const start = window.startMs - preparationSeconds * 1000;
    return s.firstMs - start <= POWER_MAX_GAP_SECONDS * 1000 && window.endMs - s.lastMs <= POWER_MAX_GAP_SECONDS * 1000;
  }
  return (s.lastMs - s.firstMs) / 1000 >= seconds - 2 * POWER_MAX_GAP_SECONDS;
}

/** Joules over the window: the trapezoids between samples, and the first and last readings held to its ends. */
function measuredJoules(s: PowerSeries, window: SummaryInput['window'], preparationSeconds: number): number {
  if (window.startMs === null || window.endMs === null) return s.joules;
  const start = window.startMs - preparationSeconds * 1000;
  const before = Math.max(0, s.firstMs - start) / 1000;
  const after = Math.max(0, window.endMs - s.lastMs) / 1000;
  return s.joules + s.firstWatts * before + s.lastWatts * after;
}

function referenceOf(input: SummaryInput, kind: EquipmentKind): EquipmentReference {
  switch (kind) {
    case 'GPU_NODE':
      return input.reference.GPU_SERVER;
    case 'STORAGE':
      return input.reference.STORAGE_NFS_ARRAY;
    case 'REPLICA':
    case 'CACHE':
      return input.reference.CACHE_OR_REPLICA_NODE;
    case 'SWITCH':
      return input.reference.SWITCH_100G;
    default: {
      const unknown: never = kind;
      throw new Error(`unknown equipment kind ${String(unknown)}`);
    }
  }
}

/** The equipment a run used, each with how long and its rated draw, and the samples that stand for it. */
function equipment(input: SummaryInput, energySeconds: number): Piece[] {
  const prep = input.preparation.seconds;
  const atGpuSite = prep + energySeconds;
  // The office array serves the copy (REPLICATION), or the reads all along (DIRECT, CACHE and its fill).
  const atOffice = input.design === 'REPLICATION' ? prep : prep + energySeconds;
  const pieces: Piece[] = [];
  const unused = new Set(input.power);
  const take = (match: (s: PowerSeries) => boolean) => {
    const found = [...unused].filter(match);
    for (const s of found) unused.delete(s);
    return found;
  };
  const add = (
    equipmentName: string,
    kind: EquipmentKind,
    siteId: string,
    seconds: number,
    ratedKw: number | null,
    ratedBasis: string,
    sampled: PowerSeries[],
  ) => {
    const reference = referenceOf(input, kind);
    pieces.push({
      equipment: equipmentName,
      kind,
      siteId,
      ratedKw: ratedKw ?? reference.powerKw,
      ratedBasis: ratedKw === null ? reference.powerBasis : ratedBasis,
      reference,
      seconds,
      sampled,
    });
  };

  const gpu = input.gpuSite.id;
  const office = input.storageSite.id;
  if (input.gpuNodes.length > 0) {
    for (const node of input.gpuNodes) {
      add(
        node.name,
        'GPU_NODE',
        gpu,
        atGpuSite,
        node.ratedPowerKw,
        'rated power of the node in the inventory',
        take((s) => s.kind === 'GPU_NODE' && s.equipment === node.name),
      );
    }
  } else {
    const sampled = take((s) => s.kind === 'GPU_NODE');
    if (sampled.length > 0) for (const s of sampled) add(s.equipment, 'GPU_NODE', s.siteId, atGpuSite, null, '', [s]);
    else add('GPU server (no allocation recorded: one reference server)', 'GPU_NODE', gpu, atGpuSite, null, '', []);
  }
  // Pieces the run implies but the inventory does not list: measured ones stand in for the reference piece.
  const implied = (kind: EquipmentKind, siteId: string, name: string, seconds: number) => {
    if (seconds <= 0) return;
    const sampled = take((s) => s.kind === kind && s.siteId === siteId);
    if (sampled.length === 0) add(name, kind, siteId, seconds, null, '', []);
    else if (sampled.length === 1) add(name, kind, siteId, seconds, null, '', sampled);
    else for (const s of sampled) add(s.equipment, kind, siteId, seconds, null, '', [s]);
  };
  implied('STORAGE', office, 'office storage array', atOffice);
  if (input.design === 'REPLICATION') implied('REPLICA', gpu, 'replica node', atGpuSite);
  if (input.design === 'CACHE') implied('CACHE', gpu, 'cache node', atGpuSite);
  implied('SWITCH', gpu, `switch at ${input.gpuSite.code}`, atGpuSite);
  if (office !== gpu) implied('SWITCH', office, `switch at ${input.storageSite.code}`, atOffice);
  // Samples of anything else the run's tools reported.
  for (const s of unused) add(s.equipment, s.kind, s.siteId, s.siteId === office && s.siteId !== gpu ? atOffice : atGpuSite, null, '', [s]);
  return pieces;
}

/** The network as the rate card prices it: the lightpath's hours and its setup, or the Internet egress. */
function networkCosts(input: SummaryInput, trainingSeconds: number): CostItem[] {
  const card = input.rateCard;
  const c = input.connection;
  if (!card || c.kind === 'LOCAL') return [];
  const event = (type: string, data: UsageRecord['data']): UsageRecord => ({
    specversion: '1.0',
    id: type,
    source: 'urn:apn:run',
    type,
    time: card.effectiveFrom,
    data,
  });
  let records: UsageRecord[];
  if (c.kind === 'APN') {
    if (!c.bandwidthGbps || !c.distanceClass) return [];
    const officeSeconds = input.design === 'REPLICATION' ? input.preparation.seconds : trainingSeconds;
    records = [
      event('lightpath.wavelength_seconds', {
        quantity: officeSeconds.toFixed(6),
        rateGbps: c.bandwidthGbps,
        distanceClass: c.distanceClass,
      }),
      event('lightpath.setup', { quantity: 1 }),
    ];
  } else {
    const share = input.stepsPlanned > 0 ? Math.min(1, input.steps.recorded / input.stepsPlanned) : 1;
    const bytes = input.design === 'DIRECT' ? input.datasetBytes * input.epochs * share : input.datasetBytes;
    records = [event('network.internet_egress_bytes', { quantity: Math.round(bytes).toString() })];
  }
  const rated = rate(records, card);
  const items: CostItem[] = rated.lines.map((line) => ({
    item: `network: ${line.description}`,
    usd: Number(line.amountUsd),
    amortisedUsd: null,
    energyUsd: null,
    basis: `${line.quantity} ${line.unit} at $${line.unitPriceUsd} (rate card v${card.version})`,
  }));
  for (const u of rated.unrated)
    items.push({ item: `network: ${u.type}`, usd: 0, amortisedUsd: null, energyUsd: null, basis: `not priced: ${u.reason}` });
  return items;
}

/**
 * A piece's energy over the run: its power samples integrated when they cover the run, its rated draw
 * × time otherwise; the site's PUE applied.
 */
function pieceEnergy(piece: Piece, site: SiteFigures, window: SummaryInput['window'], prep: number): EquipmentEnergy {
  const measured = piece.sampled.length > 0 && piece.sampled.every((x) => covers(x, piece.seconds, window, prep));
  let itKwh: number;
  let source: string;
  let seconds = piece.seconds;
  if (measured) {
    const joules = piece.sampled.reduce((sum, x) => sum + measuredJoules(x, window, prep), 0);
    itKwh = joules / 3.6e6;
    const samples = piece.sampled.reduce((n, x) => n + x.samples, 0);
    if (window.startMs === null) seconds = Math.max(...piece.sampled.map((x) => (x.lastMs - x.firstMs) / 1000));
    source = `measured: ${samples} power samples integrated by trapezoids over ${seconds.toFixed(1)} s`;
  } else {
    itKwh = (piece.ratedKw * piece.seconds) / 3600;
    const unusable =
      piece.sampled.length > 0
        ? `; its ${piece.sampled.reduce((n, x) => n + x.samples, 0)} power samples do not cover the run (at most ${POWER_MAX_GAP_SECONDS} s apart and from its start to its end), so they are not used`
        : '';
    source = `rated: ${piece.ratedKw} kW × ${piece.seconds.toFixed(1)} s (${piece.ratedBasis})${unusable}`;
  }
  const kwh = itKwh * site.pue;
  return {
    equipment: piece.equipment,
    kind: piece.kind,
    siteId: site.id,
    basis: measured ? 'measured' : 'rated',
    source,
    seconds,
    averageKw: seconds > 0 ? (itKwh * 3600) / seconds : 0,
    itKwh,
    kwh,
    co2Kg: kwh * site.carbonKgPerKwh,
  };
}

/** A piece's cost over the time it was used: its price amortised over its life, and its energy at the site's price. */
function pieceCost(piece: Piece, site: SiteFigures, used: EquipmentEnergy): CostItem {
  const hours = used.seconds / 3600;
  const amortisedUsd = (hours * piece.reference.capexUsd) / (piece.reference.lifeYears * HOURS_PER_YEAR);
  const energyUsd = used.kwh * site.energyUsdPerKwh;
  return {
    item: piece.equipment,
    usd: amortisedUsd + energyUsd,
    amortisedUsd,
    energyUsd,
    basis:
      `$${piece.reference.capexUsd} over ${piece.reference.lifeYears} y × ${hours.toFixed(4)} h = $${amortisedUsd.toFixed(4)} (${piece.reference.priceBasis}); ` +
      `${used.kwh.toFixed(4)} kWh × $${site.energyUsdPerKwh}/kWh at ${site.code} = $${energyUsd.toFixed(4)}`,
  };
}

/** Energy per site: its equipment's, with the site's PUE. */
function siteEnergy(sites: Iterable<SiteFigures>, energy: readonly EquipmentEnergy[]): SiteEnergy[] {
  const perSite: SiteEnergy[] = [];
  for (const site of sites) {
    const mine = energy.filter((e) => e.siteId === site.id);
    if (mine.length === 0) continue;
    const itKwh = mine.reduce((sum, e) => sum + e.itKwh, 0);
    perSite.push({ siteId: site.id, pue: site.pue, itKwh, kwh: itKwh * site.pue, co2Kg: itKwh * site.pue * site.carbonKgPerKwh });
  }
  return perSite;
}

export function summarizeRun(input: SummaryInput): RunSummary {
  const s = input.steps;
  const stepSum = s.readSeconds + s.gpuSeconds + s.saveSeconds;
  const prep = input.preparation.seconds;
  const trainingSeconds = stepSum + prep;
  const { startMs, endMs } = input.window;
  const wallSeconds = startMs !== null && endMs !== null && endMs >= startMs ? (endMs - startMs) / 1000 : null;
  const energySeconds = wallSeconds !== null && wallSeconds >= stepSum ? wallSeconds : stepSum;
  const window = wallSeconds !== null && wallSeconds >= stepSum ? input.window : { startMs: null, endMs: null };
  const sites = new Map([input.gpuSite, input.storageSite].map((site) => [site.id, site]));

  const energy: EquipmentEnergy[] = [];
  const costs: CostItem[] = [];
  for (const piece of equipment(input, energySeconds)) {
    const site = sites.get(piece.siteId) ?? input.gpuSite;
    const used = pieceEnergy(piece, site, window, prep);
    energy.push(used);
    costs.push(pieceCost(piece, site, used));
  }
  costs.push(...networkCosts(input, trainingSeconds));
  const perSite = siteEnergy(sites.values(), energy);
  return {
    stepsRecorded: s.recorded,
    stepsPlanned: input.stepsPlanned,
    read: phase(s.readSeconds, s.recorded, s.buckets.read),
    gpu: phase(s.gpuSeconds, s.recorded, s.buckets.gpu),
    save: phase(s.saveSeconds, s.recorded, s.buckets.save),
    percentileResolutionPercent: PERCENTILE_RESOLUTION_PERCENT,
    preparationSeconds: prep,
    preparationBasis: input.preparation.basis,
    readSecondsWithPreparation: s.readSeconds + prep,
    trainingSeconds,
    wallSeconds,
    energySeconds,
    storage: storage(input.io),
    energy,
    sites: perSite,
    energyKwh: perSite.reduce((sum, x) => sum + x.kwh, 0),
    co2Kg: perSite.reduce((sum, x) => sum + x.co2Kg, 0),
    costs,
    costUsd: costs.reduce((sum, c) => sum + c.usd, 0),
  };
}
