import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { createScratchDatabase } from '../../../test/support/service';
import { BUDGET_EXCEEDED, gateConnectionsByRequest, RequestBudget, withBudget } from './request-budget';

/**
 * On a scratch database of TEST_DATABASE_URL's server (CI's server pass); the embedded engine cannot be
 * started inside Jest's module sandbox, and is one session whose connections cannot be told apart anyway.
 * The end-to-end test of query limits covers the embedded pass.
 */
const onServer = process.env.TEST_DATABASE_URL ? describe : describe.skip;

onServer('request budgets on a PostgreSQL server', () => {
  let scratch: { url: string; drop(): Promise<void> };
  let dataSource: DataSource;

  beforeAll(async () => {
    scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL as string);
    dataSource = new DataSource({ type: 'postgres', url: scratch.url, poolSize: 6, extra: { max: 6 } });
    await dataSource.initialize();
    gateConnectionsByRequest(dataSource);
  });
  afterAll(async () => {
    await dataSource?.destroy();
    await scratch?.drop();
  });

  it('starts no database work after the deadline and says why', async () => {
    const budget = new RequestBudget(150, 2);
    const started: number[] = [];
    const outcomes = await withBudget(budget, async () => {
      const results: string[] = [];
      for (let i = 0; i < 20; i++) {
        try {
          await dataSource.query('SELECT pg_sleep(0.05), $1::int AS i', [i]).then(() => started.push(Date.now()));
          results.push('ran');
        } catch (error) {
          results.push(String((error as { extensions?: { reason?: string } }).extensions?.reason));
        }
      }
      return results;
    });
    expect(outcomes).toContain(BUDGET_EXCEEDED);
    // Once refused, refused for good: nothing runs after the deadline.
    expect(outcomes.slice(outcomes.indexOf(BUDGET_EXCEEDED)).every((o) => o === BUDGET_EXCEEDED)).toBe(true);
    // Work outside any request is not affected.
    await expect(dataSource.query('SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
  });

  it('lets one request hold no more connections than its share, leaving the rest of the pool to others', async () => {
    const observer = new Client({ connectionString: scratch.url });
    await observer.connect();
    let most = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const r = await observer.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'SELECT pg_sleep(0.03)%' AND state = 'active'`,
        );
        most = Math.max(most, r.rows[0].n as number);
        await new Promise((r2) => setTimeout(r2, 5));
      }
    })();
    await withBudget(new RequestBudget(60_000, 2), () =>
      Promise.all(Array.from({ length: 24 }, () => dataSource.query('SELECT pg_sleep(0.03)'))),
    );
    sampling = false;
    await sampler;
    await observer.end();
    expect(most).toBeGreaterThanOrEqual(1);
    expect(most).toBeLessThanOrEqual(2);
  });
});
