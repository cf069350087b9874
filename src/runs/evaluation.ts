/**
 * The PoC Reference's verdicts over measured training runs, as a pure function: which runs compare with
 * which, and what the comparison says. Imports nothing from Nest or TypeORM; the runs' figures come from
 * their summaries (Read, GPU and Save time, initialisation excluded; the copy of a replica or the fill of a
 * cache counted as Read time, as the PoC Reference asks).
 *
 * - KR1.1: a remote DIRECT run over Open APN takes less than 10 % longer than the same-site (LOCAL) run of
 *   the same workload.
 * - KR2.1 / KR3.1: a REPLICATION / CACHE run over Open APN against one over the Internet, same workload and
 *   design: the training times side by side, and whether APN is the faster.
 * - Security: runs that differ only in the security measures in force: what the measures cost in time.
 * - Sites: runs that differ only in the kind of data center (green or standard): energy per site with PUE.
 */

import type { ScenarioKind, SiteKind, StorageDesign } from '../vocabulary/domain';

export type ConnectionKind = ScenarioKind;
export type Design = StorageDesign;

/** What the evaluation needs of one run. Times in seconds; energy in kWh with the sites' PUE applied. */
export interface EvaluatedRun {
  readonly id: string;
  readonly label: string;
  readonly completed: boolean;
  readonly connection: {
    readonly kind: ConnectionKind;
    readonly distanceKm: number | null;
    readonly rttMs: number | null;
    readonly bandwidthGbps: number | null;
  };
  readonly design: Design;
  readonly securityMeasures: readonly string[];
  /** Same workload = same model, dataset size, planned steps and epochs. */
  readonly workload: { readonly modelName: string; readonly datasetBytes: string; readonly steps: number; readonly epochs: number };
  readonly gpuSite: { readonly code: string; readonly kind: SiteKind; readonly pue: number };
  /** Read + GPU + Save over the recorded steps, plus the preparation (replica copy, cache fill) as Read time. */
  readonly trainingSeconds: number;
  readonly energyKwh: number | null;
}

export type VerdictKind = 'KR1.1' | 'KR2.1' | 'KR3.1' | 'SECURITY' | 'SITE';

export interface Verdict {
  readonly kind: VerdictKind;
  /** The run under test and the run it is compared with. */
  readonly runId: string;
  readonly baselineRunId: string;
  /** The figures compared (seconds for time, kWh for energy) and the relative change, in percent. */
  readonly value: number;
  readonly baselineValue: number;
  readonly changePercent: number;
  /** Whether the key result is met; null where the PoC Reference sets no threshold (security, sites). */
  readonly passed: boolean | null;
  /** One sentence naming the runs and the numbers. */
  readonly statement: string;
}

/** KR1.1's threshold: remote training time at most this much longer than same-site. */
export const KR11_MAX_INCREASE_PERCENT = 10;

const sameWorkload = (a: EvaluatedRun, b: EvaluatedRun) =>
  a.workload.modelName === b.workload.modelName &&
  a.workload.datasetBytes === b.workload.datasetBytes &&
  a.workload.steps === b.workload.steps &&
  a.workload.epochs === b.workload.epochs;
const sameMeasures = (a: EvaluatedRun, b: EvaluatedRun) =>
  a.securityMeasures.length === b.securityMeasures.length &&
  [...a.securityMeasures].sort().join() === [...b.securityMeasures].sort().join();
const sameConnection = (a: EvaluatedRun, b: EvaluatedRun) =>
  a.connection.kind === b.connection.kind &&
  a.connection.distanceKm === b.connection.distanceKm &&
  a.connection.rttMs === b.connection.rttMs &&
  a.connection.bandwidthGbps === b.connection.bandwidthGbps;

const percent = (value: number, baseline: number) => (baseline > 0 ? ((value - baseline) / baseline) * 100 : 0);
const seconds = (s: number) => `${s.toFixed(1)} s`;
const signed = (p: number) => `${p >= 0 ? '+' : ''}${p.toFixed(2)} %`;
const name = (r: EvaluatedRun) => `"${r.label}" (${r.id})`;
const connection = (r: EvaluatedRun) =>
  r.connection.kind === 'APN'
    ? `Open APN${r.connection.distanceKm !== null ? ` ${r.connection.distanceKm} km` : ''}`
    : r.connection.kind === 'INTERNET'
      ? `the Internet${r.connection.bandwidthGbps !== null ? ` (${r.connection.bandwidthGbps} Gbps, ${r.connection.rttMs} ms)` : ''}`
      : 'the same site';

/** The closest baseline among candidates: the same security measures first, then the earliest listed. */
function pick(run: EvaluatedRun, candidates: EvaluatedRun[]): EvaluatedRun | undefined {
  return candidates.find((c) => sameMeasures(run, c)) ?? candidates[0];
}

