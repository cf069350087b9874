/**
 * The PoC report of a set of measured runs, as self-contained HTML (inline SVG charts, no external
 * request) or Markdown, in the structure of the IOWN PoC Reference §3: requirements for evaluation, method,
 * metrics, logs, points of verify, security considerations, benchmark testing. A pure function of the report
 * model; imports nothing from Nest or TypeORM.
 */
import type { Verdict } from './evaluation';

export interface ReportRun {
  readonly id: string;
  readonly label: string;
  readonly state: 'RECORDING' | 'COMPLETED' | 'FAILED';
  readonly failureReason: string | null;
  /** e.g. "Open APN 40 km, 100 Gbps", "Internet 1 Gbps, 10 ms", "same site". */
  readonly connection: string;
  readonly design: string;
  readonly securityMeasures: readonly string[];
  readonly workload: string;
  readonly gpuSite: string;
  readonly storageSite: string;
  readonly steps: { readonly recorded: number; readonly planned: number };
  /** Seconds, initialisation excluded; `preparation` (replica copy, cache fill) is part of `read`. */
  readonly times: {
    readonly read: number;
    readonly gpu: number;
    readonly save: number;
    readonly preparation: number;
    readonly training: number;
  };
  readonly perStep: {
    readonly readP50: number;
    readonly readP99: number;
    readonly gpuP50: number;
    readonly gpuP99: number;
    readonly saveP50: number;
    readonly saveP99: number;
  };
  /** Per direction, from nfsiostat; null without samples. */
  readonly storage: ReadonlyArray<{ readonly direction: 'read' | 'write'; readonly throughputMBps: number; readonly latencyMs: number }>;
  readonly energy: ReadonlyArray<{
    readonly equipment: string;
    readonly kind: string;
    readonly site: string;
    readonly kwh: number;
    readonly basis: 'measured' | 'rated';
  }>;
  readonly sites: ReadonlyArray<{ readonly site: string; readonly pue: number; readonly kwh: number }>;
  readonly costs: ReadonlyArray<{ readonly item: string; readonly usd: number }>;
  readonly logs: { readonly lines: number; readonly errors: number; readonly warnings: number };
  /** The planner's prediction for the same scenario, and its error against the measurement. */
  readonly prediction: { readonly seconds: number; readonly errorPercent: number } | null;
  /** Seconds per step, in step order (downsampled to at most a few hundred points). */
  readonly stepSeries: readonly number[];
  /** Watts over time, per piece of equipment (seconds from the run's start). */
  readonly powerSeries: ReadonlyArray<{ readonly equipment: string; readonly points: ReadonlyArray<readonly [number, number]> }>;
  /** What protected the data, or that nothing did: in use and at rest in the DC, in motion, at rest in the office. */
  readonly security: { readonly inDataCenter: string; readonly inMotion: string; readonly atOffice: string };
}

/** What the signed audit checkpoints prove about the runs' records (docs/audit.md). */
export interface ReportAudit {
  /** The latest signed checkpoint of the audit chain, with its signature checked when the report was made; null: none yet. */
  readonly checkpoint: {
    readonly seq: string;
    readonly headHash: string;
    readonly at: string;
    readonly keyId: string;
    readonly signatureValid: boolean;
  } | null;
  /** Per run: the last chained audit entry about it (the run, its mount, its lightpath), and entries not chained yet. */
  readonly runs: ReadonlyArray<{ readonly label: string; readonly lastSeq: string | null; readonly pending: number }>;
}

export interface ReportModel {
  readonly title: string;
  readonly generatedAt: string;
  readonly runs: readonly ReportRun[];
  readonly verdicts: readonly Verdict[];
  readonly audit?: ReportAudit;
}

/** The audit paragraphs of the security considerations: the latest checkpoint, its signature, and what it covers. */
export function auditParagraphs(audit: ReportAudit | undefined): string[] {
  if (!audit) return [];
  const c = audit.checkpoint;
  if (!c) {
    return [
      'Audit: every change to these runs, their mounts and lightpaths is in the hash-chained audit log, but no checkpoint of it has been signed yet, so nothing outside the service vouches for those entries.',
    ];
  }
  const head = `Audit: the latest signed checkpoint of the audit log covers entries 1 to ${c.seq} (head hash ${c.headHash}, signed ${c.at} by ${c.keyId}); its Ed25519 signature ${c.signatureValid ? 'verifies under the service’s audit key' : 'does NOT verify under the service’s audit key: the checkpoint cannot be relied on'}. An export of the log checked against it offline (npm run audit:verify) shows any entry rewritten since.`;
  return [
    head,
    ...audit.runs.map((r) => {
      const pending = r.pending > 0 ? `; ${r.pending} more not yet chained` : '';
      if (r.lastSeq === null) return `${r.label}: no audit entry is chained yet${pending}.`;
      return BigInt(r.lastSeq) <= BigInt(c.seq)
        ? `${r.label}: its audit entries (run, mount, lightpath), up to entry ${r.lastSeq}, are covered by the checkpoint${pending}.`
        : `${r.label}: its audit entries up to entry ${r.lastSeq} are chained, but the latest were made after the checkpoint (${c.seq}); the next checkpoint covers them${pending}.`;
    }),
  ];
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2'];
const num = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const verdictWord = (v: Verdict) => (v.passed === null ? 'observed' : v.passed ? 'met' : 'not met');

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Markdown text: no raw HTML (renderers pass it through), no line break inside a paragraph. */
function mdText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\r?\n/g, ' ');
}

