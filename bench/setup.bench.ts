/**
 * Lightpath setup overhead benchmark: how late, beyond the devices' own time, a lightpath comes up.
 *
 * Setup overhead of a reservation = the `at` of its ACTIVE history entry − its `start` − its device time.
 * Device time is what the emulator spends configuring devices: EmulatorDriver.setupLightpath sleeps
 * APN_EMULATOR_HOP_MS once per LINK of the path (hopMs × linkIds.length, in one sleep; the nodes are not
 * timed separately, and the queries around the sleep count as overhead). So device time = path links ×
 * APN_EMULATOR_HOP_MS, with the path read back from the reservation (`path`) after it came up. All
 * timestamps come from this machine's clock: `start` is chosen here, the history's `at` is PostgreSQL's
 * clock_timestamp() on the same machine.
 *
 * Goal: p99 ≤ 250 ms over ≥ 200 reservations starting within one minute, with BullMQ on Redis; the same is
 * measured and reported with BullMQ on PostgreSQL (no REDIS_URL). Each backend gets its own run: a scratch
 * database on the server named by BENCH_DATABASE_URL (or DATABASE_URL, or
 * postgres://postgres@127.0.0.1:5432/postgres), the service as a child process (`node dist/src/main.js`,
 * APN_ROLE=all, reference topology, APN_EMULATOR_HOP_MS=50 by default, APN_MIN_DURATION_S=1) and, with Redis,
 * a queue prefix of its own; all of it is removed at the end, also on failure or Ctrl-C. The Redis run is skipped,
 * with the reason, when Redis (BENCH_REDIS_URL, or REDIS_URL, or redis://127.0.0.1:6379) does not answer.
 *
 * The load: 200 autoCommit reservations booked through GraphQL, whose starts all fall within 58 s,
 * beginning about 20 s after the booking so that booking and setups do not overlap. The reference topology
 * has 30 endpoints, and an endpoint is exclusive for its window, so the windows are short (2 s) and the
 * endpoints are reused:
 *  - lanes: disjoint (source, destination) pairs of equal rate at different sites, paired greedily between
 *    the sites with most endpoints left. No site gets more lanes than the narrowest link has channels (ISK
 *    lies behind the 8-channel AOM-HKD span), so every lane of a wave finds a channel.
 *  - waves: every lane once per wave; a wave's starts are spread evenly over `spread`, each window lasts
 *    2 s, and the next wave starts 1 s (the guard) after the last window of the wave has ended. Within a
 *    wave all windows overlap, so no two of them share an endpoint or a (link, channel). Across waves a
 *    (link, channel) is reused, and the guard leaves the emulator time to tear the old lightpath down first:
 *    it refuses to light a channel another lightpath still holds, and bookings have no gap between windows.
 *    The teardowns of a wave thus also happen between the waves' setups, not among them.
 * With 13 lanes: 16 waves, 0.8 s spread (about 16 setups a second within a wave), one wave every 3.8 s.
 * Every booking must succeed and every reservation must reach ACTIVE; otherwise the run fails naming them.
 *
 * Besides the overhead, its parts, from the setup job's record in BullMQ (`processedOn`, when a worker took
 * it) and the PROVISIONING history entry: pickup = processedOn − start (the delayed job's lateness: BullMQ
 * promotion and the worker's fetch, and waiting for a free worker slot, which a setup holds through its
 * device time); claim = PROVISIONING − processedOn (dispatch and the transaction that moves the reservation
 * to PROVISIONING); work = ACTIVE − PROVISIONING − device time (the driver's queries and writes around the
 * devices' sleep, and the move to ACTIVE). Also shown: the most setup jobs running at once; the reconciler's
 * runs during the setups (every 30 s it re-enqueues the jobs of every live reservation) and the overhead of
 * the setups that overlapped one; and, on Redis, the server's `hz`: a worker waits for a due delayed job
 * with a blocking command whose timeout Redis only notices on its own clock (hz 10, the default, is a
 * 100 ms tick), so on an idle Redis a setup starts up to 1000/hz ms late.
 *
 * Run: npm run build && node dist/bench/setup.bench.js
 * Environment: BENCH_DATABASE_URL, BENCH_REDIS_URL, BENCH_SETUP_RESERVATIONS (default 200),
 * BENCH_SETUP_HOP_MS (default 50), BENCH_SETUP_BACKENDS (default `redis,postgres`), BENCH_SETUP_SPREAD_MS
 * (narrows each wave's spread; 0 starts a whole wave at the same instant, as bookings "on the hour" would),
 * BENCH_SETUP_DUMP (a path prefix: writes each reservation's timestamps to <prefix>.<backend>.json),
 * BENCH_LOG_LEVEL.
 */
