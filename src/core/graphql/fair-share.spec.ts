import type { AppConfig } from '../config/config';
import { AppError } from '../errors/app-error';
import { FairShare, MAX_SHARE_WAIT_MS } from './fair-share';

describe('FairShare', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  // 1,000 cost units per second; a burst of two 500-unit queries.
  const share = () => new FairShare({ queryCostPerSecond: 1000, maxQueryCost: 500 } as AppConfig);
  const settled = (p: Promise<unknown>) => {
    let done = false;
    void p.then(
      () => (done = true),
      () => (done = true),
    );
    return () => done;
  };

  it('lets a caller spend its burst at once, then makes it wait for its share while others pass', async () => {
    const fair = share();
    await fair.acquire('hostile', 500);
    await fair.acquire('hostile', 500);
    const third = settled(fair.acquire('hostile', 500));
    // Another caller is not held up by the first one's backlog.
    await expect(fair.acquire('booker', 4)).resolves.toBeUndefined();
    await Promise.resolve();
    expect(third()).toBe(false);
    await jest.advanceTimersByTimeAsync(499);
    expect(third()).toBe(false);
    await jest.advanceTimersByTimeAsync(2);
    expect(third()).toBe(true);
  });

  it('admits waiting requests in arrival order', async () => {
    const fair = share();
    await fair.acquire('a', 1000);
    const order: number[] = [];
    const waits = [300, 100, 200].map((cost, i) => fair.acquire('a', cost).then(() => order.push(i)));
    await jest.advanceTimersByTimeAsync(700);
    await Promise.all(waits);
    expect(order).toEqual([0, 1, 2]);
  });

  it('refuses with NO_CAPACITY rather than make a request wait longer than the limit', async () => {
    const fair = share();
    await fair.acquire('a', 1000);
    const backlog = Array.from({ length: 10 }, () => fair.acquire('a', 500));
    const refused = await fair.acquire('a', 500).then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(AppError);
    expect((refused as AppError).extensions).toMatchObject({ code: 'NO_CAPACITY', retryable: true });
    expect(MAX_SHARE_WAIT_MS).toBe(5000);
    await jest.advanceTimersByTimeAsync(6000);
    await Promise.all(backlog);
  });
});