/** A Markdown table cell: as text, and pipes escaped. */
function cell(text: string): string {
  return mdText(text).replace(/\|/g, '\\|');
}

interface Section {
  readonly heading: string;
  readonly paragraphs: readonly string[];
  readonly table?: { readonly head: readonly string[]; readonly rows: ReadonlyArray<readonly string[]> };
  readonly chart?: 'steps' | 'bars' | 'power';
}

/** 1. Requirements for evaluation: where each run trained and read its data. */
function requirementsSection(runs: readonly ReportRun[]): Section {
  return {
    heading: '1. Requirements for evaluation',
    paragraphs: [
      'The training container runs on the GPU servers; the training data stays on the storage server at the office, or on its replica or cache in the data center; the data directory is mounted from the GPU servers over the connection listed for each run.',
    ],
    table: {
      head: ['run', 'connection', 'design', 'workload', 'GPU site', 'storage site', 'security measures'],
      rows: runs.map((r) => [
        r.label,
        r.connection,
        r.design,
        r.workload,
        r.gpuSite,
        r.storageSite,
        r.securityMeasures.join(', ') || 'NONE',
      ]),
    },
  };
}

/** 2. Evaluation method: what each key result compares. */
function methodSection(): Section {
  return {
    heading: '2. Evaluation method',
    paragraphs: [
      'DIRECT access: the increase of training time over Open APN against the same-site run of the same workload (KR1.1: less than 10 %).',
      'REPLICATION and CACHE: the training time over Open APN against the Internet, the replication or cache fill counted as Read time (KR2.1, KR3.1).',
      'Where runs differ only in their security measures, both results are reported; where they differ only in the kind of data center, their energy is compared.',
    ],
  };
}

/** 3. Metrics collected: each phase's totals and percentiles. */
function metricsSection(runs: readonly ReportRun[]): Section {
  return {
    heading: '3. Metrics collected',
    paragraphs: [
      'Read, GPU and Save time per step from the trainer’s timestamps, initialisation excluded; totals and per-step percentiles.',
    ],
    table: {
      head: [
        'run',
        'steps',
        'Read (s)',
        'of which preparation (s)',
        'GPU (s)',
        'Save (s)',
        'training (s)',
        'Read p50/p99 (ms)',
        'GPU p50/p99 (ms)',
        'Save p50/p99 (ms)',
      ],
      rows: runs.map((r) => [
        r.label,
        `${r.steps.recorded} / ${r.steps.planned}`,
        num(r.times.read),
        num(r.times.preparation),
        num(r.times.gpu),
        num(r.times.save),
        num(r.times.training),
        `${num(r.perStep.readP50 * 1000)} / ${num(r.perStep.readP99 * 1000)}`,
        `${num(r.perStep.gpuP50 * 1000)} / ${num(r.perStep.gpuP99 * 1000)}`,
        `${num(r.perStep.saveP50 * 1000)} / ${num(r.perStep.saveP99 * 1000)}`,
      ]),
    },
    chart: 'bars',
  };
}

/** 4. Logs collected. */
function logsSection(runs: readonly ReportRun[]): Section {
  return {
    heading: '4. Logs collected',
    paragraphs: ['The trainer’s information and error logs, as uploaded.'],
    table: {
      head: ['run', 'lines', 'errors', 'warnings'],
      rows: runs.map((r) => [r.label, String(r.logs.lines), String(r.logs.errors), String(r.logs.warnings)]),
    },
  };
}

/** 5. Points of verify: whether each training completed. */
function verifySection(runs: readonly ReportRun[]): Section {
  return {
    heading: '5. Points of verify',
    paragraphs: runs.map((r) =>
      r.state === 'COMPLETED'
        ? `${r.label}: the training completed without error (${r.steps.recorded} of ${r.steps.planned} steps recorded${r.logs.errors > 0 ? `; ${r.logs.errors} error line(s) logged` : ''}).`
        : r.state === 'FAILED'
          ? `${r.label}: the training did not complete: ${r.failureReason ?? 'no reason given'}.`
          : `${r.label}: still recording; not verified.`,
    ),
  };
}

