import { createPostgresBackend, Queue, setDefaultBackendFactory } from 'bullmq';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import { baseEnv, createScratchDatabase, gqlOk, spawnService, terminate, waitFor } from './support/service';
import { queryDataDir } from './support/data-dir';
import { copyEmbeddedTemplate } from './support/templates';

/**
 * PostgreSQL is the truth and the queue is rebuilt from it. On a PostgreSQL server and Redis (CI's second
 * pass) the processes share a scratch database and a Redis database; on the embedded engine they share a
 * data directory (APN_DATA_DIR), which a process killed with SIGKILL leaves for the next to recover, and
 * further processes reach the embedded database, and BullMQ's PostgreSQL backend in it, through its owner.
 */
const serverUrl = process.env.TEST_DATABASE_URL;
const redisBase = process.env.TEST_REDIS_URL;
const onServer = Boolean(serverUrl && redisBase);

type Started = Awaited<ReturnType<typeof spawnService>>;

describe(`recovery from crashes and from losing the queue (${onServer ? 'PostgreSQL server and Redis' : 'embedded'})`, () => {
  let db: { url: string; drop(): Promise<void> } | null = null;
  let dataDir: { dataDir: string; remove(): void } | null = null;
  /** A connection to the database the current processes share. */
  let sql: Client;
  let redisUrl: string;
  const token = 'recovery-admin-token-0123456789';

  beforeAll(async () => {
    if (onServer) {
      db = await createScratchDatabase(serverUrl as string);
      sql = new Client({ connectionString: db.url });
      await sql.connect();
      // A Redis database of its own, so that emptying it touches nothing else.
      const u = new URL(redisBase as string);
      u.pathname = '/7';
      redisUrl = u.toString();
    } else {
      // The migrated template when the pass has one; otherwise an empty directory the first process initializes.
      dataDir =
        copyEmbeddedTemplate('none') ??
        (() => {
          const root = mkdtempSync(join(tmpdir(), 'apn-recovery-'));
          return { dataDir: join(root, 'data'), remove: () => rmSync(root, { recursive: true, force: true }) };
        })();
    }
  });
  afterAll(async () => {
    await sql?.end().catch(() => undefined);
    await db?.drop();
    dataDir?.remove();
  });

  const env = (extra: Record<string, string> = {}) =>
    baseEnv({
      ...(onServer
        ? { DATABASE_URL: db!.url, REDIS_URL: redisUrl, APN_QUEUE_PREFIX: 'recovery' }
        : { APN_DATA_DIR: dataDir!.dataDir, REDIS_URL: undefined }),
      APN_ADMIN_TOKEN: token,
      APN_MIN_DURATION_S: '1',
      // A job whose process was killed runs again once its lock lapses: 5 s instead of the default 10 s.
      APN_JOB_LOCK_S: '5',
      ...extra,
    });

  /**
   * Starts the process that owns the database: on the embedded engine the one with the data directory, and
   * the test's connection then goes through it.
   */
  async function startOwner(extra: Record<string, string> = {}): Promise<Started> {
    const started = await spawnService(env(extra));
    if (!onServer) {
      await sql?.end().catch(() => undefined);
      sql = new Client({ connectionString: started.databaseUrl! });
      // The embedded database goes away with its process; a test kills it on purpose.
      sql.on('error', () => undefined);
      await sql.connect();
    }
    return started;
  }
  /** Further processes on the same database: on the embedded engine through the owner's address. */
  const joinEnv = (owner: Started, extra: Record<string, string>) =>
    onServer ? env(extra) : env({ DATABASE_URL: owner.databaseUrl!, ...extra });

  const stateOf = async (id: string) => (await sql.query('SELECT state FROM reservations WHERE id = $1', [id])).rows[0].state as string;
  const lit = async (id: string) =>
    (await sql.query('SELECT link_id, channel FROM emulator_lit_channels WHERE lightpath_id = $1', [id])).rows;

  /** Everything the queue holds is gone while no process runs, as after FLUSHDB (or BullMQ's tables emptied). */
  async function loseTheQueue(): Promise<void> {
    if (onServer) {
      const redis = new Redis(redisUrl);
      expect(await redis.dbsize()).toBeGreaterThan(0);
      await redis.flushdb();
      expect(await redis.dbsize()).toBe(0);
      await redis.quit();
      return;
    }
    // No process runs: open the data directory on the same engine, once.
    const [[before], , [after]] = await queryDataDir(dataDir!.dataDir, [
      'SELECT count(*)::int AS n FROM bullmq.job',
      `DO $$ DECLARE t text; BEGIN
         FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = 'bullmq' AND tablename NOT IN ('migration', 'meta') LOOP
           EXECUTE format('TRUNCATE bullmq.%I CASCADE', t);
         END LOOP;
       END $$`,
      'SELECT count(*)::int AS n FROM bullmq.job',
    ]);
    expect(before.n).toBeGreaterThan(0);
    expect(after.n).toBe(0);
  }

  /** The provisioning queue as the service sees it, from this process. */
  function provisioningQueue(owner: Started): { queue: Queue; close: () => Promise<void> } {
    if (onServer) {
      const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
      const queue = new Queue('provisioning', { connection, prefix: 'recovery' });
      return {
        queue,
        async close() {
          await queue.close();
          await connection.quit(); // the queue does not close a connection it was given
        },
      };
    }
    setDefaultBackendFactory(createPostgresBackend);
    const queue = new Queue('provisioning', { connection: { connectionString: owner.databaseUrl!, max: 2 } });
    return { queue, close: () => queue.close() };
  }

  async function book(url: string, tenantId: string, src: string, dst: string, startInMs: number, lengthMs: number) {
    const ep = await gqlOk(url, token, '{ endpoints { id code } }');
    const id = (code: string) => ep.endpoints.find((e: { code: string }) => e.code === code).id;
    const start = Date.now() + startInMs;
    const r = await gqlOk(
      url,
      token,
      'mutation($i: ReserveLightpathInput!) { reserveLightpath(input: $i) { id channel path { code } end } }',
      {
        i: {
          tenantId,
          sourceEndpointId: id(src),
          destinationEndpointId: id(dst),
          rateGbps: 100,
          autoCommit: true,
          start: new Date(start).toISOString(),
          end: new Date(start + lengthMs).toISOString(),
        },
      },
    );
    return r.reserveLightpath as { id: string; channel: number; path: Array<{ code: string }>; end: string };
  }

  it('rebuilds every setup and teardown from the database after the queue lost all its keys and the service restarted', async () => {
    const booting = Date.now();
    const first = await startOwner({ APN_SEED: 'reference' });
    const bootMs = Date.now() - booting;
    const tenant = await gqlOk(first.url!, token, 'mutation { createTenant(name: "Queue loss") { id } }');
    // The second lightpath starts after the restart, however long a start takes on this machine now: on the
    // embedded engine, reopening the data directory (to lose the queue, then to restart) takes about two
    // starts; on a server and Redis, one.
    const restart = onServer ? 2 * bootMs : Math.max(20_000, 3 * bootMs);
    const active = await book(first.url!, tenant.createTenant.id, 'OTE-HQ-100G-1', 'TAM-GDC-100G-1', 500, 9000 + restart);
    const reserved = await book(first.url!, tenant.createTenant.id, 'OTE-HQ-100G-2', 'TAM-GDC-100G-2', 6000 + restart, 4000);
    await waitFor(async () => (await stateOf(active.id)) === 'ACTIVE', 15_000, 'the first lightpath to come up');
    expect(await terminate(first.child)).toBe(0);

    await loseTheQueue();

    const second = await startOwner();
    try {
      await waitFor(
        async () => (await stateOf(reserved.id)) === 'ACTIVE',
        restart + 20_000,
        'the second lightpath to come up at its start',
      );
      expect(await lit(reserved.id)).toHaveLength(reserved.path.length);
      await waitFor(async () => (await stateOf(active.id)) === 'RELEASED', 20_000, 'the first lightpath to go down at its end');
      await waitFor(async () => (await stateOf(reserved.id)) === 'RELEASED', 20_000, 'the second lightpath to go down at its end');
      const releasing = await sql.query(
        `SELECT reservation_id, at FROM reservation_transitions WHERE to_state = 'RELEASING' AND reservation_id = ANY($1::uuid[])`,
        [[active.id, reserved.id]],
      );
      for (const row of releasing.rows) {
        const end = row.reservation_id === active.id ? active.end : reserved.end;
        expect(new Date(row.at).getTime()).toBeGreaterThanOrEqual(new Date(end).getTime() - 50); // not early
      }
      expect(await lit(active.id)).toHaveLength(0);
      expect(await lit(reserved.id)).toHaveLength(0);
    } finally {
      await terminate(second.child);
    }
  }, 180_000);

  it('lets several worker processes share the queues without double-acting', async () => {
    const api = await startOwner({ APN_ROLE: 'api' });
    const workers = [await spawnService(joinEnv(api, { APN_ROLE: 'worker' })), await spawnService(joinEnv(api, { APN_ROLE: 'worker' }))];
    try {
      const tenant = await gqlOk(api.url!, token, 'mutation { createTenant(name: "Two workers") { id } }');
      // Eight lightpaths at once: the most the 8-channel AOM–HKD span carries.
      const sources = [
        'OTE-HQ-100G-1',
        'OTE-HQ-100G-2',
        'OTE-HQ-100G-3',
        'OTE-HQ-100G-4',
        'SDI-LAB-100G-1',
        'SDI-LAB-100G-2',
        'SDI-LAB-100G-3',
        'SDI-LAB-100G-4',
      ];
      const pairs = sources.map((src, i) => [src, `ISK-GDC-100G-${i + 1}`]);
      const booked = [];
      for (const [src, dst] of pairs) booked.push(await book(api.url!, tenant.createTenant.id, src, dst, 1500 + booked.length * 100, 2000));
      for (const r of booked) await waitFor(async () => (await stateOf(r.id)) === 'RELEASED', 30_000, `reservation ${r.id} to be released`);
      for (const r of booked) {
        const history = await sql.query('SELECT to_state FROM reservation_transitions WHERE reservation_id = $1 ORDER BY id', [r.id]);
        expect(history.rows.map((h) => h.to_state)).toEqual(['RESERVED', 'PROVISIONING', 'ACTIVE', 'RELEASING', 'RELEASED']);
        expect(await lit(r.id)).toHaveLength(0);
      }
    } finally {
      for (const w of workers) expect(await terminate(w.child)).toBe(0);
      await terminate(api.child);
    }
  });

  it('running a setup or teardown job a second time changes nothing', async () => {
    const svc = await startOwner();
    const { queue, close } = provisioningQueue(svc);
    try {
      const tenant = await gqlOk(svc.url!, token, 'mutation { createTenant(name: "Twice") { id } }');
      const r = await book(svc.url!, tenant.createTenant.id, 'SDI-LAB-100G-1', 'SRK-GDC-100G-1', 500, 60_000);
      await waitFor(async () => (await stateOf(r.id)) === 'ACTIVE', 15_000, 'ACTIVE');
      const before = await snapshotOf(r.id);
      const again = await queue.add('setup', { reservationId: r.id }, { jobId: `${r.id}.setup-again` });
      await waitFor(async () => (await again.getState()) === 'completed', 15_000, 'the repeated setup job');
      expect(await snapshotOf(r.id)).toEqual(before);

      await gqlOk(svc.url!, token, 'mutation($id: ID!) { cancelReservation(id: $id) { state } }', { id: r.id });
      await waitFor(async () => (await stateOf(r.id)) === 'RELEASED', 15_000, 'RELEASED');
      const released = await snapshotOf(r.id);
      const teardown = await queue.add('teardown', { reservationId: r.id }, { jobId: `${r.id}.teardown-again` });
      await waitFor(async () => (await teardown.getState()) === 'completed', 15_000, 'the repeated teardown job');
      expect(await snapshotOf(r.id)).toEqual(released);
    } finally {
      await close();
      await terminate(svc.child);
    }
  });

  /** What a job could change: the state, the history, the allocations, what the network has lit. */
  async function snapshotOf(id: string) {
    const [state, history, allocations, hops] = await Promise.all([
      stateOf(id),
      sql.query('SELECT to_state, reason FROM reservation_transitions WHERE reservation_id = $1 ORDER BY id', [id]),
      sql.query('SELECT link_id, channel FROM link_allocations WHERE reservation_id = $1 ORDER BY link_id', [id]),
      sql.query('SELECT link_id, channel FROM emulator_lit_channels WHERE lightpath_id = $1 ORDER BY link_id', [id]),
    ]);
    return { state, history: history.rows, allocations: allocations.rows, hops: hops.rows };
  }

  it('finishes a setup interrupted by SIGKILL: the reservation ends ACTIVE or FAILED and the network matches', async () => {
    const first = await startOwner({ APN_EMULATOR_HOP_MS: '4000' });
    const tenant = await gqlOk(first.url!, token, 'mutation { createTenant(name: "Crash") { id } }');
    const r = await book(first.url!, tenant.createTenant.id, 'OTE-HQ-100G-3', 'TAM-GDC-100G-1', 500, 120_000);
    await waitFor(async () => (await stateOf(r.id)) === 'PROVISIONING', 15_000, 'setup to start');
    first.child.kill('SIGKILL');
    await new Promise((res) => first.child.once('exit', res));

    const second = await startOwner({ APN_EMULATOR_HOP_MS: '100' });
    try {
      const final = await waitFor(
        async () => {
          const s = await stateOf(r.id);
          return s === 'ACTIVE' || s === 'FAILED' ? s : null;
        },
        60_000,
        'the interrupted setup to finish',
      );
      const hops = await lit(r.id);
      if (final === 'ACTIVE') {
        expect(hops).toHaveLength(r.path.length);
        expect(hops.every((h) => h.channel === r.channel)).toBe(true);
      } else {
        expect(hops).toHaveLength(0);
      }
    } finally {
      await terminate(second.child);
    }
  });
});