import { Queue, createPostgresBackend, withBackend, type Job, type JobType } from 'bullmq';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { JOB_QUEUE, JobName, QueueName, reservationJobId } from '../src/core/queue/job-catalogue';
import {
  benchRedisUrl,
  benchServerUrl,
  createTenantKey,
  type EndpointRow,
  gql,
  machineCpuTicks,
  ms,
  postgresUnreachable,
  processCpuMs,
  redact,
  redisReachable,
  runIfMain,
  ScratchRun,
} from './booking.bench';
import { loadConfig } from '../src/core/config/config';

/** The service's setup lead, as the child process will read it. */
const SETUP_LEAD_MS = loadConfig({ APN_SETUP_LEAD_MS: process.env.APN_SETUP_LEAD_MS }).setupLeadMs;

const GOAL_P99_MS = 250;
/** All starts fall within this span (< one minute). */
const SPAN_MS = 58_000;
/** From the end of the booking to the first start. */
const LEAD_MS = 20_000;
/** The booking may take this long before the lead gets shorter than LEAD_MS. */
const BOOKING_ALLOWANCE_MS = 10_000;
/** Length of every window; the setup must be done before its window ends, or the teardown overtakes it. */
const WINDOW_MS = 2_000;
/** From the last end of a wave to the first start of the next. */
const GUARD_MS = 1_000;
const BOOKING_CONCURRENCY = 4;
/** After the last start: how long the reservations may take to come up before the run fails. */
const ACTIVE_TIMEOUT_MS = 30_000;
const PAGE_SIZE = 100;

const RESERVE_QUERY = 'mutation Reserve($input: ReserveLightpathInput!) { reserveLightpath(input: $input) { id state } }';
const RESULTS_QUERY = `query Results($first: Int!, $after: String) {
  reservations(first: $first, after: $after) {
    edges { node { id start state source { code } destination { code } path { code } history { state at reason } } }
    pageInfo { hasNextPage endCursor }
  }
}`;

type Backend = 'redis' | 'postgres';

interface Lane {
  source: EndpointRow;
  destination: EndpointRow;
}

interface Planned {
  index: number;
  lane: Lane;
  wave: number;
  /** Offsets from the plan's base, ms. */
  startOffset: number;
  endOffset: number;
}

interface Plan {
  lanes: Lane[];
  windows: Planned[];
  waves: number;
  spreadMs: number;
  periodMs: number;
}

interface ResultRow {
  id: string;
  start: string;
  state: string;
  source: { code: string };
  destination: { code: string };
  path: Array<{ code: string }>;
  history: Array<{ state: string; at: string; reason: string }>;
}

interface ResultPage {
  reservations: { edges: Array<{ node: ResultRow }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

/** Disjoint endpoint pairs, equal rate, different sites; at most `maxPerSite` lanes touch one site. */
function planLanes(endpoints: readonly EndpointRow[], maxPerSite: number): Lane[] {
  const lanes: Lane[] = [];
  const lanesAtSite = new Map<string, number>();
  const rates = [...new Set(endpoints.map((e) => e.rateGbps))].sort((a, b) => b - a);
  for (const rate of rates) {
    const free = new Map<string, EndpointRow[]>();
    for (const e of [...endpoints].filter((x) => x.rateGbps === rate).sort((a, b) => a.code.localeCompare(b.code))) {
      free.set(e.site.code, [...(free.get(e.site.code) ?? []), e]);
    }
    for (;;) {
      const open = [...free]
        .filter(([site, list]) => list.length > 0 && (lanesAtSite.get(site) ?? 0) < maxPerSite)
        .sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));
      if (open.length < 2) break;
      const [[siteA, listA], [siteB, listB]] = open;
      lanes.push({ source: listA.shift() as EndpointRow, destination: listB.shift() as EndpointRow });
      lanesAtSite.set(siteA, (lanesAtSite.get(siteA) ?? 0) + 1);
      lanesAtSite.set(siteB, (lanesAtSite.get(siteB) ?? 0) + 1);
    }
  }
  return lanes;
}

