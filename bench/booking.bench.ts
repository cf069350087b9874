/**
 * Booking throughput benchmark: reserveLightpath (autoCommit) through GraphQL against a real PostgreSQL,
 * with BullMQ on Redis when Redis answers.
 *
 * A scratch database apn_bench_<random> is created on the server named by BENCH_DATABASE_URL (or
 * DATABASE_URL, or postgres://postgres@127.0.0.1:5432/postgres), the service runs against it (APN_ROLE=all,
 * reference topology), and the database is dropped at the end, also on failure or Ctrl-C.
 *
 * Every request books its own one-minute window (start = base + n × 2 min, n a counter shared by all
 * connections), rotating over every (source, destination) pair of equal rate at different sites, so no
 * two requests compete for an endpoint or a (link, channel): every request should succeed.
 *
 * Goal: ≥ 500 reservations/s with p99 ≤ 50 ms at 32 connections.
 *
 * Two modes:
 *  - default: the service runs as a separate child process (`node dist/src/main.js`, built by
 *    `npm run build`), so autocannon (the load generator, in this process) and the service have an event
 *    loop each; they are still separate processes on the same machine and share its cores (2 here) with
 *    PostgreSQL, so the figures are for that setup, not for a dedicated server. It is stopped with SIGTERM
 *    (it drains and exits 0), and SIGKILL after 15 s; on failure and on Ctrl-C it is killed too.
 *    Reported besides the load figures: the service's CPU per request (utime + stime of the child from
 *    /proc/<pid>/stat, all its threads) and this process's (the client's) CPU per request, separately;
 *    what PostgreSQL backends wait on (pg_stat_activity); and, only when the server preloads
 *    pg_stat_statements, the SQL statements by server-side execution time. The per-statement profile
 *    (call → result) needs in-process patching and is not available.
 *  - BENCH_INPROCESS=1: the service runs in this process (startService from src/main.ts), sharing one event
 *    loop with autocannon. Besides the load figures it reports the event-loop utilisation and CPU per
 *    request of that shared process (server + client), every SQL statement the service sends (count and
 *    time, by patching pg's Client.prototype.query in this process) and what PostgreSQL backends wait on.
 *
 * Run: npm run build && BENCH_SECONDS=20 node dist/bench/booking.bench.js
 * Environment: BENCH_SECONDS (default 20), BENCH_INPROCESS (1: service in this process), BENCH_DATABASE_URL,
 * BENCH_REDIS_URL, BENCH_LOG_LEVEL (service log level, default silent; `error` shows the cause of INTERNAL
 * errors; in the default mode the service's output is relayed prefixed with [service]).
 */
