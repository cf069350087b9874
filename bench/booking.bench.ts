/**
 * Booking throughput benchmark: reserveLightpath (autoCommit) through GraphQL against a real PostgreSQL,
 * with BullMQ on Redis when Redis answers.
 *
 * A scratch database apn_bench_<random> is created on the server named by BENCH_DATABASE_URL (or
 * DATABASE_URL, or postgres://postgres@127.0.0.1:5432/postgres), the service runs against it in this
 * process (APN_ROLE=all, reference topology), and the database is dropped at the end, also on failure.
 *
 * Every request books its own one-minute window (start = base + n × 2 min, n a counter shared by all
 * connections), rotating over every (source, destination) pair of equal rate at different sites, so no
 * two requests compete for an endpoint or a (link, channel): every request should succeed.
 *
 * Goal: ≥ 500 reservations/s with p99 ≤ 50 ms at 32 connections.
 *
 * Note: autocannon and the service share this Node.js process (one event loop) and the machine's cores
 * with PostgreSQL; the figures are for that setup, not for a dedicated server.
 *
 * Besides the load figures it reports where the time goes: Node event-loop utilisation and CPU per request,
 * every SQL statement the service sends (count and time, by patching pg's Client.prototype.query in this
 * process), how long the audit log's chain lock is held, and what PostgreSQL backends wait on.
 *
 * Run: npm run build && BENCH_SECONDS=20 node dist/bench/booking.bench.js
 * Environment: BENCH_SECONDS (default 20), BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_LOG_LEVEL (service log
 * level, default silent; `error` shows the cause of INTERNAL errors).
 */
import { Client } from 'pg';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { startService, type RunningService } from '../src/main';

// autocannon 8 ships no type declarations (and @types/autocannon is not installed): type what we use.
interface Histogram {
  average: number;
  stddev: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p97_5: number;
  p99: number;
  p99_9: number;
}
interface AutocannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  setupRequest?: (request: AutocannonRequest, context: Record<string, unknown>) => AutocannonRequest;
  onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, unknown>) => void;
}
interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  requests?: AutocannonRequest[];
  timeout?: number;
}
interface AutocannonResult {
  duration: number;
  requests: Histogram & { total: number; sent: number };
  latency: Histogram;
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodeStats: Record<string, { count: number }>;
}
type Autocannon = (opts: AutocannonOptions) => Promise<AutocannonResult>;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const autocannon = require('autocannon') as Autocannon;

const CONNECTIONS = 32;
const WARMUP_SECONDS = 3;
const TRIVIAL_SECONDS = 10;
const GOAL_RPS = 500;
const GOAL_P99_MS = 50;
const WINDOW_STRIDE_MS = 2 * 60_000;
const WINDOW_LENGTH_MS = 60_000;

const RESERVE_QUERY =
  'mutation Reserve($input: ReserveLightpathInput!) { reserveLightpath(input: $input) { id state channel } }';
const TRIVIAL_QUERY = '{ me { role } }';