/**
 * `count` windows over the lanes in waves (see the header). Wave k starts at k × period; lane order rotates
 * by one each wave, so long and short paths take turns at the front.
 */
function planWindows(lanes: readonly Lane[], count: number, maxSpreadMs = Infinity): Plan {
  const width = lanes.length;
  if (width === 0) throw new Error('no lanes: the topology has no two sites with endpoints of one rate');
  const waves = Math.ceil(count / width);
  // (waves − 1) × period + spread ≤ SPAN_MS, with period = spread + WINDOW_MS + GUARD_MS; and the windows of
  // a wave must all overlap (spread < WINDOW_MS), with room to spare for a late setup.
  const widest = Math.floor((SPAN_MS - (waves - 1) * (WINDOW_MS + GUARD_MS)) / waves);
  const spreadMs = Math.min(maxSpreadMs, widest, WINDOW_MS / 2);
  if (spreadMs < 0) {
    throw new Error(
      `${count} reservations on ${width} lanes need ${waves} waves, which do not fit in ${SPAN_MS / 1000} s ` +
        `with ${WINDOW_MS} ms windows and a ${GUARD_MS} ms guard`,
    );
  }
  const periodMs = spreadMs + WINDOW_MS + GUARD_MS;
  const windows: Planned[] = [];
  for (let index = 0; index < count; index++) {
    const wave = Math.floor(index / width);
    const position = index % width;
    const startOffset = wave * periodMs + Math.round((position * spreadMs) / Math.max(1, width - 1));
    windows.push({ index, lane: lanes[(position + wave) % width], wave, startOffset, endOffset: startOffset + WINDOW_MS });
  }
  return { lanes: [...lanes], windows, waves, spreadMs, periodMs };
}

/** Nearest-rank quantile of ascending values. */
function quantile(sorted: readonly number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

interface Distribution {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

/** Runs `task` over `items`, `concurrency` at a time. */
async function pool<T>(items: readonly T[], concurrency: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await task(items[next++]);
    }),
  );
}

/** The largest number of [from, to) intervals that overlap at one instant. */
function mostAtOnce(intervals: ReadonlyArray<readonly [number, number]>): number {
  const edges = intervals
    .flatMap(
      ([from, to]) =>
        [
          [from, 1],
          [to, -1],
        ] as const,
    )
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let most = 0;
  for (const [, step] of edges) most = Math.max(most, (now += step));
  return most;
}

/** The Redis server's `hz` setting, or null when CONFIG is not allowed. */
async function redisServerHz(url: string): Promise<number | null> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const reply = (await redis.config('GET', 'hz')) as string[];
    const hz = Number(reply[1]);
    return Number.isFinite(hz) && hz > 0 ? hz : null;
  } catch {
    return null;
  } finally {
    redis.disconnect();
  }
}

/** What the benchmark reads from a queue of the run: one job, or the jobs in some states. */
interface QueueReader {
  getJob(id: string): Promise<Job | undefined>;
  getJobs(states: JobType[]): Promise<Job[]>;
  close(): Promise<void>;
}

