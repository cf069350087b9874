/**
 * The prediction tables of docs/planner.md and the README, computed from the estimator with its reference
 * values: the PoC workload at local, over APN at 40, 200 and 1,000 km with each storage design, and over the
 * PoC's Internet reference link. `npm run planner:tables` rewrites them; a unit test fails when a committed
 * document no longer matches the code.
 */
import { StorageDesign } from '../vocabulary/domain';
import { CompareInput, ComparisonResult, ScenarioInput, compareScenarios } from './estimator';
import { fiberRttMs, goodput } from '../vocabulary/physics';
import { EgressTier, POC_REFERENCE, REFERENCE_DEFAULTS, basisList, modelParameters } from '../vocabulary/reference';

export const PREDICTION_DISTANCES_KM = [40, 200, 1000] as const;
const DESIGNS: readonly StorageDesign[] = ['DIRECT', 'REPLICATION', 'CACHE'];
const reference = POC_REFERENCE.referenceLinkWithoutPublishedResult;
const localMeasured = POC_REFERENCE.measured.find((m) => m.case === 'local')?.epochSeconds ?? NaN;

const apn = (km: number, design: StorageDesign): ScenarioInput => ({ label: `APN ${km} km`, kind: 'APN', design, distanceKm: km });
const internet = (design: StorageDesign): ScenarioInput => ({
  label: `Internet ${reference.bandwidthGbps} Gbps, ${reference.rttMs} ms`,
  kind: 'INTERNET',
  design,
  bandwidthGbps: reference.bandwidthGbps,
  rttMs: reference.rttMs,
});

/** The PoC workload with `epochs` epochs, GPU time derived from the measured local epoch. */
export function pocWorkload(epochs: number): CompareInput['workload'] {
  return {
    datasetBytes: String(POC_REFERENCE.workload.datasetBytes),
    steps: POC_REFERENCE.workload.steps,
    epochs,
    localEpochSeconds: localMeasured,
  };
}

/** Every scenario of the tables; labels repeat across designs, so each design runs in its own comparison. */
export function predict(epochs: number): Array<{ design: StorageDesign; result: ComparisonResult }> {
  return DESIGNS.map((design) => ({
    design,
    result: compareScenarios({
      workload: pocWorkload(epochs),
      scenarios: [{ label: 'Local', kind: 'LOCAL' }, ...PREDICTION_DISTANCES_KM.map((km) => apn(km, design)), internet(design)],
    }),
  }));
}

const f1 = (n: number) => n.toFixed(1);
const f2 = (n: number) => n.toFixed(2);
const secondsCell = (s: number) => (s >= 3600 ? `${s.toFixed(0)} (${(s / 3600).toFixed(2)} h)` : f1(s));
const percentCell = (p: number) => `${p >= 0 ? '+' : ''}${f2(p)}%`;
const duration = (s: number) => (s >= 3600 ? `${s.toFixed(0)} s (${(s / 3600).toFixed(2)} h)` : `${f1(s)} s`);

function rows(epochs: number): string[] {
  const lines: string[] = [];
  predict(epochs).forEach(({ design, result }, i) => {
    for (const r of result.scenarios) {
      if (r.kind === 'LOCAL' && i > 0) continue;
      const designCell = r.kind === 'LOCAL' ? '-' : design;
      const cells =
        epochs === 1
          ? [r.label, designCell, r.link.rttMs.toFixed(3), r.bound, secondsCell(r.firstEpochSeconds), secondsCell(r.totalSeconds)]
          : [r.label, designCell, secondsCell(r.firstEpochSeconds), secondsCell(r.epochSeconds), secondsCell(r.totalSeconds)];
      cells.push(percentCell(r.slowdownPercent), r.meetsKr11 ? 'yes' : 'no', f2(r.energyKwh), f2(r.co2Kg), f2(r.costUsd));
      lines.push(`| ${cells.join(' | ')} |`);
    }
  });
  return lines;
}

