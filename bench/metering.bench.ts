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
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import { benchServerUrl } from './booking.bench';

const SERVICE_ENTRY = resolve(__dirname, '../src/main.js');
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

async function admin(serverUrl: string, sql: string): Promise<void> {
  const c = new Client({ connectionString: serverUrl });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

function startService(env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [SERVICE_ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`the service did not start:\n${out}`)), 60_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        done({ child, url: m[1] });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => fail(new Error(`the service exited with ${code}:\n${out}`)));
  });
}

async function graphql<T>(url: string, token: string, query: string, variables: Record<string, unknown>): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: unknown[] };
  if (body.errors?.length || !body.data) throw new Error(`GraphQL errors: ${JSON.stringify(body.errors)}`);
  return body.data;
}

export async function runMeteringBench(): Promise<Record<string, number>> {
  const serverUrl = benchServerUrl();
  const database = `apn_bench_${randomBytes(5).toString('hex')}`;
  const u = new URL(serverUrl);
  u.pathname = `/${database}`;
  const databaseUrl = u.toString();
  await admin(serverUrl, `CREATE DATABASE "${database}"`);
  const adminToken = randomBytes(24).toString('base64url');
  let child: ChildProcess | null = null;
  const out: Record<string, number> = {};
  try {
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: databaseUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      APN_SEED: 'reference',
      APN_ROLE: 'all',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
      APN_DATA_DIR: 'memory',
      APN_ADMIN_TOKEN: adminToken,
      APN_QUEUE_PREFIX: `b${randomBytes(4).toString('hex')}`,
    };
    const started = await startService(env);
    child = started.child;
    const url = started.url;
    const tenantId = (
      await graphql<{ createTenant: { id: string } }>(url, adminToken, 'mutation { createTenant(name: "Bench Metering") { id } }', {})
    ).createTenant.id;
    const billing = (
      await graphql<{ createApiKey: { secret: string } }>(url, adminToken, 'mutation { createApiKey(role: BILLING) { secret } }', {})
    ).createApiKey.secret;

    // 1. Ingest.
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
    for (let w = 0; w < 5; w += 1) await graphql(url, billing, RECORD, { e: batch(batches + w) });
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
          const r = (await graphql<{ recordUsage: { accepted: number } }>(url, billing, RECORD, { e: payloads[n] })).recordUsage;
          latencies.push(performance.now() - s);
          accepted += r.accepted;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    out.ingest_events_per_s = accepted / seconds;
    out.ingest_batch_p50_ms = percentile(latencies, 50);
    out.ingest_batch_p99_ms = percentile(latencies, 99);
    out.ingest_ratio_to_goal = out.ingest_events_per_s / INGEST_GOAL;
    console.log(
      `ingest: ${accepted} events in ${batches} batches of ${BATCH}, ${concurrency} in flight: ${out.ingest_events_per_s.toFixed(0)} events/s ` +
        `(goal ${INGEST_GOAL}, ×${out.ingest_ratio_to_goal.toFixed(2)}), p50 ${out.ingest_batch_p50_ms.toFixed(1)} ms, p99 ${out.ingest_batch_p99_ms.toFixed(1)} ms per batch`,
    );

    // 2. Invoice over a million events.
    const invoiceTenant = (
      await graphql<{ createTenant: { id: string } }>(url, adminToken, 'mutation { createTenant(name: "Bench Invoice") { id } }', {})
    ).createTenant.id;
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    const i0 = performance.now();
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
      [invoiceTenant, `${PERIOD}-01T00:00:00Z`, INVOICE_EVENTS],
    );
    await db.query('VACUUM ANALYZE usage_events');
    await db.end();
    console.log(
      `invoice: inserted ${INVOICE_EVENTS} events for one tenant in ${PERIOD} in ${((performance.now() - i0) / 1000).toFixed(1)} s`,
    );
    const calls = Number(process.env.BENCH_INVOICE_CALLS ?? 60);
    const check = (
      await graphql<{ invoicePreview: { events: number; totals: { amount: string } } }>(url, billing, INVOICE, {
        p: PERIOD,
        t: invoiceTenant,
      })
    ).invoicePreview;
    if (check.events !== INVOICE_EVENTS) throw new Error(`invoicePreview counted ${check.events} events, expected ${INVOICE_EVENTS}`);
    const times: number[] = [];
    for (let c = 0; c < calls; c += 1) {
      const s = performance.now();
      await graphql(url, billing, INVOICE, { p: PERIOD, t: invoiceTenant });
      times.push(performance.now() - s);
    }
    times.sort((a, b) => a - b);
    out.invoice_p50_ms = percentile(times, 50);
    out.invoice_p99_ms = percentile(times, 99);
    out.invoice_p99_ratio_to_goal = INVOICE_P99_GOAL_MS / out.invoice_p99_ms;
    console.log(
      `invoice: ${calls} invoicePreview calls over 1,000,000 events: p50 ${out.invoice_p50_ms.toFixed(1)} ms, p99 ${out.invoice_p99_ms.toFixed(1)} ms ` +
        `(goal p99 ≤ ${INVOICE_P99_GOAL_MS} ms, goal/actual ×${out.invoice_p99_ratio_to_goal.toFixed(2)}); total ${check.totals.amount} USD`,
    );
    return out;
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await admin(serverUrl, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => undefined);
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