import { Client } from 'pg';
import { Redis } from 'ioredis';
import { execSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { bookingFigures, GOAL_P99_MS, GOAL_RPS, ms, printBookingReport } from './booking-report';

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
const WINDOW_STRIDE_MS = 2 * 60_000;
const WINDOW_LENGTH_MS = 60_000;

/**
 * The contended run's lanes: Otemachi and Sendai to Ishikari share the AOM–HKD–SPR–ISK spans, and two
 * Otemachi ports to Tama share OTE–TAM. Request n books lane n mod 4 in window slot ⌊n / 4⌋, so the two
 * requests of each pair race for the same channels of the same minute, as popular spans do.
 */
const CONTENDED_LANES: ReadonlyArray<readonly [string, string]> = [
  ['OTE-HQ-100G-1', 'ISK-GDC-100G-1'],
  ['SDI-LAB-100G-1', 'ISK-GDC-100G-2'],
  ['OTE-HQ-100G-2', 'TAM-GDC-100G-1'],
  ['OTE-HQ-100G-3', 'TAM-GDC-100G-2'],
];

const RESERVE_QUERY = 'mutation Reserve($input: ReserveLightpathInput!) { reserveLightpath(input: $input) { id state channel } }';
const TRIVIAL_QUERY = '{ me { role } }';

/** The body of one autoCommit booking of a one-minute window starting at `start` (epoch ms). */
function reserveBody(pair: { source: EndpointRow; destination: EndpointRow }, start: number): string {
  return JSON.stringify({
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
}

export function benchServerUrl(): string {
  return process.env.BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

export function benchRedisUrl(): string {
  return process.env.BENCH_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/** Password-free form of a connection URL, for printing. */
export function redact(url: string): string {
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

export async function redisReachable(url: string): Promise<boolean> {
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

export async function gql<T>(url: string, token: string, query: string, variables: Record<string, unknown> = {}): Promise<T> {
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

export interface EndpointRow {
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
 */
class SqlProfile {
  readonly statements = new Map<string, { count: number; totalMs: number }>();
  queries = 0;
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
        const settle = () => profile.record(text, t0, performance.now());
        (result as Promise<unknown>).then(settle, settle);
      }
      return result;
    };
  }

  uninstall(): void {
    if (this.original) (Client.prototype as unknown as { query: unknown }).query = this.original;
    this.original = null;
  }

  private record(text: string, t0: number, t1: number): void {
    const key = text.replace(/\s+/g, ' ').trim().slice(0, 72);
    const entry = this.statements.get(key) ?? { count: 0, totalMs: 0 };
    entry.count += 1;
    entry.totalMs += t1 - t0;
    this.statements.set(key, entry);
    this.queries += 1;
  }

  reset(): void {
    this.statements.clear();
    this.queries = 0;
  }
}

/** The service under load, wherever it runs. */
export interface BenchService {
  readonly url: string;
  readonly adminToken: string;
  /** The separate service process; null when the service runs in this process. */
  readonly pid: number | null;
  /** Graceful stop (drains in-flight requests). Idempotent. */
  stop(): Promise<void>;
  /** Immediate, synchronous kill (signals, process exit); a no-op in-process. */
  kill(): void;
}

async function startInProcessService(env: NodeJS.ProcessEnv): Promise<BenchService> {
  // Loaded here so that the default mode does not load the service (Nest, TypeORM, …) into the client.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startService } = require('../src/main') as typeof import('../src/main');
  const service = await startService(env, { quiet: true });
  if (!service.url) {
    await service.stop();
    throw new Error('the service started without an HTTP listener');
  }
  return { url: service.url, adminToken: service.adminToken, pid: null, stop: () => service.stop(), kill: () => undefined };
}

/** The built service entry point, next to this file in dist/. */
const SERVICE_ENTRY = resolve(__dirname, '../src/main.js');
const BOOT_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 15_000;

/**
 * `node dist/src/main.js` as a child process. Ready when it prints `listening on http://…` on stdout; its
 * other output (nothing at LOG_LEVEL=silent) is relayed with a [service] prefix. Keeps the last lines of
 * output to explain a failed start.
 */
export class ChildService implements BenchService {
  readonly pid: number;
  readonly ready: Promise<void>;
  url = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<void>;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private stopping: Promise<void> | null = null;
  private killed = false;
  private readonly tail: string[] = [];

  constructor(
    env: NodeJS.ProcessEnv,
    readonly adminToken: string,
  ) {
    if (!existsSync(SERVICE_ENTRY)) throw new Error(`${SERVICE_ENTRY} does not exist: run npm run build first`);
    this.child = spawn(process.execPath, [SERVICE_ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    if (this.child.pid === undefined) throw new Error(`could not start ${process.execPath} ${SERVICE_ENTRY}`);
    this.pid = this.child.pid;
    this.exited = new Promise((done) =>
      this.child.once('close', (code, signal) => {
        this.exit = { code, signal };
        if (this.url && !this.stopping && !this.killed)
          console.error(`  !! the service (pid ${this.pid}) exited unexpectedly: ${this.describeExit()}`);
        done();
      }),
    );
    this.ready = new Promise<void>((ready, fail) => {
      const timer = setTimeout(() => {
        this.kill();
        fail(new Error(`the service did not listen within ${BOOT_TIMEOUT_MS / 1000} s${this.lastOutput()}`));
      }, BOOT_TIMEOUT_MS);
      this.child.once('error', (error) => {
        clearTimeout(timer);
        fail(new Error(`could not run the service: ${error.message}`));
      });
      void this.exited.then(() => {
        clearTimeout(timer);
        fail(new Error(`the service exited before listening (${this.describeExit()})${this.lastOutput()}`));
      });
      const relay = (stream: NodeJS.ReadableStream, write: (line: string) => void) =>
        createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
          this.tail.push(line);
          if (this.tail.length > 40) this.tail.shift();
          const listening = /listening on (http:\/\/[^\s/]+)/.exec(line);
          if (listening && !this.url) {
            this.url = listening[1];
            clearTimeout(timer);
            ready();
          } else if (!/^SIG(TERM|INT) received: draining/.test(line)) {
            write(`  [service] ${line}`);
          }
        });
      relay(this.child.stdout as NodeJS.ReadableStream, (line) => console.log(line));
      relay(this.child.stderr as NodeJS.ReadableStream, (line) => console.error(line));
    });
  }

  get running(): boolean {
    return this.exit === null;
  }

  describeExit(): string {
    if (!this.exit) return 'running';
    return this.exit.signal ? `killed by ${this.exit.signal}` : `exit code ${this.exit.code}`;
  }

  private lastOutput(): string {
    return this.tail.length ? `; last output:\n${this.tail.map((l) => `    ${l}`).join('\n')}` : '';
  }

  /** SIGTERM, then SIGKILL after STOP_GRACE_MS; resolves once the process has exited. */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      if (!this.running) return;
      const t0 = performance.now();
      let forced = false;
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => {
        forced = true;
        console.error(`  the service (pid ${this.pid}) did not exit ${STOP_GRACE_MS / 1000} s after SIGTERM: SIGKILL`);
        this.child.kill('SIGKILL');
      }, STOP_GRACE_MS);
      await this.exited;
      clearTimeout(timer);
      const how = `${this.describeExit()}, ${((performance.now() - t0) / 1000).toFixed(1)} s after SIGTERM`;
      if (forced || this.exit?.code !== 0) console.error(`  !! service stopped abnormally (${how})`);
      else console.log(`  service stopped (${how})`);
    })());
  }

  kill(): void {
    if (!this.running) return;
    this.killed = true;
    this.child.kill('SIGKILL');
  }
}

/**
 * One benchmark run's scratch resources on a PostgreSQL server: the database apn_bench_<suffix>, the queue
 * prefix of the same name (with Redis) and the admin token of the service started on them. `close()` stops
 * the attached service, drops the database and deletes the prefix's Redis keys. Ctrl-C or SIGTERM does the
 * same (killing the service) and exits 130; the service never outlives this process.
 */
export class ScratchRun {
  readonly suffix = randomBytes(6).toString('hex');
  readonly database = `apn_bench_${this.suffix}`;
  readonly queuePrefix = `apn_bench_${this.suffix}`;
  readonly adminToken = randomBytes(24).toString('base64url');
  readonly databaseUrl: string;
  /** The service on this run's database, stopped by close() and killed on a signal or at exit. */
  service: BenchService | null = null;

  private readonly killService = () => this.service?.kill();
  private readonly onSignal = (signal: NodeJS.Signals) => {
    const pid = this.service?.pid;
    console.error(`  ${signal}: ${pid ? `killing the service (pid ${pid}), ` : ''}dropping ${this.database} and exiting`);
    this.killService();
    void this.dropScratch(true).finally(() => process.exit(130));
  };

  private constructor(
    readonly serverUrl: string,
    /** Redis of the run's queues; null for BullMQ on PostgreSQL. */
    readonly redisUrl: string | null,
  ) {
    this.databaseUrl = withDatabase(serverUrl, this.database);
  }

  static async open(serverUrl: string, redisUrl: string | null): Promise<ScratchRun> {
    const run = new ScratchRun(serverUrl, redisUrl);
    await adminQuery(serverUrl, `CREATE DATABASE "${run.database}"`);
    process.on('exit', run.killService);
    process.once('SIGINT', run.onSignal);
    process.once('SIGTERM', run.onSignal);
    return run;
  }

  /**
   * The service's settings on this run's database and queues: reference topology, API and worker in one
   * process, an ephemeral port; `extra` adds or overrides. BENCH_LOG_LEVEL=error shows the service's log,
   * e.g. the cause behind an INTERNAL error.
   */
  serviceEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      DATABASE_URL: this.databaseUrl,
      PORT: '0',
      HOST: '127.0.0.1',
      APN_SEED: 'reference',
      APN_ROLE: 'all',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
      APN_DATA_DIR: 'memory',
      APN_ADMIN_TOKEN: this.adminToken,
      APN_QUEUE_PREFIX: this.queuePrefix,
      ...(this.redisUrl ? { REDIS_URL: this.redisUrl } : {}),
      ...extra,
    };
  }

  /**
   * Starts `node dist/src/main.js` with `env` as this run's service and waits until it listens. Only the
   * service's own settings reach it, plus what Node itself may need; NODE_OPTIONS passes through (e.g.
   * --cpu-prof for a profile of the service).
   */
  async startChild(env: NodeJS.ProcessEnv): Promise<ChildService> {
    const childEnv: NodeJS.ProcessEnv = { ...env };
    for (const name of ['PATH', 'HOME', 'TMPDIR', 'NODE_OPTIONS']) {
      if (process.env[name] !== undefined) childEnv[name] = process.env[name];
    }
    const child = new ChildService(childEnv, this.adminToken);
    this.service = child;
    await child.ready;
    return child;
  }

  /** Stops the service (if any), then drops the database and the run's queue keys. */
  async close(): Promise<void> {
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
    const running = this.service;
    if (running) await running.stop().catch((error: unknown) => console.error(`  stopping the service failed: ${String(error)}`));
    process.removeListener('exit', this.killService);
    await this.dropScratch(false);
  }

  private async dropScratch(quiet: boolean): Promise<void> {
    await adminQuery(this.serverUrl, `DROP DATABASE IF EXISTS "${this.database}" WITH (FORCE)`).then(
      () => quiet || console.log(`  dropped ${this.database}`),
      (error: unknown) => quiet || console.error(`  could not drop ${this.database}: ${(error as Error).message}; drop it by hand`),
    );
    if (this.redisUrl) await deleteRedisKeys(this.redisUrl, this.queuePrefix);
  }
}

