/**
 * Measured runs at size, on a scratch database of a real PostgreSQL server (BENCH_DATABASE_URL), with Redis
 * when it answers. One client streams a step log of BENCH_RUN_STEPS steps (default 1,000,000) into a run
 * through POST /runs/{id}/steps, in the timestamp form the documented trainer hook writes, and the run's
 * power samples and nfsiostat output; three smaller runs (same site, Open APN, Internet) join it. Printed:
 * ingest steps/s, the summary of the large run and compareRuns over the four (p50/p99 over repeated
 * requests), the PoC report of the four runs in HTML and Markdown, and, for comparison, what computing the
 * percentiles with percentile_cont over the stored steps takes.
 *
 * Run: npm run build && node dist/bench/runs.bench.js
 * Environment: BENCH_RUN_STEPS, BENCH_RUN_REPEATS (summary and compareRuns requests, default 200),
 * BENCH_RUNS_INGEST_ONLY=1 (ingest only).
 */
import { performance } from 'node:perf_hooks';
import { request as httpRequest } from 'node:http';
import { Client } from 'pg';
import {
  benchRedisUrl,
  benchServerUrl,
  createTenantKey,
  gql,
  redisReachable,
  ScratchRun,
  runIfMain,
  type EndpointRow,
} from './booking.bench';

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
};

const CREATE = 'mutation($input: CreateTrainingRunInput!) { createTrainingRun(input: $input) { id } }';
const COMPLETE = 'mutation($id: ID!) { completeTrainingRun(id: $id) { state } }';
const SUMMARY = `query($id: ID!) { trainingRun(id: $id) { id summary {
  stepsRecorded stepsPlanned trainingSeconds preparationSeconds percentileResolutionPercent
  read { totalSeconds p50Seconds p99Seconds } gpu { totalSeconds p50Seconds p99Seconds } save { totalSeconds p50Seconds p99Seconds }
  storage { direction throughputMBps latencyMs } energy { equipment basis kwh } sites { site { code } kwh } energyKwh costUsd } } }`;
const COMPARE = `query($ids: [ID!]!) { compareRuns(runIds: $ids) { runs { id summary { trainingSeconds energyKwh costUsd read { p50Seconds p99Seconds } } }
  verdicts { kind runId baselineRunId changePercent passed statement } } }`;