function recommendations(): string[] {
  const lines = ['| Path | 1 epoch | 10 epochs | 10 epochs, CONFIDENTIAL |', '|---|---|---|---|'];
  const paths: Array<[string, (d: StorageDesign) => ScenarioInput]> = [
    ...PREDICTION_DISTANCES_KM.map((km): [string, (d: StorageDesign) => ScenarioInput] => [`APN ${km} km`, (d) => apn(km, d)]),
    [`Internet ${reference.bandwidthGbps} Gbps, ${reference.rttMs} ms`, internet],
  ];
  for (const [name, make] of paths) {
    const scenarios = DESIGNS.map((d) => ({ ...make(d), label: d }));
    const pick = (epochs: number, confidential: boolean) => {
      const r = compareScenarios({ workload: pocWorkload(epochs), scenarios, confidential }).recommended;
      return r ? `${r.design} (${duration(r.totalSeconds)}, $${f2(r.costUsd)})` : '-';
    };
    lines.push(`| ${name} | ${pick(1, false)} | ${pick(10, false)} | ${pick(10, true)} |`);
  }
  return lines;
}

/**
 * The APN distance at which a design stops meeting KR1.1 for the PoC workload, found by bisection on the
 * estimator to 0.01 km (slowdown grows with distance); null if not even at 0 km, Infinity if still at maxKm.
 */
export function kr11ReachKm(design: StorageDesign, epochs: number, maxKm = 5000): number | null {
  const meets = (km: number) => compareScenarios({ workload: pocWorkload(epochs), scenarios: [apn(km, design)] }).scenarios[0].meetsKr11;
  if (!meets(0)) return null;
  if (meets(maxKm)) return Infinity;
  let low = 0;
  let high = maxKm;
  while (high - low > 0.01) {
    const mid = (low + high) / 2;
    if (meets(mid)) low = mid;
    else high = mid;
  }
  return low;
}

function reachLines(): string[] {
  const text = (km: number | null) => (km === null ? 'at no distance' : km === Infinity ? 'beyond 5,000 km' : `up to ${Math.round(km)} km`);
  return DESIGNS.map((design) => `- ${design}: 1 epoch ${text(kr11ReachKm(design, 1))}; 10 epochs ${text(kr11ReachKm(design, 10))}`);
}

function reasonLines(): string[] {
  const cases: Array<[string, number, ScenarioInput]> = [
    ['APN 200 km, DIRECT, 1 epoch', 1, apn(200, 'DIRECT')],
    ['APN 1000 km, DIRECT, 1 epoch', 1, apn(1000, 'DIRECT')],
    ['APN 1000 km, REPLICATION, 10 epochs', 10, apn(1000, 'REPLICATION')],
    ['APN 1000 km, CACHE, 10 epochs', 10, apn(1000, 'CACHE')],
    ['Internet reference link, DIRECT, 1 epoch', 1, internet('DIRECT')],
  ];
  return cases.flatMap(([title, epochs, scenario]) => {
    const [result] = compareScenarios({ workload: pocWorkload(epochs), scenarios: [scenario] }).scenarios;
    return [`*${title}:*`, '', ...result.reasons.map((reason) => `- ${reason}`), ''];
  });
}

function referenceTable(): string[] {
  const value = (v: number | readonly EgressTier[]) =>
    typeof v === 'number'
      ? String(Number(v.toPrecision(12)))
      : v.map((t) => `${t.upToGb === null ? 'beyond' : `to ${t.upToGb} GB`}: $${t.usdPerGb}/GB`).join('; ');
  return [
    '| Key | Default | Basis |',
    '|---|---|---|',
    ...basisList(REFERENCE_DEFAULTS).map((b) => `| \`${b.key}\` | ${value(b.value)} | ${b.basis.replace(/\|/g, '\\|')} |`),
  ];
}