export function benchServerUrl(): string {
  return process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

function benchRedisUrl(): string {
  return process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/** Password-free form of a connection URL, for printing. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:***@');
}

/** null when the PostgreSQL server answers; otherwise why not. */
export async function postgresUnreachable(url = benchServerUrl(), timeoutMs = 3000): Promise<string | null> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return `PostgreSQL at ${redact(url)} is not reachable: ${(error as Error).message || String(error)}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function redisReachable(url: string): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** Removes the keys BullMQ created under the run's own prefix. Best effort. */
async function deleteRedisKeys(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 1, retryStrategy: () => null });
  redis.on('error', () => undefined);
  let deleted = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  } catch {
    // the keys expire or can be removed by hand; not worth failing the benchmark
  } finally {
    redis.disconnect();
  }
  return deleted;
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

interface GqlResponse<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

async function gql<T>(url: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as GqlResponse<T>;
  if (res.status !== 200 || body.errors?.length || !body.data) {
    throw new Error(`GraphQL request failed (HTTP ${res.status}): ${JSON.stringify(body.errors ?? body)}`);
  }
  return body.data;
}

interface EndpointRow {
  id: string;
  code: string;
  rateGbps: number;
  site: { code: string };
}

interface Tally {
  responses: number;
  ok: number;
  graphqlErrors: number;
  badStatus: number;
  errorCodes: Map<string, number>;
  sampleError: string | null;
  sampleBadStatus: string | null;
}

const newTally = (): Tally => ({
  responses: 0,
  ok: 0,
  graphqlErrors: 0,
  badStatus: 0,
  errorCodes: new Map(),
  sampleError: null,
  sampleBadStatus: null,
});

/** Counts a response as successful only on HTTP 200 with a JSON body carrying `field` and no `errors`. */
function tallyResponse(tally: Tally, field: string, status: number, body: string): void {
  tally.responses += 1;
  let parsed: GqlResponse<Record<string, unknown>> | null = null;
  try {
    parsed = JSON.parse(body) as GqlResponse<Record<string, unknown>>;
  } catch {
    parsed = null;
  }
  if (parsed?.errors?.length) {
    tally.graphqlErrors += 1;
    const code = parsed.errors[0].extensions?.code ?? 'NO_CODE';
    tally.errorCodes.set(code, (tally.errorCodes.get(code) ?? 0) + 1);
    tally.sampleError ??= `HTTP ${status} ${code}: ${parsed.errors[0].message}`;
  }
  if (status !== 200) {
    tally.badStatus += 1;
    tally.sampleBadStatus ??= `HTTP ${status}: ${body.slice(0, 300)}`;
    return;
  }
  if (!parsed || parsed.errors?.length || !parsed.data || parsed.data[field] === null || parsed.data[field] === undefined) {
    if (!parsed?.errors?.length) tally.sampleError ??= `HTTP ${status} without ${field}: ${body.slice(0, 300)}`;
    return;
  }
  tally.ok += 1;
}

/** Samples pg_stat_activity of the scratch database while a run goes on. */
class ActivitySampler {
  private samples = 0;
  private active = 0;
  private advisoryWaits = 0;
  private otherLockWaits = 0;
  private clientReadWaits = 0;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(
    private readonly client: Client,
    private readonly database: string,
  ) {}

  start(intervalMs = 200): void {
    this.timer = setInterval(() => void this.sample(), intervalMs);
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { rows } = await this.client.query<{ active: string; advisory: string; locks: string; client_read: string }>(
        `SELECT count(*) FILTER (WHERE state = 'active') AS active,
                count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event = 'advisory') AS advisory,
                count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event <> 'advisory') AS locks,
                count(*) FILTER (WHERE state = 'idle in transaction') AS client_read
           FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`,
        [this.database],
      );
      this.samples += 1;
      this.active += Number(rows[0].active);
      this.advisoryWaits += Number(rows[0].advisory);
      this.otherLockWaits += Number(rows[0].locks);
      this.clientReadWaits += Number(rows[0].client_read);
    } catch {
      // sampling is diagnostic only
    } finally {
      this.busy = false;
    }
  }

  stop(): { active: number; advisoryWaits: number; otherLockWaits: number; idleInTransaction: number } {
    if (this.timer) clearInterval(this.timer);
    const n = Math.max(1, this.samples);
    return {
      active: this.active / n,
      advisoryWaits: this.advisoryWaits / n,
      otherLockWaits: this.otherLockWaits / n,
      idleInTransaction: this.clientReadWaits / n,
    };
  }
}

/**
 * Counts and times every query the service sends through `pg` in this process (TypeORM and the PostgreSQL
 * queue backend use the same module), by statement. The time of a statement runs from the call to its
 * result, so it includes waiting behind another statement on the same connection and any lock wait.
 *
 * It also measures, per connection, how long a transaction holds an advisory transaction lock (the audit
 * log's chain lock): from the lock query's result to the COMMIT/ROLLBACK result, as seen from Node.
 */
class SqlProfile {
  readonly statements = new Map<string, { count: number; totalMs: number }>();
  queries = 0;
  lockHolds = 0;
  lockHeldMs = 0;
  private readonly lockedAt = new Map<unknown, number>();
  private original: ((...args: unknown[]) => unknown) | null = null;
  recording = false;

  install(ignore: () => unknown): void {
    const proto = Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
    const original = proto.query;
    this.original = original;
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const profile = this;
    proto.query = function (this: unknown, ...args: unknown[]): unknown {
      const result = original.apply(this, args);
      if (!profile.recording || this === ignore() || typeof args[args.length - 1] === 'function') return result;
      const first = args[0] as string | { text?: string } | undefined;
      const text = typeof first === 'string' ? first : (first?.text ?? '?');
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        const t0 = performance.now();
        const connection = this;
        const settle = () => profile.record(connection, text, t0, performance.now());
        (result as Promise<unknown>).then(settle, settle);
      }
      return result;
    };
  }

  uninstall(): void {
    if (this.original) (Client.prototype as unknown as { query: unknown }).query = this.original;
    this.original = null;
  }

  private record(connection: unknown, text: string, t0: number, t1: number): void {
    const key = text.replace(/\s+/g, ' ').trim().slice(0, 72);
    const entry = this.statements.get(key) ?? { count: 0, totalMs: 0 };
    entry.count += 1;
    entry.totalMs += t1 - t0;
    if (key.includes('pg_advisory_xact_lock(')) {
      this.lockedAt.set(connection, t1);
    } else if (key === 'COMMIT' || key === 'ROLLBACK') {
      const since = this.lockedAt.get(connection);
      if (since !== undefined) {
        this.lockedAt.delete(connection);
        this.lockHolds += 1;
        this.lockHeldMs += t1 - since;
      }
    }
    this.statements.set(key, entry);
    this.queries += 1;
  }

  reset(): void {
    this.statements.clear();
    this.lockedAt.clear();
    this.queries = 0;
    this.lockHolds = 0;
    this.lockHeldMs = 0;
  }
}

interface RunFigures {
  result: AutocannonResult;
  tally: Tally;
  rps: number;
  eventLoopUtilization: number;
  cpuMsPerRequest: number;
}

async function cannon(
  url: string,
  seconds: number,
  field: string,
  request: Omit<AutocannonRequest, 'onResponse'>,
): Promise<RunFigures> {
  const tally = newTally();
  const elu0 = performance.eventLoopUtilization();
  const cpu0 = process.cpuUsage();
  const result = await autocannon({
    url: `${url}/graphql`,
    connections: CONNECTIONS,
    duration: seconds,
    timeout: 30,
    requests: [{ ...request, onResponse: (status, body) => tallyResponse(tally, field, status, body) }],
  });
  const elu = performance.eventLoopUtilization(elu0);
  const cpu = process.cpuUsage(cpu0);
  const done = Math.max(1, result.requests.total);
  return {
    result,
    tally,
    rps: tally.ok / result.duration,
    eventLoopUtilization: elu.utilization,
    cpuMsPerRequest: (cpu.user + cpu.system) / 1000 / done,
  };
}

const ms = (n: number) => `${n.toFixed(1)} ms`;

export async function runBookingBench(): Promise<Record<string, number>> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 20);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`BENCH_SECONDS must be a positive number, got ${process.env.BENCH_SECONDS}`);
  const serverUrl = benchServerUrl();
  const unreachable = await postgresUnreachable(serverUrl);
  if (unreachable) throw new Error(unreachable);

  const suffix = randomBytes(6).toString('hex');
  const database = `apn_bench_${suffix}`;
  const databaseUrl = withDatabase(serverUrl, database);
  const redisUrl = benchRedisUrl();
  const useRedis = await redisReachable(redisUrl);
  const queuePrefix = `apn_bench_${suffix}`;

  console.log(`Booking benchmark: ${CONNECTIONS} connections, ${seconds} s of reserveLightpath(autoCommit), goal ≥ ${GOAL_RPS} reservations/s with p99 ≤ ${GOAL_P99_MS} ms`);
  console.log(`  PostgreSQL: scratch database ${database} on ${redact(serverUrl)}`);
  console.log(
    useRedis
      ? `  queues: BullMQ on Redis ${redact(redisUrl)} (prefix ${queuePrefix})`
      : `  queues: Redis at ${redact(redisUrl)} is not reachable; falling back to BullMQ on PostgreSQL (no REDIS_URL)`,
  );
  console.log('  note: autocannon and the service share this Node.js process, and the machine’s cores with PostgreSQL');

  await adminQuery(serverUrl, `CREATE DATABASE "${database}"`);
  // Interrupted (Ctrl-C, timeout): still drop the scratch database and the run's queue keys.
  const onSignal = (signal: NodeJS.Signals) => {
    console.error(`  ${signal}: dropping ${database} and exiting`);
    void adminQuery(serverUrl, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`)
      .catch(() => undefined)
      .then(() => (useRedis ? deleteRedisKeys(redisUrl, queuePrefix) : 0))
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let service: RunningService | null = null;
  let monitor: Client | null = null;
  const out: Record<string, number> = {};
  const sql = new SqlProfile();
  sql.install(() => monitor);
  try {
    const env: NodeJS.ProcessEnv = {
      DATABASE_URL: databaseUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      APN_SEED: 'reference',
      APN_ROLE: 'all',
      // BENCH_LOG_LEVEL=error shows the service's log, e.g. the cause behind an INTERNAL error.
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
      APN_DATA_DIR: 'memory',
      APN_DB_POOL_SIZE: '40',
      APN_ADMIN_TOKEN: randomBytes(24).toString('base64url'),
      APN_QUEUE_PREFIX: queuePrefix,
    };
    if (useRedis) env.REDIS_URL = redisUrl;
    const bootStart = performance.now();
    service = await startService(env, { quiet: true });
    const url = service.url;
    if (!url) throw new Error('the service started without an HTTP listener');
    console.log(`  service up in ${ms(performance.now() - bootStart)} at ${url}`);

    // Tenant, key and the endpoint pairs.
    const admin = service.adminToken;
    const { createTenant } = await gql<{ createTenant: { id: string } }>(
      url,
      admin,
      'mutation($name: String!) { createTenant(name: $name) { id } }',
      { name: `bench-${suffix}` },
    );
    const { createApiKey } = await gql<{ createApiKey: { secret: string } }>(
      url,
      admin,
      'mutation($tenantId: ID!) { createApiKey(role: TENANT, tenantId: $tenantId, label: "booking benchmark") { secret } }',
      { tenantId: createTenant.id },
    );
    const token = createApiKey.secret;
    const { endpoints } = await gql<{ endpoints: EndpointRow[] }>(url, token, '{ endpoints { id code rateGbps site { code } } }');
    const pairs: Array<{ source: EndpointRow; destination: EndpointRow }> = [];
    for (const source of endpoints) {
      for (const destination of endpoints) {
        if (source.rateGbps === destination.rateGbps && source.site.code !== destination.site.code) {
          pairs.push({ source, destination });
        }
      }
    }
    if (pairs.length === 0) throw new Error('the reference topology has no bookable endpoint pair');
    const rates = [...new Set(pairs.map((p) => p.source.rateGbps))].sort((a, b) => a - b);
    console.log(`  ${endpoints.length} endpoints, ${pairs.length} (source, destination) pairs at ${rates.join('/')} Gbps`);

    // One distinct, non-overlapping window per request: no request can conflict with another.
    const base = Math.ceil((Date.now() + 7 * 24 * 3_600_000) / 60_000) * 60_000;
    let counter = 0;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const booking: Omit<AutocannonRequest, 'onResponse'> = {
      method: 'POST',
      path: '/graphql',
      headers,
      setupRequest: (request) => {
        const n = counter++;
        const pair = pairs[n % pairs.length];
        const start = base + n * WINDOW_STRIDE_MS;
        request.body = JSON.stringify({
          query: RESERVE_QUERY,
          variables: {
            input: {
              sourceEndpointId: pair.source.id,
              destinationEndpointId: pair.destination.id,
              rateGbps: pair.source.rateGbps,
              start: new Date(start).toISOString(),
              end: new Date(start + WINDOW_LENGTH_MS).toISOString(),
              autoCommit: true,
            },
          },
        });
        return request;
      },
    };

    monitor = new Client({ connectionString: databaseUrl });
    monitor.on('error', () => undefined); // e.g. terminated by DROP DATABASE … WITH (FORCE) after a signal
    await monitor.connect();
    const rollbacksBefore = await monitor.query<{ n: string }>(
      'SELECT xact_rollback::text AS n FROM pg_stat_database WHERE datname = $1',
      [database],
    );

    console.log(`  warm-up: ${WARMUP_SECONDS} s of bookings`);
    const warm = await cannon(url, WARMUP_SECONDS, 'reserveLightpath', booking);
    console.log(`    ${warm.tally.ok} booked (${warm.rps.toFixed(0)}/s), ${warm.tally.graphqlErrors} GraphQL errors`);

    console.log(`  measuring: ${seconds} s of bookings`);
    const sampler = new ActivitySampler(monitor, database);
    sampler.start();
    sql.reset();
    sql.recording = true;
    const run = await cannon(url, seconds, 'reserveLightpath', booking);
    sql.recording = false;
    const activity = sampler.stop();
    const r = run.result;
    const perRequest = Math.max(1, r.requests.total);
    const topStatements = [...sql.statements].sort((a, b) => b[1].totalMs - a[1].totalMs);

    console.log(`  trivial query: ${TRIVIAL_SECONDS} s of ${TRIVIAL_QUERY}`);
    const trivialRequest: Omit<AutocannonRequest, 'onResponse'> = {
      method: 'POST',
      path: '/graphql',
      headers,
      body: JSON.stringify({ query: TRIVIAL_QUERY }),
    };
    await cannon(url, 1, 'me', trivialRequest);
    const trivial = await cannon(url, TRIVIAL_SECONDS, 'me', trivialRequest);

    // Stop the service (drains in-flight requests) before checking the database.
    const running = service;
    service = null;
    await running.stop();

    const check = async (text: string) => Number((await (monitor as Client).query<{ n: string }>(text)).rows[0].n);
    const linkOverlaps = await check(
      `SELECT count(*)::text AS n FROM link_allocations a JOIN link_allocations b
          ON a.link_id = b.link_id AND a.channel = b.channel AND a.during && b.during AND a.id < b.id`,
    );
    const endpointOverlaps = await check(
      `SELECT count(*)::text AS n FROM endpoint_allocations a JOIN endpoint_allocations b
          ON a.endpoint_id = b.endpoint_id AND a.during && b.during AND a.id < b.id`,
    );
    const reservations = await check(`SELECT count(*)::text AS n FROM reservations`);
    const reserved = await check(`SELECT count(*)::text AS n FROM reservations WHERE state = 'RESERVED'`);
    const auditEntries = await check(`SELECT count(*)::text AS n FROM audit_log WHERE action = 'reservation.created'`);
    const rollbacksAfter = await monitor.query<{ n: string }>(
      'SELECT xact_rollback::text AS n FROM pg_stat_database WHERE datname = $1',
      [database],
    );
    const rollbacks = Number(rollbacksAfter.rows[0]?.n ?? 0) - Number(rollbacksBefore.rows[0]?.n ?? 0);
    const bookedByResponses = warm.tally.ok + run.tally.ok;
    // Requests still in flight when a run stopped were booked, but their responses were not read.
    const unanswered = counter - warm.tally.responses - run.tally.responses;
    const bookingsConsistent = reservations >= bookedByResponses && reservations <= bookedByResponses + unanswered;
    const ratio = trivial.rps > 0 ? run.rps / trivial.rps : 0;
    const advisory = topStatements.find(([text]) => text.includes('pg_advisory_xact_lock'))?.[1];
    const commit = topStatements.find(([text]) => text === 'COMMIT')?.[1];

    Object.assign(out, {
      'booking.reservationsPerSec': run.rps,
      'booking.p50Ms': r.latency.p50,
      'booking.p97_5Ms': r.latency.p97_5,
      'booking.p99Ms': r.latency.p99,
      'booking.maxMs': r.latency.max,
      'booking.requests': r.requests.total,
      'booking.succeeded': run.tally.ok,
      'booking.graphqlErrors': run.tally.graphqlErrors,
      'booking.errors': r.errors,
      'booking.timeouts': r.timeouts,
      'booking.non2xx': r.non2xx,
      'booking.seconds': r.duration,
      'booking.eventLoopUtilization': run.eventLoopUtilization,
      'booking.nodeCpuMsPerRequest': run.cpuMsPerRequest,
      'booking.pgActiveBackendsAvg': activity.active,
      'booking.pgWaitingAdvisoryLockAvg': activity.advisoryWaits,
      'booking.pgWaitingOtherLocksAvg': activity.otherLockWaits,
      'booking.pgIdleInTransactionAvg': activity.idleInTransaction,
      'booking.sqlQueriesPerRequest': sql.queries / perRequest,
      'booking.sqlMsPerRequest': topStatements.reduce((sum, [, e]) => sum + e.totalMs, 0) / perRequest,
      'booking.auditLockWaitAvgMs': advisory ? advisory.totalMs / advisory.count : 0,
      'booking.commitAvgMs': commit ? commit.totalMs / commit.count : 0,
      'booking.auditLockHeldAvgMs': sql.lockHolds > 0 ? sql.lockHeldMs / sql.lockHolds : 0,
      'booking.auditLockBusyShare': sql.lockHeldMs / (r.duration * 1000),
      'trivial.reqPerSec': trivial.rps,
      'trivial.p50Ms': trivial.result.latency.p50,
      'trivial.p99Ms': trivial.result.latency.p99,
      'trivial.errors': trivial.result.errors + trivial.result.non2xx + trivial.tally.graphqlErrors,
      'trivial.eventLoopUtilization': trivial.eventLoopUtilization,
      'trivial.nodeCpuMsPerRequest': trivial.cpuMsPerRequest,
      'booking.toTrivialRatio': ratio,
      'db.reservations': reservations,
      'db.reservedReservations': reserved,
      'db.auditEntriesCreated': auditEntries,
      'db.rollbacks': rollbacks,
      'db.linkOverlaps': linkOverlaps,
      'db.endpointOverlaps': endpointOverlaps,
      'db.bookedMinusOkResponses': reservations - bookedByResponses,
      'db.unansweredAtRunEnds': unanswered,
    });

    const met = run.rps >= GOAL_RPS && r.latency.p99 <= GOAL_P99_MS;
    const line = (label: string, value: string) => console.log(`  ${label.padEnd(34)} ${value}`);
    console.log('');
    line('reservations/s (successful)', `${run.rps.toFixed(1)} /s   (goal ≥ ${GOAL_RPS} /s)`);
    line('latency p50 / p97.5 / p99 / max', `${ms(r.latency.p50)} / ${ms(r.latency.p97_5)} / ${ms(r.latency.p99)} / ${ms(r.latency.max)}   (goal p99 ≤ ${GOAL_P99_MS} ms)`);
    line('requests sent / succeeded', `${r.requests.total} / ${run.tally.ok} in ${r.duration.toFixed(1)} s`);
    line('connection errors / timeouts', `${r.errors} / ${r.timeouts}`);
    line('non-2xx responses', `${r.non2xx}${run.tally.sampleBadStatus ? `   e.g. ${run.tally.sampleBadStatus}` : ''}`);
    line(
      'GraphQL errors',
      `${run.tally.graphqlErrors}${run.tally.errorCodes.size ? ` (${[...run.tally.errorCodes].map(([c, n]) => `${c} ×${n}`).join(', ')})` : ''}` +
        `${run.tally.sampleError ? `   e.g. ${run.tally.sampleError}` : ''}`,
    );
    line('Node event-loop utilisation', `${(run.eventLoopUtilization * 100).toFixed(0)} %   (server and client share it)`);
    line('Node CPU per request', `${run.cpuMsPerRequest.toFixed(2)} ms   (server + client)`);
    line(
      'PostgreSQL backends (avg sampled)',
      `${activity.active.toFixed(1)} active, ${activity.advisoryWaits.toFixed(1)} waiting on the audit advisory lock, ` +
        `${activity.otherLockWaits.toFixed(1)} on other locks, ${activity.idleInTransaction.toFixed(1)} idle in transaction`,
    );
    line(
      'SQL per request (service, via pg)',
      `${(sql.queries / perRequest).toFixed(1)} statements, ${ms(out['booking.sqlMsPerRequest'])} summed statement time (call → result)`,
    );
    line(
      'audit chain lock',
      `held ${ms(out['booking.auditLockHeldAvgMs'])} per booking on average (lock result → COMMIT result), ` +
        `busy ${(out['booking.auditLockBusyShare'] * 100).toFixed(0)} % of the run; ${ms(out['booking.auditLockWaitAvgMs'])} average wait`,
    );
    for (const [text, e] of topStatements.slice(0, 16)) {
      console.log(`      ${(e.count / perRequest).toFixed(2).padStart(5)}× ${ms(e.totalMs / e.count).padStart(9)} avg  ${text}`);
    }
    line(
      'trivial query ({ me { role } })',
      `${trivial.rps.toFixed(1)} req/s, p50 ${ms(trivial.result.latency.p50)}, p99 ${ms(trivial.result.latency.p99)}, ` +
        `${out['trivial.errors']} errors; event loop ${(trivial.eventLoopUtilization * 100).toFixed(0)} %, ` +
        `Node CPU ${trivial.cpuMsPerRequest.toFixed(2)} ms/request`,
    );
    line('booking / trivial throughput', `${ratio.toFixed(3)}`);
    line(
      'reservations in the database',
      `${reservations} (${reserved} RESERVED; ${bookedByResponses} successful responses incl. warm-up, ` +
        `${unanswered} requests unanswered when a run stopped)`,
    );
    line('overlapping allocations', `links ${linkOverlaps}, endpoints ${endpointOverlaps}   (must be 0)`);
    line('verdict', met ? 'goal MET' : `goal MISSED (${run.rps < GOAL_RPS ? 'throughput' : ''}${run.rps < GOAL_RPS && r.latency.p99 > GOAL_P99_MS ? ' and ' : ''}${r.latency.p99 > GOAL_P99_MS ? 'p99 latency' : ''})`);
    if (linkOverlaps > 0 || endpointOverlaps > 0) console.log('  !! overlapping allocations found: the exclusion guarantees are broken');
    if (run.tally.errorCodes.has('INTERNAL')) console.log('  INTERNAL errors: BENCH_LOG_LEVEL=error shows their cause in the service log');
    if (!bookingsConsistent) {
      console.log(
        `  !! ${reservations} reservations in the database, but ${bookedByResponses} successful responses and ${unanswered} unanswered requests`,
      );
    }
    return out;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    sql.uninstall();
    if (service) await service.stop().catch((error: unknown) => console.error(`  stopping the service failed: ${String(error)}`));
    if (monitor) await monitor.end().catch(() => undefined);
    await adminQuery(serverUrl, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).then(
      () => console.log(`  dropped ${database}`),
      (error: unknown) => console.error(`  could not drop ${database}: ${(error as Error).message}; drop it by hand`),
    );
    if (useRedis) await deleteRedisKeys(redisUrl, queuePrefix);
  }
}

if (require.main === module) {
  runBookingBench().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