/** 6. Security considerations: the measures in force and the audit trail. */
function securitySection(model: ReportModel): Section {
  const runs = model.runs;
  return {
    heading: '6. Security considerations',
    paragraphs: [
      'Each run’s measures, as recorded with the run and its mount; a measure not in force is said so.',
      ...auditParagraphs(model.audit),
    ],
    table: {
      head: ['run', 'data in use and at rest in the data center', 'data in motion', 'data at rest in the office'],
      rows: runs.map((r) => [r.label, r.security.inDataCenter, r.security.inMotion, r.security.atOffice]),
    },
  };
}

/** 7. Benchmark testing: the verdicts, the predictions and the storage figures. */
function benchmarkSection(model: ReportModel): Section {
  const runs = model.runs;
  return {
    heading: '7. Benchmark testing',
    paragraphs: [
      ...model.verdicts.map((v) => `${v.kind} (${verdictWord(v)}): ${v.statement}`),
      ...(model.verdicts.length === 0 ? ['No pair of runs allows a verdict: each needs a counterpart with the same workload.'] : []),
      ...runs
        .filter((r) => r.prediction)
        .map(
          (r) =>
            `${r.label}: the planner predicted ${num(r.prediction!.seconds)} s; measured ${num(r.times.training)} s (error ${num(r.prediction!.errorPercent, 2)} %).`,
        ),
    ],
    table: {
      head: ['run', 'direction', 'throughput (MB/s)', 'latency (ms)'],
      rows: runs.flatMap((r) =>
        r.storage.length
          ? r.storage.map((s) => [r.label, s.direction, num(s.throughputMBps), num(s.latencyMs, 2)])
          : [[r.label, '–', 'no nfsiostat samples', '–']],
      ),
    },
    chart: 'steps',
  };
}

/** 7.1 Power and energy per equipment and per site. */
function energySection(runs: readonly ReportRun[]): Section {
  return {
    heading: '7.1 Power and energy per equipment and per site',
    paragraphs: [
      'Measured where power samples cover the run, rated power × time otherwise (never both for one piece of equipment); per site with its PUE.',
    ],
    table: {
      head: ['run', 'equipment', 'kind', 'site', 'energy (kWh)', 'basis'],
      rows: runs.flatMap((r) => [
        ...r.energy.map((e) => [r.label, e.equipment, e.kind, e.site, num(e.kwh, 3), e.basis]),
        ...r.sites.map((s) => [r.label, `site total (PUE ${s.pue})`, 'site', s.site, num(s.kwh, 3), 'with PUE']),
      ]),
    },
    chart: 'power',
  };
}

/** 7.2 Cost per equipment. */
function costSection(runs: readonly ReportRun[]): Section {
  return {
    heading: '7.2 Cost per equipment',
    paragraphs: ['Prices amortised over each run, energy at the site’s price, and the network.'],
    table: { head: ['run', 'item', 'USD'], rows: runs.flatMap((r) => r.costs.map((c) => [r.label, c.item, num(c.usd, 2)])) },
  };
}

/** The report's content, once, for both renderings. */
function sections(model: ReportModel): Section[] {
  return [
    requirementsSection(model.runs),
    methodSection(),
    metricsSection(model.runs),
    logsSection(model.runs),
    verifySection(model.runs),
    securitySection(model),
    benchmarkSection(model),
    energySection(model.runs),
    costSection(model.runs),
  ];
}

// ---------------------------------------------------------------- SVG charts

const W = 640;
const H = 220;
const PAD = 40;

function axes(maxX: number, maxY: number, xLabel: string, yLabel: string): string {
  return (
    `<line x1="${PAD}" y1="${H - PAD}" x2="${W - 10}" y2="${H - PAD}" stroke="#333"/>` +
    `<line x1="${PAD}" y1="10" x2="${PAD}" y2="${H - PAD}" stroke="#333"/>` +
    `<text x="${W - 10}" y="${H - 8}" text-anchor="end" font-size="11">${escapeHtml(xLabel)} (max ${num(maxX, 0)})</text>` +
    `<text x="4" y="20" font-size="11">${escapeHtml(yLabel)} (max ${num(maxY, 2)})</text>`
  );
}

