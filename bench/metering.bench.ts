/**
 * Metering benchmark, against the service (a child process, `node dist/src/main.js`) on a scratch database
 * apn_bench_<random> on a real PostgreSQL server (BENCH_DATABASE_URL, DATABASE_URL or
 * postgres://postgres@127.0.0.1:5432/postgres), dropped at the end:
 *
 *  1. ingest: recordUsage over GraphQL in batches of 500 events (BENCH_INGEST_BATCHES, default 200, with
 *     BENCH_INGEST_CONCURRENCY requests in flight, default 4). Goal ≥ 20,000 events/s; p50/p99 per batch.
 *  2. invoice: 1,000,000 events for one tenant in one month, inserted with generate_series in SQL, then
 *     BENCH_INVOICE_CALLS (default 60) invoicePreview calls over HTTP, one at a time. Goal p99 ≤ 200 ms.
 *
 * Run: npm run build && node dist/bench/metering.bench.js
 */
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { benchServerUrl, gql, ScratchRun } from './booking.bench';

const BATCH = 500;
const INGEST_GOAL = 20_000;
const INVOICE_P99_GOAL_MS = 200;
const INVOICE_EVENTS = 1_000_000;
const PERIOD = '2026-10';

const RECORD = 'mutation($e: [UsageEventInput!]!) { recordUsage(events: $e) { accepted duplicates rejected { index reason } } }';
const INVOICE =
  'query($p: String!, $t: ID) { invoicePreview(period: $p, tenantId: $t) { events totals { amount } lines { meter amount } } }';

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** BENCH_INGEST_BATCHES batches of BATCH events through recordUsage, BENCH_INGEST_CONCURRENCY in flight. */
async function benchIngest(url: string, billing: string, tenantId: string, out: Record<string, number>): Promise<void> {
  const batches = Number(process.env.BENCH_INGEST_BATCHES ?? 200);
  const concurrency = Number(process.env.BENCH_INGEST_CONCURRENCY ?? 4);
  const hour0 = Date.UTC(2026, 8, 1);
  const batch = (n: number) =>
    Array.from({ length: BATCH }, (_, i) => {
      const k = n * BATCH + i;
      return {
        specversion: '1.0',
        source: 'urn:bench:agent',
        id: `e-${k}`,
        type: k % 2 ? 'gpu.node_seconds' : 'nfs.bytes_read',
        subject: tenantId,
        time: new Date(hour0 + (k % 720) * 3_600_000).toISOString(),
        data: { quantity: String(3600 + (k % 7)), resourceId: `res-${k}` },
      };
    });
  // Warm-up: the first requests compile the query and fill the pool.
  for (let w = 0; w < 5; w += 1) await gql(url, billing, RECORD, { e: batch(batches + w) });
  const payloads = Array.from({ length: batches }, (_, n) => batch(n));
  const latencies: number[] = [];
  let next = 0;
  let accepted = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < batches) {
        const n = next++;
        const s = performance.now();
        const r = (await gql<{ recordUsage: { accepted: number } }>(url, billing, RECORD, { e: payloads[n] })).recordUsage;
        latencies.push(performance.now() - s);
        accepted += r.accepted;
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  latencies.sort((x, y) => x - y);
  out.ingest_events_per_s = accepted / seconds;
  out.ingest_batch_p50_ms = percentile(latencies, 50);
  out.ingest_batch_p99_ms = percentile(latencies, 99);
  out.ingest_ratio_to_goal = out.ingest_events_per_s / INGEST_GOAL;
  console.log(
    `ingest: ${accepted} events in ${batches} batches of ${BATCH}, ${concurrency} in flight: ${out.ingest_events_per_s.toFixed(0)} events/s ` +
      `(goal ${INGEST_GOAL}, ×${out.ingest_ratio_to_goal.toFixed(2)}), p50 ${out.ingest_batch_p50_ms.toFixed(1)} ms, p99 ${out.ingest_batch_p99_ms.toFixed(1)} ms per batch`,
  );
}

