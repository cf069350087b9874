import { PERCENTILE_RESOLUTION_PERCENT, ZERO_BUCKET, bucketOf, bucketValue, quantiles } from './step-histogram';

/** Nearest-rank quantile of raw values, the reference the histogram approximates. */
function exact(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1];
}

function histogram(values: number[]): Array<[number, number]> {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(bucketOf(v), (counts.get(bucketOf(v)) ?? 0) + 1);
  return [...counts];
}

describe('the step histogram', () => {
  it('puts zero in its own bucket and every positive duration in a bucket 1 % wide that contains it', () => {
    expect(bucketOf(0)).toBe(ZERO_BUCKET);
    expect(bucketValue(ZERO_BUCKET)).toBe(0);
    expect(bucketOf(1e-9)).toBe(0);
    for (const seconds of [1e-6, 3.3e-5, 0.012691, 0.071169, 1, 357, 86_400]) {
      const b = bucketOf(seconds);
      expect(1e-6 * 1.01 ** b).toBeLessThanOrEqual(seconds * (1 + 1e-12));
      expect(1e-6 * 1.01 ** (b + 1)).toBeGreaterThan(seconds);
      expect(Math.abs(bucketValue(b) / seconds - 1) * 100).toBeLessThanOrEqual(PERCENTILE_RESOLUTION_PERCENT / 2 + 1e-9);
    }
  });

  it('reads p50 and p99 within half a bucket of the exact nearest-rank values', () => {
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const values = Array.from({ length: 20_000 }, () => 0.07 + random() * 0.004 + (random() < 0.02 ? random() * 0.5 : 0));
    const [p50, p99] = quantiles(histogram(values), [0.5, 0.99]);
    expect(Math.abs(p50! / exact(values, 0.5) - 1) * 100).toBeLessThanOrEqual(0.5 + 1e-9);
    expect(Math.abs(p99! / exact(values, 0.99) - 1) * 100).toBeLessThanOrEqual(0.5 + 1e-9);
  });

  it('answers zero for phases that never took time, and null without steps', () => {
    expect(
      quantiles(
        [
          [ZERO_BUCKET, 4999],
          [bucketOf(0.05), 1],
        ],
        [0.5, 0.99, 1],
      ),
    ).toEqual([0, 0, bucketValue(bucketOf(0.05))]);
    expect(quantiles([], [0.5])).toEqual([null]);
  });
});