/** A read-only handle on one of the run's queues, on its backend. */
function queueReader(run: ScratchRun, name: QueueName): QueueReader {
  if (run.redisUrl) {
    const redis = new Redis(run.redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue(name, { connection: redis, prefix: run.queuePrefix });
    return {
      getJob: (id) => queue.getJob(id),
      getJobs: (states) => queue.getJobs(states, 0, 999),
      close: async () => {
        await queue.close();
        redis.disconnect();
      },
    };
  }
  const { Queue: PostgresQueue } = withBackend(createPostgresBackend);
  const queue = new PostgresQueue(name, { connection: { connectionString: run.databaseUrl, max: 2 } });
  return { getJob: (id) => queue.getJob(id), getJobs: (states) => queue.getJobs(states, 0, 999), close: () => queue.close() };
}

interface Settings {
  count: number;
  hopMs: number;
  /** Upper bound on a wave's spread (Infinity: as wide as the minute allows). */
  spreadMs: number;
}

/** Books every planned window with autoCommit, a few at a time; fails naming the bookings that did not succeed. */
async function bookAll(url: string, token: string, plan: Plan, base: number, keyPrefix: string): Promise<Map<string, Planned>> {
  const ids = new Map<string, Planned>();
  const failures: string[] = [];
  await pool(plan.windows, BOOKING_CONCURRENCY, async (w) => {
    const input = {
      sourceEndpointId: w.lane.source.id,
      destinationEndpointId: w.lane.destination.id,
      rateGbps: w.lane.source.rateGbps,
      start: new Date(base + w.startOffset).toISOString(),
      end: new Date(base + w.endOffset).toISOString(),
      idempotencyKey: `${keyPrefix}-${w.index}`,
      autoCommit: true,
    };
    try {
      const { reserveLightpath: r } = await gql<{ reserveLightpath: { id: string; state: string } }>(url, token, RESERVE_QUERY, { input });
      if (r.state !== 'RESERVED') throw new Error(`booked in state ${r.state}, not RESERVED`);
      ids.set(r.id, w);
    } catch (error) {
      failures.push(`#${w.index} ${w.lane.source.code} → ${w.lane.destination.code} at +${w.startOffset} ms: ${(error as Error).message}`);
    }
  });
  if (failures.length > 0) {
    throw new Error(
      `${failures.length} of ${plan.windows.length} bookings failed:\n    ${failures.slice(0, 10).join('\n    ')}${failures.length > 10 ? '\n    …' : ''}`,
    );
  }
  return ids;
}

/**
 * Waits until every reservation has ACTIVE in its history (its window may be over by then), reading the
 * database so as not to load the service; fails at `deadline` naming those that have not, with their state.
 */
async function awaitActive(databaseUrl: string, ids: ReadonlyMap<string, Planned>, deadline: number): Promise<void> {
  const client = new Client({ connectionString: databaseUrl });
  client.on('error', () => undefined);
  await client.connect();
  try {
    for (;;) {
      const { rows } = await client.query<{ id: string; state: string; reason: string | null }>(
        `SELECT r.id, r.state,
                (SELECT t.reason FROM reservation_transitions t WHERE t.reservation_id = r.id ORDER BY t.at DESC LIMIT 1) AS reason
           FROM reservations r
          WHERE r.id = ANY($1::uuid[])
            AND NOT EXISTS (SELECT 1 FROM reservation_transitions t WHERE t.reservation_id = r.id AND t.to_state = 'ACTIVE')
          ORDER BY r.start_at`,
        [[...ids.keys()]],
      );
      if (rows.length === 0) return;
      if (Date.now() > deadline) {
        const lines = rows.slice(0, 15).map((r) => {
          const w = ids.get(r.id) as Planned;
          return `${r.id} #${w.index} ${w.lane.source.code} → ${w.lane.destination.code}, start +${w.startOffset} ms: ${r.state} (${r.reason ?? '-'})`;
        });
        throw new Error(
          `${rows.length} of ${ids.size} reservations never became ACTIVE within ${ACTIVE_TIMEOUT_MS / 1000} s of the last start:\n    ` +
            `${lines.join('\n    ')}${rows.length > 15 ? '\n    …' : ''}`,
        );
      }
      await sleep(500);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Every reservation of the tenant, with its path and history, as a client reads them. */
async function readResults(url: string, token: string): Promise<ResultRow[]> {
  const results: ResultRow[] = [];
  let after: string | null = null;
  do {
    const page: ResultPage = await gql<ResultPage>(url, token, RESULTS_QUERY, { first: PAGE_SIZE, after });
    results.push(...page.reservations.edges.map((e) => e.node));
    after = page.reservations.pageInfo.hasNextPage ? page.reservations.pageInfo.endCursor : null;
  } while (after);
  return results;
}

interface JobTimes {
  /** When a worker took the setup job. */
  processedOn: number;
  finishedOn: number | undefined;
}

/** BullMQ's record of each reservation's setup job. */
async function setupJobTimes(run: ScratchRun, reservationIds: readonly string[]): Promise<Map<string, JobTimes>> {
  const times = new Map<string, JobTimes>();
  const reader = queueReader(run, JOB_QUEUE[JobName.LightpathSetup]);
  try {
    await pool(reservationIds, 8, async (id) => {
      const job = await reader.getJob(reservationJobId(id, JobName.LightpathSetup));
      if (job?.processedOn) times.set(id, { processedOn: job.processedOn, finishedOn: job.finishedOn });
    });
  } finally {
    await reader.close();
  }
  return times;
}

/**
 * When the reconciler ran ([from, to) of each run). It runs every APN_RECONCILE_INTERVAL_S (30 s) and
 * enqueues, one after the other, the jobs of every live reservation: 400 for the 200 booked here.
 */
async function reconcileRuns(run: ScratchRun): Promise<Array<readonly [number, number]>> {
  const reader = queueReader(run, JOB_QUEUE[JobName.Reconcile]);
  try {
    const jobs = await reader.getJobs(['completed', 'failed']);
    return jobs.flatMap((j) =>
      j.name === JobName.Reconcile && j.processedOn && j.finishedOn ? [[j.processedOn, j.finishedOn] as const] : [],
    );
  } finally {
    await reader.close();
  }
}

interface Measurement {
  overhead: Distribution;
  within: number;
  pickup: Distribution;
  claim: Distribution;
  work: Distribution;
  links: { min: number; max: number };
  setupJobsAtOnce: number;
  /** Reconciler runs that took place during the setups, and how long they took. */
  reconciles: number[];
  /** Overhead of the setups that overlapped a reconciler run, and of the others. */
  duringReconcile: Distribution;
  outsideReconcile: Distribution;
  /** The slowest reservations, described. */
  slowest: string[];
  /** Each reservation's timestamps, for BENCH_SETUP_DUMP. */
  rows: Array<Record<string, number | string | undefined>>;
}

function measure(
  results: readonly ResultRow[],
  jobs: ReadonlyMap<string, JobTimes>,
  reconciles: ReadonlyArray<readonly [number, number]>,
  hopMs: number,
): Measurement {
  const overhead: number[] = [];
  const duringReconcile: number[] = [];
  const outsideReconcile: number[] = [];
  let first = Infinity;
  let last = -Infinity;
  const pickup: number[] = [];
  const claim: number[] = [];
  const work: number[] = [];
  const links: number[] = [];
  const described: Array<{ overhead: number; text: string }> = [];
  const rows: Measurement['rows'] = [];
  for (const r of results) {
    const start = Date.parse(r.start);
    const at = (state: string) => {
      const entry = r.history.find((h) => h.state === state);
      if (!entry) throw new Error(`reservation ${r.id} has no ${state} in its history`);
      return Date.parse(entry.at);
    };
    const activeAt = at('ACTIVE');
    const provisioningAt = at('PROVISIONING');
    const deviceMs = r.path.length * hopMs;
    const o = activeAt - start - deviceMs;
    const job = jobs.get(r.id);
    overhead.push(o);
    const overlaps = reconciles.some(([from, to]) => from < activeAt && to > start);
    (overlaps ? duringReconcile : outsideReconcile).push(o);
    first = Math.min(first, start);
    last = Math.max(last, activeAt);
    links.push(r.path.length);
    work.push(activeAt - provisioningAt - deviceMs);
    if (job) {
      pickup.push(job.processedOn - start);
      claim.push(provisioningAt - job.processedOn);
    }
    rows.push({ id: r.id, links: r.path.length, start, taken: job?.processedOn, finished: job?.finishedOn, provisioningAt, activeAt });
    described.push({
      overhead: o,
      text:
        `${ms(o).padStart(9)}  ${r.source.code} → ${r.destination.code}, ${r.path.length} links, start ${r.start}` +
        `${job ? `, taken +${job.processedOn - start} ms` : ''}, PROVISIONING +${provisioningAt - start} ms, ACTIVE +${activeAt - start} ms`,
    });
  }
  const running = [...jobs.values()].flatMap((j) => (j.finishedOn ? [[j.processedOn, j.finishedOn] as const] : []));
  return {
    overhead: distribution(overhead),
    within: overhead.filter((o) => o <= GOAL_P99_MS).length,
    pickup: distribution(pickup),
    claim: distribution(claim),
    work: distribution(work),
    links: { min: Math.min(...links), max: Math.max(...links) },
    setupJobsAtOnce: mostAtOnce(running),
    reconciles: reconciles.filter(([from, to]) => from < last && to > first).map(([from, to]) => to - from),
    duringReconcile: distribution(duringReconcile),
    outsideReconcile: distribution(outsideReconcile),
    slowest: described
      .sort((a, b) => b.overhead - a.overhead)
      .slice(0, 3)
      .map((d) => d.text),
    rows,
  };
}

type Measured = ReturnType<typeof measure>;
/** The service's share of a core and the machine's busy cores over the setups, null where /proc could not tell. */
type CpuShares = { serviceCpuShare: number | null; busyCores: number | null; cores: number | undefined };

/** The report of one backend's run. */
function printMeasured(
  line: (label: string, value: string) => void,
  m: Measured,
  hopMs: number,
  redisHz: number | null,
  cpu: CpuShares,
): void {
  const { serviceCpuShare, busyCores } = cpu;
  const dist = (x: Distribution) => `p50 ${ms(x.p50)}, p90 ${ms(x.p90)}, p99 ${ms(x.p99)}, max ${ms(x.max)}`;
  line('reservations measured', `${m.overhead.n} (device time ${m.links.min}–${m.links.max} links × ${hopMs} ms)`);
  line('setup overhead', dist(m.overhead));
  line('within the goal', `${m.within} of ${m.overhead.n} ≤ ${GOAL_P99_MS} ms`);
  // Negative pickups are expected: the job is due APN_SETUP_LEAD_MS early and waits for the start, which
  // the claim then includes.
  line('  pickup (taken − start)', m.pickup.n ? `${dist(m.pickup)}   (due ${SETUP_LEAD_MS} ms early)` : 'n/a (no processedOn in BullMQ)');
  line('  claim (PROVISIONING − taken)', m.claim.n ? `${dist(m.claim)}   (includes the wait for the start)` : 'n/a');
  line('  work (ACTIVE − PROV. − device)', dist(m.work));
  line(
    'reconciler runs meanwhile',
    `${m.reconciles.length} (${m.reconciles.map((d) => ms(d)).join(', ') || '-'}); setups overlapping one: ${m.duringReconcile.n}` +
      (m.duringReconcile.n ? `, overhead p50 ${ms(m.duringReconcile.p50)} / max ${ms(m.duringReconcile.max)}` : '') +
      `; others: p50 ${ms(m.outsideReconcile.p50)} / p99 ${ms(m.outsideReconcile.p99)}`,
  );
  line('setup jobs running at once', `at most ${m.setupJobsAtOnce} (a job holds its worker slot through the device time)`);
  if (redisHz !== null) {
    line(
      'Redis hz',
      `${redisHz}: Redis times out blocked commands, a worker's wait for a due delayed job among them, on a ${Math.round(1000 / redisHz)} ms tick`,
    );
  }
  line(
    'CPU during the setups',
    `service ${serviceCpuShare === null ? 'n/a' : `${(serviceCpuShare * 100).toFixed(0)} % of a core`}` +
      (busyCores === null ? '' : `, machine ${busyCores.toFixed(2)} of ${cpu.cores} cores busy`),
  );
  line('slowest', '');
  for (const text of m.slowest) console.log(`      ${text}`);
  line('verdict', `p99 ${ms(m.overhead.p99)} vs goal ≤ ${GOAL_P99_MS} ms: ${m.overhead.p99 <= GOAL_P99_MS ? 'MET' : 'MISSED'}`);
}

/** One backend's figures for the summary table. */
function setupFigures(m: Measured, bookingMs: number, redisHz: number | null, cpu: CpuShares): Record<string, number> {
  const { serviceCpuShare, busyCores } = cpu;
  const figures: Record<string, number> = {
    n: m.overhead.n,
    p50Ms: m.overhead.p50,
    p90Ms: m.overhead.p90,
    p99Ms: m.overhead.p99,
    maxMs: m.overhead.max,
    withinGoal: m.within,
    goalMet: m.overhead.p99 <= GOAL_P99_MS ? 1 : 0,
    pickupP50Ms: m.pickup.p50,
    pickupP99Ms: m.pickup.p99,
    claimP50Ms: m.claim.p50,
    claimP99Ms: m.claim.p99,
    workP50Ms: m.work.p50,
    workP99Ms: m.work.p99,
    setupJobsAtOnce: m.setupJobsAtOnce,
    reconcileRuns: m.reconciles.length,
    overlappingReconcile: m.duringReconcile.n,
    p99MsOutsideReconcile: m.outsideReconcile.p99,
    bookingMs,
  };
  if (redisHz !== null) figures.serverHz = redisHz;
  if (serviceCpuShare !== null) figures.serviceCpuShareOfCore = serviceCpuShare;
  if (busyCores !== null) figures.machineBusyCores = busyCores;
  return figures;
}

async function runBackend(
  backend: Backend,
  serverUrl: string,
  redisUrl: string | null,
  { count, hopMs, spreadMs }: Settings,
): Promise<Record<string, number>> {
  const run = await ScratchRun.open(serverUrl, redisUrl);
  const line = (label: string, value: string) => console.log(`  [${backend}] ${label.padEnd(30)} ${value}`);
  try {
    console.log('');
    line('scratch database', run.database);
    line(
      'queues',
      redisUrl
        ? `BullMQ on Redis ${redact(redisUrl)} (prefix ${run.queuePrefix})`
        : 'BullMQ on PostgreSQL (the same database, no REDIS_URL)',
    );
    const service = await run.startChild(run.serviceEnv({ APN_EMULATOR_HOP_MS: String(hopMs), APN_MIN_DURATION_S: '1' }));
    const url = service.url;
    const token = await createTenantKey(url, run.adminToken, `setup-bench-${run.suffix}`, 'setup benchmark');

    const { endpoints, links } = await gql<{ endpoints: EndpointRow[]; links: Array<{ channelCount: number }> }>(
      url,
      token,
      '{ endpoints { id code rateGbps site { code } } links { channelCount } }',
    );
    const narrowest = Math.min(...links.map((l) => l.channelCount));
    const plan = planWindows(planLanes(endpoints, narrowest), count, spreadMs);
    line(
      'plan',
      `${plan.lanes.length} lanes (≤ ${narrowest} per site), ${plan.waves} waves: starts spread over ${plan.spreadMs} ms, ` +
        `${WINDOW_MS} ms windows, a wave every ${plan.periodMs} ms`,
    );

    const base = Math.ceil((Date.now() + BOOKING_ALLOWANCE_MS + LEAD_MS) / 1000) * 1000;
    const bookingStart = Date.now();
    const ids = await bookAll(url, token, plan, base, `setup-bench-${run.suffix}`);
    const bookingMs = Date.now() - bookingStart;
    const lastStart = base + Math.max(...plan.windows.map((w) => w.startOffset));
    line(
      'booked',
      `${ids.size} in ${ms(bookingMs)}; starts from ${new Date(base).toISOString()} to +${((lastStart - base) / 1000).toFixed(1)} s, ` +
        `the first ${((base - Date.now()) / 1000).toFixed(1)} s from now`,
    );
    if (base - Date.now() < 2_000) throw new Error(`booking took ${ms(bookingMs)}: the first start is too close to measure from it`);

    // Wait out the setups without touching the service; sample its CPU and the machine's over them.
    await sleep(Math.max(0, base - 500 - Date.now()));
    const cpu0 = processCpuMs(service.pid);
    const machine0 = machineCpuTicks();
    const t0 = Date.now();
    await sleep(Math.max(0, lastStart + WINDOW_MS - Date.now()));
    const cpu1 = processCpuMs(service.pid);
    const machine1 = machineCpuTicks();
    const sampledMs = Date.now() - t0;
    if (!service.running) throw new Error(`the service exited during the run (${service.describeExit()})`);
    await awaitActive(run.databaseUrl, ids, lastStart + ACTIVE_TIMEOUT_MS);

    const results = await readResults(url, token);
    if (results.length !== ids.size) throw new Error(`read ${results.length} reservations back, booked ${ids.size}`);
    const reconciles = await reconcileRuns(run);
    const m = measure(results, await setupJobTimes(run, [...ids.keys()]), reconciles, hopMs);
    if (process.env.BENCH_SETUP_DUMP) {
      writeFileSync(`${process.env.BENCH_SETUP_DUMP}.${backend}.json`, JSON.stringify({ reservations: m.rows, reconciles }, null, 1));
    }
    const redisHz = redisUrl ? await redisServerHz(redisUrl) : null;
    const serviceCpuShare = cpu0 !== null && cpu1 !== null ? (cpu1 - cpu0) / sampledMs : null;
    const ticks = machine0 && machine1 ? machine1.total - machine0.total : 0;
    const busyCores = machine0 && machine1 && ticks > 0 ? ((machine1.busy - machine0.busy) / ticks) * machine1.cores : null;

    const cpu = { serviceCpuShare, busyCores, cores: machine1?.cores };
    printMeasured(line, m, hopMs, redisHz, cpu);
    const figures = setupFigures(m, bookingMs, redisHz, cpu);
    // Named per backend in the summary: redis.p99Ms, postgres.p99Ms, …
    return Object.fromEntries(Object.entries(figures).map(([name, value]) => [`${backend}.${name}`, value]));
  } finally {
    await run.close();
  }
}

export async function runSetupBench(): Promise<Record<string, number>> {
  const count = Number(process.env.BENCH_SETUP_RESERVATIONS ?? 200);
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`BENCH_SETUP_RESERVATIONS must be a positive whole number, got ${process.env.BENCH_SETUP_RESERVATIONS}`);
  const hopMs = Number(process.env.BENCH_SETUP_HOP_MS ?? 50);
  if (!Number.isInteger(hopMs) || hopMs < 0)
    throw new Error(`BENCH_SETUP_HOP_MS must be a whole number ≥ 0, got ${process.env.BENCH_SETUP_HOP_MS}`);
  const spreadMs = process.env.BENCH_SETUP_SPREAD_MS === undefined ? Infinity : Number(process.env.BENCH_SETUP_SPREAD_MS);
  if (!(spreadMs >= 0)) throw new Error(`BENCH_SETUP_SPREAD_MS must be a number ≥ 0, got ${process.env.BENCH_SETUP_SPREAD_MS}`);
  const backends = (process.env.BENCH_SETUP_BACKENDS ?? 'redis,postgres').split(',').map((b) => b.trim());
  for (const b of backends)
    if (b !== 'redis' && b !== 'postgres') throw new Error(`BENCH_SETUP_BACKENDS: unknown backend ${b} (redis, postgres)`);

  const serverUrl = benchServerUrl();
  const unreachable = await postgresUnreachable(serverUrl);
  if (unreachable) throw new Error(unreachable);
  const redisUrl = benchRedisUrl();

  console.log(
    `Setup overhead benchmark: ${count} autoCommit reservations starting within ${SPAN_MS / 1000} s, ` +
      `emulator ${hopMs} ms per link; overhead = ACTIVE − start − links × ${hopMs} ms, goal p99 ≤ ${GOAL_P99_MS} ms`,
  );
  console.log(`  PostgreSQL: scratch databases on ${redact(serverUrl)}`);
  const out: Record<string, number> = {};
  for (const backend of backends as Backend[]) {
    if (backend === 'redis' && !(await redisReachable(redisUrl))) {
      console.log(`  [redis] skipped: Redis at ${redact(redisUrl)} is not reachable (set BENCH_REDIS_URL)`);
      continue;
    }
    Object.assign(out, await runBackend(backend, serverUrl, backend === 'redis' ? redisUrl : null, { count, hopMs, spreadMs }));
  }
  console.log('');
  for (const backend of backends) {
    if (out[`${backend}.n`] === undefined) continue;
    console.log(
      `  ${backend.padEnd(8)} setup overhead p50 ${ms(out[`${backend}.p50Ms`])}, p99 ${ms(out[`${backend}.p99Ms`])}, ` +
        `max ${ms(out[`${backend}.maxMs`])} over ${out[`${backend}.n`]} reservations   (goal p99 ≤ ${GOAL_P99_MS} ms: ` +
        `${out[`${backend}.goalMet`] ? 'MET' : 'MISSED'})`,
    );
  }
  return out;
}

runIfMain(module, runSetupBench);