/** INVOICE_EVENTS usage events for one tenant in PERIOD, written straight into the database. */
async function insertInvoiceEvents(databaseUrl: string, tenantId: string): Promise<void> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  const i0 = performance.now();
  try {
    await db.query(
      `INSERT INTO usage_events (source, id, type, subject, time, data, tenant_id, resource_id, revision, quantity, rate_gbps, distance_class, design, applies_to)
       SELECT 'urn:bench:generated', m.type || ':r' || (g / 744) || ':' || (g % 744) || ':r1', m.type, $1::text,
              $2::timestamptz + (g % 744) * interval '1 hour',
              jsonb_build_object('quantity', m.q, 'resourceId', 'r' || (g / 744)) || m.attrs,
              $1::uuid, 'r' || (g / 744), 1, m.q::numeric, m.rate, m.dc, m.design, m.applies
         FROM generate_series(0, $3::int - 1) g
         JOIN (VALUES (0, 'lightpath.wavelength_seconds', '3600', 100, 'METRO', NULL, NULL, '{"rateGbps":100,"distanceClass":"METRO"}'::jsonb),
                      (1, 'gpu.node_seconds', '7200', NULL, NULL, NULL, NULL, '{}'::jsonb),
                      (2, 'mount.seconds', '3600', NULL, NULL, 'DIRECT', NULL, '{"design":"DIRECT"}'::jsonb),
                      (3, 'energy.kwh', '20.4', NULL, NULL, NULL, 'gpu.node_seconds', '{"appliesTo":"gpu.node_seconds"}'::jsonb))
              AS m(k, type, q, rate, dc, design, applies, attrs) ON m.k = g % 4`,
      [tenantId, `${PERIOD}-01T00:00:00Z`, INVOICE_EVENTS],
    );
    await db.query('VACUUM ANALYZE usage_events');
  } finally {
    await db.end();
  }
  console.log(
    `invoice: inserted ${INVOICE_EVENTS} events for one tenant in ${PERIOD} in ${((performance.now() - i0) / 1000).toFixed(1)} s`,
  );
}

/** invoicePreview over a million events, BENCH_INVOICE_CALLS times. */
async function benchInvoice(url: string, billing: string, databaseUrl: string, tenantId: string, out: Record<string, number>) {
  await insertInvoiceEvents(databaseUrl, tenantId);
  const calls = Number(process.env.BENCH_INVOICE_CALLS ?? 60);
  const check = (
    await gql<{ invoicePreview: { events: number; totals: { amount: string } } }>(url, billing, INVOICE, { p: PERIOD, t: tenantId })
  ).invoicePreview;
  if (check.events !== INVOICE_EVENTS) throw new Error(`invoicePreview counted ${check.events} events, expected ${INVOICE_EVENTS}`);
  const times: number[] = [];
  for (let c = 0; c < calls; c += 1) {
    const s = performance.now();
    await gql(url, billing, INVOICE, { p: PERIOD, t: tenantId });
    times.push(performance.now() - s);
  }
  times.sort((x, y) => x - y);
  out.invoice_p50_ms = percentile(times, 50);
  out.invoice_p99_ms = percentile(times, 99);
  out.invoice_p99_ratio_to_goal = INVOICE_P99_GOAL_MS / out.invoice_p99_ms;
  console.log(
    `invoice: ${calls} invoicePreview calls over 1,000,000 events: p50 ${out.invoice_p50_ms.toFixed(1)} ms, p99 ${out.invoice_p99_ms.toFixed(1)} ms ` +
      `(goal p99 ≤ ${INVOICE_P99_GOAL_MS} ms, goal/actual ×${out.invoice_p99_ratio_to_goal.toFixed(2)}); total ${check.totals.amount} USD`,
  );
}

/** The service on a scratch database of its own (BullMQ on PostgreSQL), the ingest run, then the invoice run. */
export async function runMeteringBench(): Promise<Record<string, number>> {
  const scratch = await ScratchRun.open(benchServerUrl(), null);
  const out: Record<string, number> = {};
  try {
    const { url, adminToken } = await scratch.startChild(scratch.serviceEnv());
    const newTenant = async (name: string) =>
      (await gql<{ createTenant: { id: string } }>(url, adminToken, 'mutation($n: String!) { createTenant(name: $n) { id } }', { n: name }))
        .createTenant.id;
    const tenantId = await newTenant('Bench Metering');
    const billing = (
      await gql<{ createApiKey: { secret: string } }>(url, adminToken, 'mutation { createApiKey(role: BILLING) { secret } }')
    ).createApiKey.secret;
    await benchIngest(url, billing, tenantId, out);
    await benchInvoice(url, billing, scratch.databaseUrl, await newTenant('Bench Invoice'), out);
    return out;
  } finally {
    await scratch.close();
  }
}

if (require.main === module) {
  runMeteringBench().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