/** KR1.1: a remote DIRECT run over Open APN against the same-site run of the same workload. */
function directVerdict(run: EvaluatedRun, done: readonly EvaluatedRun[]): Verdict | null {
  if (run.connection.kind !== 'APN' || run.design !== 'DIRECT') return null;
  const local = pick(
    run,
    done.filter((c) => c.connection.kind === 'LOCAL' && c.design === 'DIRECT' && sameWorkload(run, c)),
  );
  if (!local) return null;
  const change = percent(run.trainingSeconds, local.trainingSeconds);
  const passed = change < KR11_MAX_INCREASE_PERCENT;
  return {
    kind: 'KR1.1',
    runId: run.id,
    baselineRunId: local.id,
    value: run.trainingSeconds,
    baselineValue: local.trainingSeconds,
    changePercent: change,
    passed,
    statement:
      `KR1.1 ${passed ? 'met' : 'not met'}: ${name(run)} over ${connection(run)} trained in ${seconds(run.trainingSeconds)}, ` +
      `${signed(change)} against ${seconds(local.trainingSeconds)} for the same-site run ${name(local)} (limit +${KR11_MAX_INCREASE_PERCENT} %).`,
  };
}

/** KR2.1 / KR3.1: a REPLICATION / CACHE run over Open APN against the same design over the Internet. */
function preparedVerdict(run: EvaluatedRun, done: readonly EvaluatedRun[]): Verdict | null {
  if (run.connection.kind !== 'APN' || (run.design !== 'REPLICATION' && run.design !== 'CACHE')) return null;
  const internet = pick(
    run,
    done.filter((c) => c.connection.kind === 'INTERNET' && c.design === run.design && sameWorkload(run, c)),
  );
  if (!internet) return null;
  const kind = run.design === 'REPLICATION' ? 'KR2.1' : 'KR3.1';
  const change = percent(run.trainingSeconds, internet.trainingSeconds);
  const passed = run.trainingSeconds < internet.trainingSeconds;
  const preparation = run.design === 'REPLICATION' ? 'the replication' : 'the cache fill';
  return {
    kind,
    runId: run.id,
    baselineRunId: internet.id,
    value: run.trainingSeconds,
    baselineValue: internet.trainingSeconds,
    changePercent: change,
    passed,
    statement:
      `${kind}: ${name(run)} (${run.design} over ${connection(run)}) trained in ${seconds(run.trainingSeconds)} against ` +
      `${seconds(internet.trainingSeconds)} for ${name(internet)} over ${connection(internet)} (${signed(change)}), ` +
      `${preparation} counted as Read time; Open APN is ${passed ? 'faster' : 'not faster'}.`,
  };
}

const withoutMeasures = (r: EvaluatedRun) => r.securityMeasures.length === 0 || r.securityMeasures.includes('NONE');

/** Runs that differ only in their security measures: what the measures cost. */
function securityVerdict(run: EvaluatedRun, done: readonly EvaluatedRun[]): Verdict | null {
  if (withoutMeasures(run)) return null;
  const without = done.find(
    (c) =>
      c !== run &&
      withoutMeasures(c) &&
      sameWorkload(run, c) &&
      c.design === run.design &&
      sameConnection(run, c) &&
      c.gpuSite.code === run.gpuSite.code,
  );
  if (!without) return null;
  const change = percent(run.trainingSeconds, without.trainingSeconds);
  return {
    kind: 'SECURITY',
    runId: run.id,
    baselineRunId: without.id,
    value: run.trainingSeconds,
    baselineValue: without.trainingSeconds,
    changePercent: change,
    passed: null,
    statement:
      `With ${run.securityMeasures.join(', ')}, ${name(run)} trained in ${seconds(run.trainingSeconds)}, ${signed(change)} against ` +
      `${seconds(without.trainingSeconds)} without them (${name(without)}).`,
  };
}

/** Green against standard data center: the same run elsewhere, energy with each site's PUE. */
function siteVerdict(run: EvaluatedRun, done: readonly EvaluatedRun[]): Verdict | null {
  if (run.gpuSite.kind !== 'GREEN_DC' || run.energyKwh === null) return null;
  const standard = done.find(
    (c) =>
      c.gpuSite.kind === 'STANDARD_DC' &&
      c.energyKwh !== null &&
      sameWorkload(run, c) &&
      c.design === run.design &&
      c.connection.kind === run.connection.kind &&
      sameMeasures(run, c),
  );
  if (!standard || standard.energyKwh === null) return null;
  const change = percent(run.energyKwh, standard.energyKwh);
  return {
    kind: 'SITE',
    runId: run.id,
    baselineRunId: standard.id,
    value: run.energyKwh,
    baselineValue: standard.energyKwh,
    changePercent: change,
    passed: null,
    statement:
      `At the green data center ${run.gpuSite.code} (PUE ${run.gpuSite.pue}), ${name(run)} used ${run.energyKwh.toFixed(3)} kWh, ` +
      `${signed(change)} against ${standard.energyKwh.toFixed(3)} kWh at the standard data center ${standard.gpuSite.code} ` +
      `(PUE ${standard.gpuSite.pue}) for ${name(standard)}.`,
  };
}

/**
 * Every verdict the runs allow. Only completed runs are judged (a failed run proves nothing about time);
 * a run without a counterpart gets no verdict of that kind. Verdicts come in the order of `runs`: the key
 * results first, then the security measures, then the sites.
 */
export function evaluateRuns(runs: readonly EvaluatedRun[]): Verdict[] {
  const done = runs.filter((r) => r.completed);
  const verdicts: Array<Verdict | null> = [
    ...done.flatMap((run) => [directVerdict(run, done), preparedVerdict(run, done)]),
    ...done.map((run) => securityVerdict(run, done)),
    ...done.map((run) => siteVerdict(run, done)),
  ];
  return verdicts.filter((v): v is Verdict => v !== null);
}