function calibrationLines(): string[] {
  const { calibration } = compareScenarios({ workload: pocWorkload(1), scenarios: [{ label: 'Local', kind: 'LOCAL' }] });
  const v = REFERENCE_DEFAULTS;
  const p = modelParameters(v, calibration.syncRoundTripsPerStep.value);
  const lightpath = { bandwidthGbps: v['model.apnBandwidthGbps'].value, rttMs: 0, mtuBytes: v['model.mtuBytes.APN'].value };
  const goodputBytes = (goodput(lightpath, p).gbps * 1e9) / 8;
  const windowRttMs = (p.bytesInFlight / goodputBytes) * 1000;
  const windowKm = (windowRttMs - p.lanRttMs) / fiberRttMs(1, p);
  return [
    `- synchronous round trips per step: **${calibration.syncRoundTripsPerStep.value.toFixed(3)}** ` +
      `(${calibration.syncRoundTripsPerStep.basis})`,
    `- GPU time per step of the PoC workload: **${(calibration.gpuSecondsPerStep * 1000).toFixed(3)} ms** ` +
      `(${calibration.gpuSecondsPerStepSource})`,
    `- with host-and-LAN round trip ${v['model.lanRttMs'].value} ms, ${v['model.bytesInFlight'].value / 2 ** 20} MiB in flight, ` +
      `office array ${v['storage.arrayReadGBps'].value} GB/s, cache/replica node ${v['storage.nodeGBps'].value} GB/s`,
    `- a ${v['model.apnBandwidthGbps'].value}G lightpath stays link-bound (not window-bound) up to a round trip of ` +
      `${windowRttMs.toFixed(1)} ms, about ${Math.round(windowKm)} km`,
  ];
}

/** The generated part of docs/planner.md. */
export function predictionSection(): string {
  return [
    '**Calibrated values** (with the reference defaults):',
    '',
    ...calibrationLines(),
    '',
    '**One epoch** (the PoC run). The first epoch includes the replication or the cold cache. Energy, carbon and',
    'cost are for the whole run with the default equipment (one 8-GPU server, one array, one switch per site, one',
    'transponder per end, a cache/replica node where the design needs one) and the default site figures.',
    '',
    '| Scenario | Design | RTT (ms) | Bound | First epoch (s) | Total (s) | vs local | KR1.1 | kWh | kg CO2 | USD |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows(1),
    '',
    '**Ten epochs** of the same workload.',
    '',
    '| Scenario | Design | First epoch (s) | Later epochs (s) | Total (s) | vs local | KR1.1 | kWh | kg CO2 | USD |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows(10),
    '',
    '**Recommended design** per path (fastest allowed in total; within 1% the cheaper).',
    '',
    ...recommendations(),
    '',
    '**How far each design meets KR1.1** over a 100G APN lightpath (longest distance with less than 10% slowdown):',
    '',
    ...reachLines(),
    '',
    '**The reasons the estimator gives** for some of these (the `reasons` of each scenario result):',
    '',
    ...reasonLines(),
    '**Reference values** and their basis (the `basis` of every comparison; each can be overridden by key):',
    '',
    ...referenceTable(),
  ].join('\n');
}

/** The generated part of the README: remote DIRECT access to the PoC workload, and how far KR1.1 holds. */
export function summarySection(): string {
  const [direct] = predict(1);
  return [
    '| Path | RTT (ms) | Bound | Epoch (s) | vs local | KR1.1 |',
    '|---|---|---|---|---|---|',
    ...direct.result.scenarios.map((r) => {
      const cells = [r.label, r.link.rttMs.toFixed(3), r.bound, secondsCell(r.epochSeconds), percentCell(r.slowdownPercent)];
      return `| ${[...cells, r.meetsKr11 ? 'yes' : 'no'].join(' | ')} |`;
    }),
    '',
    'KR1.1 (less than 10% slower than local) holds over a 100G lightpath:',
    '',
    ...reachLines(),
  ].join('\n');
}

/** The documents with generated parts, the name of each part, and what renders it. */
export const GENERATED_BLOCKS = [
  { file: 'docs/planner.md', name: 'planner-predictions', render: predictionSection },
  { file: 'README.md', name: 'planner-summary', render: summarySection },
] as const;

const beginMarker = (name: string) => `<!-- ${name}:begin (generated by npm run planner:tables; do not edit) -->`;
const endMarker = (name: string) => `<!-- ${name}:end -->`;

/** `document` with the block `name` replaced by `body`; throws if its markers are missing. */
export function replaceBlock(document: string, name: string, body: string): string {
  const begin = document.indexOf(beginMarker(name));
  const end = document.indexOf(endMarker(name));
  if (begin < 0 || end < begin) throw new Error(`the document has no ${name} markers`);
  return `${document.slice(0, begin)}${beginMarker(name)}\n\n${body}\n\n${document.slice(end)}`;
}