/** Streams `lines` generated lines as one request body; resolves with the JSON answer. */
function post(
  url: string,
  token: string,
  path: string,
  contentType: string,
  lines: () => Generator<string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const target = new URL(`${url}${path}`);
    const req = httpRequest(
      {
        hostname: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> });
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          }
        });
      },
    );
    req.on('error', reject);
    const source = lines();
    const pump = () => {
      for (;;) {
        const next = source.next();
        if (next.done) {
          req.end();
          return;
        }
        if (!req.write(next.value)) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

/** The trainer hook's lines: a step's start, and the ends of its Read, GPU and (every 500th step) Save phases. */
function* stepLines(steps: number, startMs: number, readS: (step: number) => number, gpuS: number): Generator<string> {
  let t = startMs * 1000; // microseconds
  // The client formats timestamps cheaply (the day's text reused), so that the figure measures the service.
  let day = -1;
  let dayText = '';
  const two = (n: number) => (n < 10 ? `0${n}` : String(n));
  const iso = (us: number) => {
    const ms = Math.floor(us / 1000);
    const d = Math.floor(ms / 86_400_000);
    if (d !== day) {
      day = d;
      dayText = new Date(d * 86_400_000).toISOString().slice(0, 11);
    }
    const inDay = us - d * 86_400_000_000;
    const seconds = Math.floor(inDay / 1e6);
    const fraction = String(inDay - seconds * 1e6).padStart(6, '0');
    return `${dayText}${two(Math.floor(seconds / 3600))}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}.${fraction}+00:00`;
  };
  let chunk = '';
  for (let step = 1; step <= steps; step++) {
    const start = t;
    const readEnd = start + Math.round(readS(step) * 1e6);
    const gpuEnd = readEnd + Math.round(gpuS * 1e6);
    const saveEnd = step % 500 === 0 ? gpuEnd + 50_000 : null;
    t = (saveEnd ?? gpuEnd) + 100;
    chunk += `{"step": ${step}, "epoch": 0, "start": "${iso(start)}", "readEnd": "${iso(readEnd)}", "gpuEnd": "${iso(gpuEnd)}"${saveEnd ? `, "saveEnd": "${iso(saveEnd)}"` : ''}}\n`;
    if (chunk.length > 64 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

function* durationLines(steps: number, readS: number, gpuS: number): Generator<string> {
  let chunk = '';
  for (let step = 1; step <= steps; step++) {
    chunk += `{"step": ${step}, "read": ${readS}, "gpu": ${gpuS}, "save": 0}\n`;
    if (chunk.length > 64 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

function* powerLines(equipment: Array<[string, string, string, number]>, fromMs: number, toMs: number, everyS: number): Generator<string> {
  let chunk = '';
  for (let at = fromMs; at <= toMs + everyS * 1000; at += everyS * 1000) {
    for (const [name, kind, site, watts] of equipment) {
      chunk +=
        JSON.stringify({ equipment: name, kind, site, time: new Date(at).toISOString(), watts: watts + ((at / 1000) % 7) * 10 }) + '\n';
    }
    if (chunk.length > 64 * 1024) {
      yield chunk;
      chunk = '';
    }
  }
  if (chunk) yield chunk;
}

function* nfsiostatLines(reports: number): Generator<string> {
  let out = '';
  for (let r = 0; r < reports; r++) {
    out +=
      '\nnas01:/export/unet3d mounted on /mnt/data:\n\n' +
      '           ops/s       rpc bklog\n        10230.000           0.000\n\n' +
      'read:              ops/s            kB/s           kB/op         retrans    avg RTT (ms)    avg exe (ms)  avg queue (ms)          errors\n' +
      `                10200.000     10444800.000       1024.000        0 (0.0%)           0.41${r % 3}           0.52${r % 5}           0.010        0 (0.0%)\n` +
      'write:             ops/s            kB/s           kB/op         retrans    avg RTT (ms)    avg exe (ms)  avg queue (ms)          errors\n' +
      '                   30.000         30720.000       1024.000        0 (0.0%)           0.600           0.800           0.020        0 (0.0%)\n';
  }
  yield out;
}

/** The service, a tenant's token and what creating a run needs. */
interface RunsBenchTarget {
  url: string;
  token: string;
  site(code: string): string;
  workload: Record<string, unknown>;
  create(label: string, connection: Record<string, unknown>, extra?: Record<string, unknown>, w?: Record<string, unknown>): Promise<string>;
}

async function openTarget(url: string, token: string, steps: number): Promise<RunsBenchTarget> {
  const { sites } = await gql<{ sites: Array<{ id: string; code: string }> }>(url, token, '{ sites { id code } }');
  const workload = {
    modelName: 'UNet3D',
    datasetBytes: '3800000000000',
    datasetItems: '28000',
    batchSize: 56,
    steps: 5000,
    epochs: Math.ceil(steps / 5000),
  };
  return {
    url,
    token,
    workload,
    site: (code) => sites.find((s) => s.code === code)!.id,
    create: async (label, connection, extra = {}, w = workload) =>
      (await gql<{ createTrainingRun: { id: string } }>(url, token, CREATE, { input: { label, workload: w, connection, ...extra } }))
        .createTrainingRun.id,
  };
}

/** One client, one upload of the whole step log; the same log again (all duplicates); a log in the durations form. */
async function benchIngest(
  t: RunsBenchTarget,
  steps: number,
  startMs: number,
): Promise<{ large: string; figures: Record<string, number> }> {
  const { url, token } = t;
  const large = await t.create('large local run', { kind: 'LOCAL' }, { gpuSiteId: t.site('TAM-GDC') });
  const t0 = performance.now();
  const answer = await post(url, token, `/runs/${large}/steps`, 'application/x-ndjson', () =>
    stepLines(steps, startMs, (s) => 0.0005 + (s % 100) * 0.00001, 0.0709),
  );
  const ingestSeconds = (performance.now() - t0) / 1000;
  if (answer.status !== 200 || answer.body.accepted !== steps)
    throw new Error(`the step upload answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 500)}`);
  const ingestRate = steps / ingestSeconds;
  console.log(
    `  ingest: ${steps} steps (timestamp form) in ${ingestSeconds.toFixed(1)} s = ${Math.round(ingestRate)} steps/s from one client`,
  );
  // The same log again: every line a duplicate, checked against the stored steps.
  const t1 = performance.now();
  const again = await post(url, token, `/runs/${large}/steps`, 'application/x-ndjson', () =>
    stepLines(Math.min(steps, 200_000), startMs, (s) => 0.0005 + (s % 100) * 0.00001, 0.0709),
  );
  const dupSeconds = (performance.now() - t1) / 1000;
  const dupRate = Number(again.body.duplicates) / dupSeconds;
  console.log(
    `  repeated upload: ${String(again.body.duplicates)} duplicates in ${dupSeconds.toFixed(1)} s = ${Math.round(dupRate)} steps/s`,
  );
  const durations = await t.create('durations run', { kind: 'LOCAL' }, { gpuSiteId: t.site('TAM-GDC') });
  const durationSteps = Math.min(steps, 500_000);
  const t2 = performance.now();
  const durationAnswer = await post(url, token, `/runs/${durations}/steps`, 'application/x-ndjson', () =>
    durationLines(durationSteps, 0.0004, 0.0712),
  );
  const durationSeconds = (performance.now() - t2) / 1000;
  if (durationAnswer.body.accepted !== durationSteps)
    throw new Error(`the durations upload answered ${JSON.stringify(durationAnswer.body).slice(0, 300)}`);
  const durationRate = durationSteps / durationSeconds;
  console.log(`  ingest: ${durationSteps} steps (durations form) in ${durationSeconds.toFixed(1)} s = ${Math.round(durationRate)} steps/s`);
  return {
    large,
    figures: {
      'runs.ingestStepsPerSec': ingestRate,
      'runs.ingestDurationsStepsPerSec': durationRate,
      'runs.ingestDuplicatesPerSec': dupRate,
    },
  };
}

/** percentile_cont over the stored steps, as a summary without aggregates would compute it: p50 of five runs, in ms. */
async function percentileContP50(databaseUrl: string, run: string): Promise<number> {
  const sql = new Client({ connectionString: databaseUrl });
  await sql.connect();
  try {
    const direct: number[] = [];
    for (let i = 0; i < 5; i++) {
      const q0 = performance.now();
      await sql.query(
        `SELECT count(*), sum(read_s), sum(gpu_s), sum(save_s),
                percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY read_s), percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY gpu_s),
                percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY save_s)
           FROM training_run_steps WHERE run_id = $1`,
        [run],
      );
      direct.push(performance.now() - q0);
    }
    return percentile(direct, 50);
  } finally {
    await sql.end();
  }
}

/** The large run's power and storage samples, and its completion. */
async function completeLargeRun(t: RunsBenchTarget, large: string, steps: number, startMs: number): Promise<void> {
  const { url, token } = t;
  const runEndMs = startMs + Math.ceil(steps * 0.0715) * 1000;
  const nodes: Array<[string, string, string, number]> = [
    ['bench-n1', 'GPU_NODE', 'TAM-GDC', 7400],
    ['bench-n2', 'GPU_NODE', 'TAM-GDC', 7300],
    ['tam-sw1', 'SWITCH', 'TAM-GDC', 420],
  ];
  await post(url, token, `/runs/${large}/power`, 'application/x-ndjson', () => powerLines(nodes, startMs - 5000, runEndMs, 10));
  await post(url, token, `/runs/${large}/nfsiostat?node=bench-n1&interval=10&start=${new Date(startMs).toISOString()}`, 'text/plain', () =>
    nfsiostatLines(360),
  );
  await gql(url, token, COMPLETE, { id: large });
}

/** Three more runs of the same workload, one epoch each: on the same site, over the Open APN, over the Internet. */
async function comparisonRuns(t: RunsBenchTarget): Promise<string[]> {
  const { url, token } = t;
  const { endpoints } = await gql<{ endpoints: EndpointRow[] }>(url, token, '{ endpoints { id code rateGbps site { code } } }');
  const endpoint = (code: string) => endpoints.find((e) => e.code === code)!.id;
  const windowStart = Math.ceil((Date.now() + 2 * 86_400_000) / 3_600_000) * 3_600_000;
  const { reserveLightpath } = await gql<{ reserveLightpath: { id: string } }>(
    url,
    token,
    'mutation($input: ReserveLightpathInput!) { reserveLightpath(input: $input) { id } }',
    {
      input: {
        sourceEndpointId: endpoint('OTE-HQ-100G-1'),
        destinationEndpointId: endpoint('TAM-GDC-100G-1'),
        rateGbps: 100,
        autoCommit: true,
        start: new Date(windowStart).toISOString(),
        end: new Date(windowStart + 3_600_000).toISOString(),
      },
    },
  );
  const small = { ...t.workload, epochs: 1 };
  const others = [
    await t.create('same site', { kind: 'LOCAL' }, { gpuSiteId: t.site('TAM-GDC') }, small),
    await t.create('Open APN 40 km', { kind: 'APN', reservationId: reserveLightpath.id }, {}, small),
    await t.create(
      'Internet replication',
      { kind: 'INTERNET', bandwidthGbps: 1, rttMs: 10 },
      { design: 'REPLICATION', gpuSiteId: t.site('TAM-GDC'), storageSiteId: t.site('OTE-HQ'), preparationSeconds: 30_400 },
      small,
    ),
  ];
  const gpu = [0.0709, 0.0709, 0.0709];
  const read = [0.0005, 0.0019, 0.0005];
  for (let i = 0; i < others.length; i++) {
    await post(url, token, `/runs/${others[i]}/steps`, 'application/x-ndjson', () => durationLines(5000, read[i], gpu[i]));
    await gql(url, token, COMPLETE, { id: others[i] });
  }
  return others;
}

/** `what` once to warm up, then `n` times timed, in ms. */
async function timed(what: () => Promise<unknown>, n: number): Promise<number[]> {
  const times: number[] = [];
  await what();
  for (let i = 0; i < n; i++) {
    const q0 = performance.now();
    await what();
    times.push(performance.now() - q0);
  }
  return times;
}

/** The summary of the large run, compareRuns over the four runs, and the PoC report of the four. */
async function benchQueries(
  t: RunsBenchTarget,
  large: string,
  four: string[],
  repeats: number,
  steps: number,
): Promise<Record<string, number>> {
  const { url, token } = t;
  const summary = await timed(() => gql(url, token, SUMMARY, { id: large }), repeats);
  const compare = await timed(() => gql(url, token, COMPARE, { ids: four }), repeats);
  const one = await gql<{ trainingRun: { summary: { read: { p50Seconds: number; p99Seconds: number }; trainingSeconds: number } } }>(
    url,
    token,
    SUMMARY,
    { id: large },
  );
  console.log(
    `  summary of the ${steps}-step run: p50 ${percentile(summary, 50).toFixed(1)} ms, p99 ${percentile(summary, 99).toFixed(1)} ms ` +
      `(training ${one.trainingRun.summary.trainingSeconds.toFixed(1)} s, Read p50/p99 ${(one.trainingRun.summary.read.p50Seconds * 1000).toFixed(3)}/${(one.trainingRun.summary.read.p99Seconds * 1000).toFixed(3)} ms)`,
  );
  console.log(`  compareRuns over 4 runs: p50 ${percentile(compare, 50).toFixed(1)} ms, p99 ${percentile(compare, 99).toFixed(1)} ms`);
  const report = async (format: string) =>
    timed(async () => {
      const res = await fetch(`${url}/runs/report?ids=${four.join(',')}&format=${format}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (res.status !== 200) throw new Error(`/runs/report answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
      await res.text();
    }, 20);
  const html = await report('html');
  const md = await report('md');
  console.log(
    `  report of 4 runs: HTML p50 ${percentile(html, 50).toFixed(1)} ms, max ${Math.max(...html).toFixed(1)} ms; Markdown p50 ${percentile(md, 50).toFixed(1)} ms, max ${Math.max(...md).toFixed(1)} ms`,
  );
  return {
    'runs.summaryP50Ms': percentile(summary, 50),
    'runs.summaryP99Ms': percentile(summary, 99),
    'runs.compareRunsP50Ms': percentile(compare, 50),
    'runs.compareRunsP99Ms': percentile(compare, 99),
    'runs.reportHtmlP50Ms': percentile(html, 50),
    'runs.reportHtmlMaxMs': Math.max(...html),
    'runs.reportMarkdownMaxMs': Math.max(...md),
  };
}

export async function runRunsBench(): Promise<Record<string, number>> {
  const steps = Number(process.env.BENCH_RUN_STEPS ?? 1_000_000);
  const repeats = Number(process.env.BENCH_RUN_REPEATS ?? 200);
  const ingestOnly = process.env.BENCH_RUNS_INGEST_ONLY === '1';
  const redisUrl = benchRedisUrl();
  const scratch = await ScratchRun.open(benchServerUrl(), (await redisReachable(redisUrl)) ? redisUrl : null);
  try {
    const service = await scratch.startChild(scratch.serviceEnv());
    const token = await createTenantKey(service.url, service.adminToken, 'bench-runs', 'measured-runs benchmark');
    const target = await openTarget(service.url, token, steps);
    // 1. Ingest.
    const startMs = Date.UTC(2026, 10, 21, 9, 0, 0);
    const { large, figures } = await benchIngest(target, steps, startMs);
    figures['runs.percentileContP50Ms'] = await percentileContP50(scratch.databaseUrl, large);
    console.log(
      `  for comparison, percentile_cont over the ${steps} stored steps: p50 ${figures['runs.percentileContP50Ms'].toFixed(0)} ms`,
    );
    if (ingestOnly) return figures;
    // 2. The large run completed, then three more runs of the same workload.
    await completeLargeRun(target, large, steps, startMs);
    const four = [large, ...(await comparisonRuns(target))];
    // 3 and 4. Summary, compareRuns and the report.
    return { ...figures, ...(await benchQueries(target, large, four, repeats, steps)) };
  } finally {
    await scratch.close();
  }
}

runIfMain(module, runRunsBench);
