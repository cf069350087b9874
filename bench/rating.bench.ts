/**
 * Rating at volume: a million usage lines through the pure rating engine, checked for exactness (decimal
 * micro-dollars, not floats) and timed. These were unit tests; at a million records they belong here, and
 * the unit spec keeps the same checks on ten thousand.
 *
 * Run: npm run build && node dist/bench/rating.bench.js   (also part of npm run bench)
 * Environment: BENCH_RATING_LINES (default 1,000,000).
 */
import { performance } from 'node:perf_hooks';
import { DEFAULT_RATE_CARD, rate, type UsageRecord } from '../src/metering/rating';
import { runIfMain } from './booking.bench';

const usage = (id: string, type: string, data: UsageRecord['data'], subject: string): UsageRecord => ({
  specversion: '1.0',
  id,
  source: 'urn:apn:bench',
  type,
  time: '2025-06-01T00:00:00Z',
  subject,
  data,
});

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`rating benchmark: ${what}`);
}

export async function runRatingBench(): Promise<Record<string, number>> {
  const n = Number(process.env.BENCH_RATING_LINES ?? 1_000_000);
  check(Number.isInteger(n) && n > 0 && n % 1000 === 0, 'BENCH_RATING_LINES must be a positive multiple of 1000');

  // 0.36 s of a 22 USD node-hour is 0.0022 USD; a float running sum of a million of them misses 2200.
  const lines = Array.from({ length: n }, (_, i) => usage(`evt-${i}`, 'gpu.node_seconds', { quantity: '0.36' }, `job-${i}`));
  let started = performance.now();
  const perJob = rate(lines, DEFAULT_RATE_CARD);
  const perJobMs = performance.now() - started;
  const expectedUsd = ((n * 22) / 10_000).toFixed(6);
  check(perJob.lines.length === n, `expected ${n} lines, got ${perJob.lines.length}`);
  check(
    perJob.lines.every((line) => line.amountMicros === 2200n),
    'every line is 2200 micro-dollars',
  );
  check(perJob.totals.amountUsd === expectedUsd, `total ${perJob.totals.amountUsd}, expected ${expectedUsd}`);
  const floatSum = perJob.lines.reduce((sum, line) => sum + Number(line.amountUsd), 0);
  check(floatSum !== Number(expectedUsd), 'a float running sum would have been exact: the case proves nothing');

  const tiny = Array.from({ length: n }, (_, i) => usage(`evt-m-${i}`, 'mount.seconds', { quantity: 0.1, design: 'DIRECT' }, 'rsv'));
  started = performance.now();
  const [line] = rate(tiny, DEFAULT_RATE_CARD).lines;
  const oneLineMs = performance.now() - started;
  check(line.usageQuantity === String(n / 10), `quantity ${line.usageQuantity}, expected ${n / 10}`);
  if (n === 1_000_000) check(line.amountUsd === '1.388889', `amount ${line.amountUsd}, expected 1.388889 (100000 s × 0.05 USD/h)`);

  console.log(
    `rating: ${n} lines, one per job, in ${perJobMs.toFixed(0)} ms (${Math.round(n / (perJobMs / 1000))} lines/s); total ${perJob.totals.amountUsd} USD exact, float sum ${floatSum}`,
  );
  console.log(`rating: ${n} tiny quantities into one line in ${oneLineMs.toFixed(0)} ms; ${line.usageQuantity} s, ${line.amountUsd} USD`);
  return { lines: n, per_job_ms: perJobMs, per_job_lines_per_s: n / (perJobMs / 1000), one_line_ms: oneLineMs };
}

runIfMain(module, runRatingBench);