function lineChart(
  series: ReadonlyArray<{ name: string; points: ReadonlyArray<readonly [number, number]> }>,
  xLabel: string,
  yLabel: string,
): string {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return '<p><em>No samples to draw.</em></p>';
  const maxX = Math.max(1e-9, ...all.map((p) => p[0]));
  const maxY = Math.max(1e-9, ...all.map((p) => p[1]));
  const x = (v: number) => PAD + (v / maxX) * (W - PAD - 10);
  const y = (v: number) => H - PAD - (v / maxY) * (H - PAD - 10);
  const lines = series
    .map((s, i) => {
      const points = s.points.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ');
      const colour = PALETTE[i % PALETTE.length];
      return (
        `<polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${points}"><title>${escapeHtml(s.name)}</title></polyline>` +
        `<text x="${W - 12}" y="${24 + i * 14}" text-anchor="end" font-size="11" fill="${colour}">${escapeHtml(s.name)}</text>`
      );
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">${axes(maxX, maxY, xLabel, yLabel)}${lines}</svg>`;
}

function stackedBars(runs: readonly ReportRun[]): string {
  if (runs.length === 0) return '';
  const max = Math.max(1e-9, ...runs.map((r) => r.times.read + r.times.gpu + r.times.save));
  const rowH = 24;
  const height = runs.length * rowH + 30;
  const scale = (v: number) => (v / max) * (W - 180);
  const parts: Array<[keyof ReportRun['times'], string]> = [
    ['read', '#1f77b4'],
    ['gpu', '#2ca02c'],
    ['save', '#ff7f0e'],
  ];
  const bars = runs
    .map((r, i) => {
      let offset = 150;
      const y = 10 + i * rowH;
      const segments = parts
        .map(([part, colour]) => {
          const w = scale(r.times[part]);
          const rect = `<rect x="${offset.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${colour}"><title>${part} ${num(r.times[part])} s</title></rect>`;
          offset += w;
          return rect;
        })
        .join('');
      return `<text x="4" y="${y + 13}" font-size="11">${escapeHtml(r.label.slice(0, 24))}</text>${segments}<text x="${(offset + 4).toFixed(1)}" y="${y + 13}" font-size="11">${num(r.times.training)} s</text>`;
    })
    .join('');
  const legend = parts
    .map(([part, colour], i) => `<text x="${150 + i * 70}" y="${height - 6}" font-size="11" fill="${colour}">${part}</text>`)
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img">${bars}${legend}</svg>`;
}

function chartHtml(kind: NonNullable<Section['chart']>, model: ReportModel): string {
  if (kind === 'bars') return stackedBars(model.runs);
  if (kind === 'steps') {
    return lineChart(
      model.runs.map((r) => ({ name: r.label, points: r.stepSeries.map((s, i) => [i, s] as const) })),
      'step',
      'seconds per step',
    );
  }
  return lineChart(
    model.runs.flatMap((r) => r.powerSeries.map((p) => ({ name: `${r.label}: ${p.equipment}`, points: p.points }))),
    'seconds',
    'watts',
  );
}

// ---------------------------------------------------------------- renderings

/** Self-contained HTML: inline CSS and SVG, no script, no external request. */
export function renderReportHtml(model: ReportModel): string {
  const body = sections(model)
    .map((s) => {
      const paragraphs = s.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('\n');
      const table = s.table
        ? `<table><thead><tr>${s.table.head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr></thead><tbody>` +
          s.table.rows.map((row) => `<tr>${row.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('') +
          '</tbody></table>'
        : '';
      const chart = s.chart ? `<figure>${chartHtml(s.chart, model)}</figure>` : '';
      return `<section><h2>${escapeHtml(s.heading)}</h2>\n${paragraphs}\n${table}\n${chart}</section>`;
    })
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(model.title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;font-size:.85rem;text-align:left}th{background:#f3f3f3}</style>
</head><body>
<h1>${escapeHtml(model.title)}</h1>
<p>Generated ${escapeHtml(model.generatedAt)} from ${model.runs.length} measured run(s).</p>
${body}
</body></html>
`;
}

/** The same report as Markdown (charts as their figures only: tables carry every number). */
export function renderReportMarkdown(model: ReportModel): string {
  const out: string[] = [`# ${mdText(model.title)}`, '', `Generated ${model.generatedAt} from ${model.runs.length} measured run(s).`, ''];
  for (const s of sections(model)) {
    out.push(`## ${s.heading}`, '');
    for (const p of s.paragraphs) out.push(mdText(p), '');
    if (s.table) {
      out.push(`| ${s.table.head.map(cell).join(' | ')} |`, `|${s.table.head.map(() => '---').join('|')}|`);
      for (const row of s.table.rows) out.push(`| ${row.map(cell).join(' | ')} |`);
      out.push('');
    }
  }
  return out.join('\n');
}