/** A tenant named `name` and a TENANT API key for it; returns the key's secret. */
export async function createTenantKey(url: string, adminToken: string, name: string, label: string): Promise<string> {
  const { createTenant } = await gql<{ createTenant: { id: string } }>(
    url,
    adminToken,
    'mutation($name: String!) { createTenant(name: $name) { id } }',
    { name },
  );
  const { createApiKey } = await gql<{ createApiKey: { secret: string } }>(
    url,
    adminToken,
    'mutation($tenantId: ID!, $label: String!) { createApiKey(role: TENANT, tenantId: $tenantId, label: $label) { secret } }',
    { tenantId: createTenant.id, label },
  );
  return createApiKey.secret;
}

let clockTicks: number | null = null;

/** CPU time (user + system, all threads) of a process, in ms, from /proc/<pid>/stat; null when unreadable. */
export function processCpuMs(pid: number): number | null {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execSync('getconf CLK_TCK', { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / clockTicks : null;
  } catch {
    return null;
  }
}

/** Machine-wide CPU time in clock ticks from /proc/stat (all cores): busy, and total including idle and iowait. */
export function machineCpuTicks(): { busy: number; iowait: number; total: number; cores: number } | null {
  try {
    const stat = readFileSync('/proc/stat', 'utf8');
    const [user, nice, system, idle, iowait, irq, softirq, steal] = stat.split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
    const busy = user + nice + system + irq + softirq + steal;
    const cores = stat.split('\n').filter((l) => /^cpu\d+ /.test(l)).length;
    return Number.isFinite(busy + idle + iowait) ? { busy, iowait, total: busy + idle + iowait, cores } : null;
  } catch {
    return null;
  }
}

/**
 * Server-side statement statistics from pg_stat_statements, for the default mode, where the service's pg
 * client cannot be patched. Only when the server preloads the module (shared_preload_libraries); the
 * extension is then created in the scratch database, which is dropped at the end. Times are execution
 * times inside PostgreSQL (including lock waits), not call → result as seen from Node.
 */
class StatementStats {
  private constructor(private readonly client: Client) {}

  static async open(client: Client): Promise<StatementStats | null> {
    try {
      const { rows } = await client.query<{ setting: string }>(`SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'`);
      if (!/\bpg_stat_statements\b/.test(rows[0]?.setting ?? '')) return null;
      await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      const stats = new StatementStats(client);
      await stats.snapshot();
      return stats;
    } catch {
      return null;
    }
  }

  /** Cumulative calls and execution time by statement in this database, leaving out the benchmark's own queries. */
  async snapshot(): Promise<Map<string, { text: string; calls: number; ms: number }>> {
    const { rows } = await this.client.query<{ id: string; text: string; calls: string; ms: number }>(
      `SELECT s.queryid::text AS id, min(s.query) AS text, sum(s.calls)::text AS calls, sum(s.total_exec_time)::float8 AS ms
         FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
        WHERE d.datname = current_database() AND s.query NOT LIKE '%pg\\_stat\\_%'
        GROUP BY s.queryid`,
    );
    return new Map(rows.map((r) => [r.id, { text: r.text, calls: Number(r.calls), ms: Number(r.ms) }]));
  }

  static diff(
    before: Map<string, { text: string; calls: number; ms: number }>,
    after: Map<string, { text: string; calls: number; ms: number }>,
  ): Array<[string, { count: number; totalMs: number }]> {
    const out: Array<[string, { count: number; totalMs: number }]> = [];
    for (const [id, a] of after) {
      const b = before.get(id);
      const count = a.calls - (b?.calls ?? 0);
      if (count > 0) out.push([a.text.replace(/\s+/g, ' ').trim().slice(0, 72), { count, totalMs: a.ms - (b?.ms ?? 0) }]);
    }
    return out.sort((x, y) => y[1].totalMs - x[1].totalMs);
  }
}

export interface RunFigures {
  result: AutocannonResult;
  tally: Tally;
  rps: number;
  /** This process's event loop: client and server in-process, the client only otherwise. */
  eventLoopUtilization: number;
  /** CPU of this process per request: client and server in-process, the client only otherwise. */
  cpuMsPerRequest: number;
  /** Share of one core this process used during the run. */
  cpuShare: number;
  /** CPU of the separate service process per request; null in-process or when /proc is unreadable. */
  serverCpuMsPerRequest: number | null;
  serverCpuShare: number | null;
  /** Whole machine during the run (everything: service, client, PostgreSQL, Redis, …); null without /proc/stat. */
  machine: { cores: number; busyCores: number; iowaitCores: number } | null;
}

async function cannon(
  url: string,
  seconds: number,
  field: string,
  request: Omit<AutocannonRequest, 'onResponse'>,
  serverPid: number | null,
): Promise<RunFigures> {
  const tally = newTally();
  const server0 = serverPid === null ? null : processCpuMs(serverPid);
  const machine0 = machineCpuTicks();
  const t0 = performance.now();
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
  const wallMs = performance.now() - t0;
  const server1 = serverPid === null ? null : processCpuMs(serverPid);
  const machine1 = machineCpuTicks();
  const ticks = machine0 && machine1 ? machine1.total - machine0.total : 0;
  const serverMs = server0 !== null && server1 !== null ? server1 - server0 : null;
  const done = Math.max(1, result.requests.total);
  const clientMs = (cpu.user + cpu.system) / 1000;
  return {
    result,
    tally,
    rps: tally.ok / result.duration,
    eventLoopUtilization: elu.utilization,
    cpuMsPerRequest: clientMs / done,
    cpuShare: clientMs / wallMs,
    serverCpuMsPerRequest: serverMs === null ? null : serverMs / done,
    serverCpuShare: serverMs === null ? null : serverMs / wallMs,
    machine:
      machine0 && machine1 && ticks > 0
        ? {
            cores: machine1.cores,
            busyCores: ((machine1.busy - machine0.busy) / ticks) * machine1.cores,
            iowaitCores: ((machine1.iowait - machine0.iowait) / ticks) * machine1.cores,
          }
        : null,
  };
}

export { ms };

export type Activity = ReturnType<ActivitySampler['stop']>;
export type StatementTimes = Array<[string, { count: number; totalMs: number }]>;

/** What the database holds after the run: the exclusion guarantees, and how many bookings were made. */
export interface DatabaseCheck {
  linkOverlaps: number;
  endpointOverlaps: number;
  reservations: number;
  reserved: number;
  auditEntries: number;
  rollbacks: number;
}

/** Everything one booking benchmark measured, for its figures and its report (bench/booking-report.ts). */
export interface BookingOutcome {
  inProcess: boolean;
  serverPid: number | null;
  warm: RunFigures;
  run: RunFigures;
  contended: RunFigures;
  trivial: RunFigures;
  activity: Activity;
  contendedActivity: Activity;
  /** By time spent: every statement the service sent in-process, pg_stat_statements otherwise, or null. */
  topStatements: StatementTimes | null;
  /** Statements the service sent during the measured run (in-process only). */
  sqlQueries: number;
  /** Booking requests sent by the uncontended and contended runs, answered or not. */
  bookingRequestsSent: number;
  db: DatabaseCheck;
}

/** Every (source, destination) pair of equal rate at different sites. */
function bookablePairs(endpoints: EndpointRow[]): Array<{ source: EndpointRow; destination: EndpointRow }> {
  const pairs: Array<{ source: EndpointRow; destination: EndpointRow }> = [];
  for (const source of endpoints) {
    for (const destination of endpoints) {
      if (source.rateGbps === destination.rateGbps && source.site.code !== destination.site.code) {
        pairs.push({ source, destination });
      }
    }
  }
  if (pairs.length === 0) throw new Error('the reference topology has no bookable endpoint pair');
  return pairs;
}

/** The pairs of CONTENDED_LANES, from the topology's endpoints. */
function contendedLanes(endpoints: EndpointRow[]): Array<{ source: EndpointRow; destination: EndpointRow }> {
  const byCode = new Map(endpoints.map((e) => [e.code, e]));
  return CONTENDED_LANES.map(([source, destination]) => {
    const s = byCode.get(source);
    const d = byCode.get(destination);
    if (!s || !d) throw new Error(`the reference topology lacks ${source} or ${destination}`);
    return { source: s, destination: d };
  });
}

/** A GraphQL POST whose n-th body is `body(n)`; `sent()` says how many it has sent. */
function numberedRequest(headers: Record<string, string>, body: (n: number) => string) {
  let counter = 0;
  const request: Omit<AutocannonRequest, 'onResponse'> = {
    method: 'POST',
    path: '/graphql',
    headers,
    setupRequest: (r) => {
      r.body = body(counter++);
      return r;
    },
  };
  return { request, sent: () => counter };
}

async function rollbackCount(monitor: Client, database: string): Promise<number> {
  const r = await monitor.query<{ n: string }>('SELECT xact_rollback::text AS n FROM pg_stat_database WHERE datname = $1', [database]);
  return Number(r.rows[0]?.n ?? 0);
}

/** The exclusion guarantees and the counts, once the service has stopped. */
async function checkDatabase(monitor: Client, database: string, rollbacksBefore: number): Promise<DatabaseCheck> {
  const check = async (text: string) => Number((await monitor.query<{ n: string }>(text)).rows[0].n);
  return {
    linkOverlaps: await check(
      `SELECT count(*)::text AS n FROM link_allocations a JOIN link_allocations b
          ON a.link_id = b.link_id AND a.channel = b.channel AND a.during && b.during AND a.id < b.id`,
    ),
    endpointOverlaps: await check(
      `SELECT count(*)::text AS n FROM endpoint_allocations a JOIN endpoint_allocations b
          ON a.endpoint_id = b.endpoint_id AND a.during && b.during AND a.id < b.id`,
    ),
    reservations: await check(`SELECT count(*)::text AS n FROM reservations`),
    reserved: await check(`SELECT count(*)::text AS n FROM reservations WHERE state = 'RESERVED'`),
    auditEntries: await check(`SELECT count(*)::text AS n FROM audit_log WHERE action = 'reservation.created'`),
    rollbacks: (await rollbackCount(monitor, database)) - rollbacksBefore,
  };
}

/** Where the load goes and what watches it during the phases. */
interface LoadTarget {
  url: string;
  token: string;
  endpoints: EndpointRow[];
  serverPid: number | null;
  monitor: Client;
  database: string;
  seconds: number;
  inProcess: boolean;
  sql: SqlProfile;
  statements: StatementStats | null;
  assertRunning: () => void;
}

/** Warm-up, the measured run, the contended run and the trivial query, in that order. */
async function runLoadPhases(target: LoadTarget): Promise<Omit<BookingOutcome, 'db' | 'inProcess' | 'serverPid'>> {
  const { url, token, endpoints, serverPid, monitor, database, seconds, sql, statements, assertRunning } = target;
  const pairs = bookablePairs(endpoints);
  const rates = [...new Set(pairs.map((p) => p.source.rateGbps))].sort((a, b) => a - b);
  console.log(`  ${endpoints.length} endpoints, ${pairs.length} (source, destination) pairs at ${rates.join('/')} Gbps`);
  // One distinct, non-overlapping window per request: no request can conflict with another.
  const base = Math.ceil((Date.now() + 7 * 24 * 3_600_000) / 60_000) * 60_000;
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const booking = numberedRequest(headers, (n) => reserveBody(pairs[n % pairs.length], base + n * WINDOW_STRIDE_MS));

  console.log(`  warm-up: ${WARMUP_SECONDS} s of bookings`);
  const warm = await cannon(url, WARMUP_SECONDS, 'reserveLightpath', booking.request, serverPid);
  console.log(`    ${warm.tally.ok} booked (${warm.rps.toFixed(0)}/s), ${warm.tally.graphqlErrors} GraphQL errors`);
  assertRunning();

  console.log(`  measuring: ${seconds} s of bookings`);
  const sampler = new ActivitySampler(monitor, database);
  const statementsBefore = statements ? await statements.snapshot() : null;
  sampler.start();
  sql.reset();
  sql.recording = true;
  const run = await cannon(url, seconds, 'reserveLightpath', booking.request, serverPid);
  sql.recording = false;
  const activity = sampler.stop();
  const statementsAfter = statements ? await statements.snapshot() : null;
  assertRunning();
  // In-process: every statement the service sent, call → result. Default mode: pg_stat_statements
  // (server-side execution time) when available, otherwise nothing.
  const topStatements = target.inProcess
    ? [...sql.statements].sort((a, b) => b[1].totalMs - a[1].totalMs)
    : statementsBefore && statementsAfter
      ? StatementStats.diff(statementsBefore, statementsAfter)
      : null;

  // The same load where pairs of requests race for the same channels (see CONTENDED_LANES).
  const lanes = contendedLanes(endpoints);
  const contendedBase = base + 100 * 24 * 3_600_000;
  const contendedBooking = numberedRequest(headers, (n) =>
    reserveBody(lanes[n % lanes.length], contendedBase + Math.floor(n / lanes.length) * WINDOW_STRIDE_MS),
  );
  console.log(`  contended: ${seconds} s of bookings where pairs of requests race for the same channels`);
  const contendedSampler = new ActivitySampler(monitor, database);
  contendedSampler.start();
  const contended = await cannon(url, seconds, 'reserveLightpath', contendedBooking.request, serverPid);
  const contendedActivity = contendedSampler.stop();
  assertRunning();

  console.log(`  trivial query: ${TRIVIAL_SECONDS} s of ${TRIVIAL_QUERY}`);
  const trivialRequest = { method: 'POST' as const, path: '/graphql', headers, body: JSON.stringify({ query: TRIVIAL_QUERY }) };
  await cannon(url, 1, 'me', trivialRequest, serverPid);
  const trivial = await cannon(url, TRIVIAL_SECONDS, 'me', trivialRequest, serverPid);
  assertRunning();
  return {
    warm,
    run,
    contended,
    trivial,
    activity,
    contendedActivity,
    topStatements,
    sqlQueries: sql.queries,
    bookingRequestsSent: booking.sent() + contendedBooking.sent(),
  };
}

function printBookingSetup(
  serverUrl: string,
  database: string,
  redisUrl: string,
  useRedis: boolean,
  queuePrefix: string,
  inProcess: boolean,
) {
  const seconds = Number(process.env.BENCH_SECONDS ?? 20);
  console.log(
    `Booking benchmark: ${CONNECTIONS} connections, ${seconds} s of reserveLightpath(autoCommit), goal ≥ ${GOAL_RPS} reservations/s with p99 ≤ ${GOAL_P99_MS} ms`,
  );
  console.log(`  PostgreSQL: scratch database ${database} on ${redact(serverUrl)}`);
  console.log(
    useRedis
      ? `  queues: BullMQ on Redis ${redact(redisUrl)} (prefix ${queuePrefix})`
      : `  queues: Redis at ${redact(redisUrl)} is not reachable; falling back to BullMQ on PostgreSQL (no REDIS_URL)`,
  );
  console.log(
    inProcess
      ? '  mode: in-process (BENCH_INPROCESS=1): autocannon and the service share this Node.js process, and the machine’s cores with PostgreSQL'
      : '  mode: separate processes: autocannon here, the service in a child process (node dist/src/main.js); both share the machine’s cores with PostgreSQL',
  );
}

export async function runBookingBench(): Promise<Record<string, number>> {
  const seconds = Number(process.env.BENCH_SECONDS ?? 20);
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new Error(`BENCH_SECONDS must be a positive number, got ${process.env.BENCH_SECONDS}`);
  const inProcess = process.env.BENCH_INPROCESS === '1';
  const serverUrl = benchServerUrl();
  const unreachable = await postgresUnreachable(serverUrl);
  if (unreachable) throw new Error(unreachable);

  const redisUrl = benchRedisUrl();
  const useRedis = await redisReachable(redisUrl);
  const scratch = await ScratchRun.open(serverUrl, useRedis ? redisUrl : null);
  const { suffix, database, databaseUrl, queuePrefix } = scratch;
  printBookingSetup(serverUrl, database, redisUrl, useRedis, queuePrefix, inProcess);

  let monitor: Client | null = null;
  const sql = new SqlProfile();
  if (inProcess) sql.install(() => monitor);
  try {
    const env = scratch.serviceEnv({ APN_DB_POOL_SIZE: '40' });
    const bootStart = performance.now();
    const service = inProcess ? (scratch.service = await startInProcessService(env)) : await scratch.startChild(env);
    const { url, pid: serverPid } = service;
    console.log(`  service up in ${ms(performance.now() - bootStart)} at ${url}${serverPid ? ` (pid ${serverPid})` : ''}`);
    const assertRunning = () => {
      if (service instanceof ChildService && !service.running)
        throw new Error(`the service exited during the run (${service.describeExit()})`);
    };
    const token = await createTenantKey(url, service.adminToken, `bench-${suffix}`, 'booking benchmark');
    const { endpoints } = await gql<{ endpoints: EndpointRow[] }>(url, token, '{ endpoints { id code rateGbps site { code } } }');

    monitor = new Client({ connectionString: databaseUrl });
    monitor.on('error', () => undefined); // e.g. terminated by DROP DATABASE … WITH (FORCE) after a signal
    await monitor.connect();
    const rollbacksBefore = await rollbackCount(monitor, database);
    // Default mode: server-side statement statistics, when the PostgreSQL server preloads pg_stat_statements.
    const statements = inProcess ? null : await StatementStats.open(monitor);
    const phases = await runLoadPhases({
      url,
      token,
      endpoints,
      serverPid,
      monitor,
      database,
      seconds,
      inProcess,
      sql,
      statements,
      assertRunning,
    });
    // Stop the service (drains in-flight requests) before checking the database.
    await service.stop();
    const outcome: BookingOutcome = { ...phases, inProcess, serverPid, db: await checkDatabase(monitor, database, rollbacksBefore) };
    const out = bookingFigures(outcome);
    printBookingReport(outcome, out);
    return out;
  } finally {
    sql.uninstall();
    if (monitor) await monitor.end().catch(() => undefined);
    await scratch.close();
  }
}

/** Runs a benchmark when `entry` is the program's entry point: exits 0 when it finishes, 1 (printing why) when it fails. */
export function runIfMain(entry: NodeJS.Module, bench: () => Promise<unknown>): void {
  if (require.main !== entry) return;
  bench().then(
    () => process.exit(0),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}

runIfMain(module, runBookingBench);
