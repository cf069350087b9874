/**
 * Runs every benchmark and prints a summary table: the PCE micro-benchmark, the rating benchmark (a million
 * usage lines), then the booking throughput benchmark (uncontended and contended), the lightpath setup
 * overhead benchmark, the metering benchmark, the hostile query benchmark and the measured-runs benchmark
 * (each skipped, with the reason, when PostgreSQL is not reachable).
 *
 * Run: npm run bench   (= npm run build && node dist/bench/run.js)
 * Environment: BENCH_SECONDS (booking run length, default 20), BENCH_DATABASE_URL, BENCH_REDIS_URL, and
 * the setup benchmark's BENCH_SETUP_* (see bench/setup.bench.ts), the measured-runs benchmark's BENCH_RUN_*
 * (see bench/runs.bench.ts).
 */
import { benchServerUrl, postgresUnreachable, runBookingBench } from './booking.bench';
import { runHostileQueryBench } from './hostile-query.bench';
import { runMeteringBench } from './metering.bench';
import { runPceBench } from './pce.bench';
import { runRatingBench } from './rating.bench';
import { runRunsBench } from './runs.bench';
import { runSetupBench } from './setup.bench';

function heading(title: string): void {
  console.log('');
  console.log(`=== ${title} ${'='.repeat(Math.max(3, 72 - title.length))}`);
}

function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  return abs >= 100 ? value.toFixed(1) : abs >= 1 ? value.toFixed(2) : value.toFixed(4);
}

async function main(): Promise<number> {
  const figures: Array<[string, string, number]> = [];
  const skipped: string[] = [];
  let failed = false;

  heading('PCE benchmark');
  try {
    for (const [name, value] of Object.entries(await runPceBench())) figures.push(['pce', name, value]);
  } catch (error) {
    failed = true;
    console.error(`PCE benchmark failed: ${(error as Error).stack ?? String(error)}`);
  }

  heading('Rating benchmark');
  try {
    for (const [name, value] of Object.entries(await runRatingBench())) figures.push(['rating', name, value]);
  } catch (error) {
    failed = true;
    console.error(`Rating benchmark failed: ${(error as Error).stack ?? String(error)}`);
  }

  // The benchmarks that run the service on a scratch database of a real PostgreSQL server.
  const onPostgres: Array<[string, string, () => Promise<Record<string, number>>]> = [
    ['booking', 'Booking benchmark', runBookingBench],
    ['setup', 'Setup overhead benchmark', runSetupBench],
    ['metering', 'Metering benchmark', runMeteringBench],
    ['hostile', 'Hostile query benchmark', runHostileQueryBench],
    ['runs', 'Measured runs benchmark', runRunsBench],
  ];
  for (const [bench, title, runBench] of onPostgres) {
    heading(title);
    const unreachable = await postgresUnreachable(benchServerUrl());
    if (unreachable) {
      const message =
        `${unreachable}. Skipping the ${title.toLowerCase()}: it needs a real PostgreSQL server ` +
        '(set BENCH_DATABASE_URL to one whose user may CREATE DATABASE).';
      console.log(message);
      skipped.push(`${bench} (PostgreSQL not reachable)`);
      continue;
    }
    try {
      for (const [name, value] of Object.entries(await runBench())) figures.push([bench, name, value]);
    } catch (error) {
      failed = true;
      console.error(`${title} failed: ${(error as Error).stack ?? String(error)}`);
    }
  }

  heading('Summary');
  const nameWidth = Math.max(6, ...figures.map(([, name]) => name.length));
  console.log(`${'bench'.padEnd(8)} ${'figure'.padEnd(nameWidth)} ${'value'.padStart(14)}`);
  console.log(`${'-'.repeat(8)} ${'-'.repeat(nameWidth)} ${'-'.repeat(14)}`);
  for (const [bench, name, value] of figures) {
    console.log(`${bench.padEnd(8)} ${name.padEnd(nameWidth)} ${format(value).padStart(14)}`);
  }
  for (const s of skipped) console.log(`skipped: ${s}`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
