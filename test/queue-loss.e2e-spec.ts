import { Redis } from 'ioredis';
import { createTenantWithKey, endpointIds, gqlOk, RESERVE, startTestService, TestService, waitFor } from './support/service';

/**
 * The queue loses everything (Redis FLUSHALL, or BullMQ's tables emptied on the PostgreSQL backend) while
 * the workers keep running: the recurring jobs come back by themselves, and every lightpath still comes
 * up within seconds of its start and goes down within seconds of its end; holds expire on time.
 */
describe('losing the queue with the workers running (e2e over HTTP)', () => {
  let t: TestService;
  let ep: Record<string, string>;
  let tenant: { tenantId: string; token: string };
  let redisUrl: string | null = null;

  beforeAll(async () => {
    // A Redis database of its own, so that emptying it touches no other deployment.
    if (process.env.TEST_REDIS_URL) {
      const u = new URL(process.env.TEST_REDIS_URL);
      u.pathname = '/9';
      redisUrl = u.toString();
    }
    t = await startTestService({ APN_HOLD_TTL_S: '4', APN_MIN_DURATION_S: '1', ...(redisUrl ? { REDIS_URL: redisUrl } : {}) });
    ep = await endpointIds(t);
    tenant = await createTenantWithKey(t, 'Queue loss');
  });
  afterAll(() => t?.stop());

  /** Everything the queue holds is gone, as after FLUSHALL. */
  async function loseTheQueue(): Promise<void> {
    if (redisUrl) {
      const redis = new Redis(redisUrl);
      try {
        expect(await redis.dbsize()).toBeGreaterThan(0);
        await redis.flushdb();
      } finally {
        redis.disconnect();
      }
      return;
    }
    const tables = await t.sql.query(
      `SELECT tablename FROM pg_tables WHERE schemaname = 'bullmq' AND tablename NOT IN ('migration', 'meta')`,
    );
    expect(tables.rows.length).toBeGreaterThan(0);
    await t.sql.query(`TRUNCATE ${tables.rows.map((r) => `bullmq."${r.tablename}"`).join(', ')} CASCADE`);
    const left = await t.sql.query('SELECT count(*)::int AS n FROM bullmq.job');
    expect(left.rows[0].n).toBe(0);
  }

  const book = async (src: string, dst: string, startInMs: number, lengthMs: number, autoCommit = true) => {
    const start = Date.now() + startInMs;
    const r = await gqlOk(t.url, tenant.token, RESERVE, {
      input: {
        sourceEndpointId: ep[src],
        destinationEndpointId: ep[dst],
        rateGbps: 100,
        autoCommit,
        start: new Date(start).toISOString(),
        end: new Date(start + lengthMs).toISOString(),
      },
    });
    return r.reserveLightpath as { id: string; start: string; end: string; holdExpiresAt: string | null };
  };
  const historyOf = async (id: string) =>
    (await t.sql.query('SELECT to_state, at FROM reservation_transitions WHERE reservation_id = $1 ORDER BY id', [id])).rows as Array<{
      to_state: string;
      at: Date;
    }>;
  const stateOf = async (id: string) => (await t.sql.query('SELECT state FROM reservations WHERE id = $1', [id])).rows[0].state as string;
  const lit = async (id: string) => (await t.sql.query('SELECT 1 FROM emulator_lit_channels WHERE lightpath_id = $1', [id])).rows.length;
  const reached = async (id: string, state: string) => (await historyOf(id)).find((h) => h.to_state === state)?.at.getTime();

  it('comes back by itself: lightpaths up and down on time, holds expired, nothing lit after its window', async () => {
    const a = await book('OTE-HQ-100G-1', 'TAM-GDC-100G-1', 8_000, 6_000);
    const b = await book('OTE-HQ-100G-2', 'TAM-GDC-100G-2', 12_000, 4_000);
    const hold = await book('SDI-LAB-100G-1', 'SRK-GDC-100G-1', 60_000, 60_000, false);
    // A window so short and so soon that it may well pass before the queue is rebuilt.
    const brief = await book('SDI-LAB-100G-2', 'SRK-GDC-100G-2', 1_000, 1_500);
    await loseTheQueue();

    // Within seconds: how late a step may come after its time, on a busy machine.
    const late = 15_000;
    for (const r of [a, b]) {
      await waitFor(async () => (await stateOf(r.id)) === 'RELEASED' || null, 60_000, `lightpath ${r.id} to come up and go down`);
      const up = await reached(r.id, 'ACTIVE');
      const down = await reached(r.id, 'RELEASED');
      expect(up).toBeDefined();
      expect(up! - Date.parse(r.start)).toBeGreaterThanOrEqual(0);
      expect(up! - Date.parse(r.start)).toBeLessThan(late);
      expect(down! - Date.parse(r.end)).toBeGreaterThanOrEqual(0);
      expect(down! - Date.parse(r.end)).toBeLessThan(late);
      expect(await lit(r.id)).toBe(0);
    }

    // Its own expiry job went with the queue: only the restored sweep and reconciler can expire it.
    await waitFor(async () => (await stateOf(hold.id)) === 'EXPIRED' || null, 30_000, 'the hold to expire');
    expect((await reached(hold.id, 'EXPIRED'))! - Date.parse(hold.holdExpiresAt!)).toBeLessThan(late);

    // The brief lightpath either came up and went down in time, or, if its window passed first, was
    // never lit: FAILED, with the reason.
    await waitFor(async () => ['RELEASED', 'FAILED'].includes(await stateOf(brief.id)) || null, 30_000, 'the brief lightpath to settle');
    const briefHistory = await historyOf(brief.id);
    const briefUp = briefHistory.find((h) => h.to_state === 'ACTIVE');
    if (briefUp) expect(briefUp.at.getTime()).toBeLessThan(Date.parse(brief.end));
    else expect(await stateOf(brief.id)).toBe('FAILED');
    expect(await lit(brief.id)).toBe(0);
  });
});
