/**
 * Energy from power samples over a span of time, as the PoC Reference asks power to be monitored: the
 * trapezoid integral of the samples, each value held from the span's start to the first sample and from the
 * last sample to its end. Pure: no framework, no database.
 */

/**
 * Joules drawn over [fromMs, toMs] by samples `points` (time in ms, watts; sorted by time), or null when they
 * do not cover the span: consecutive samples more than `maxGapMs` apart within it, or the first or the last
 * further than that from its ends.
 */
export function integratePower(
  points: ReadonlyArray<readonly [number, number]>,
  fromMs: number,
  toMs: number,
  maxGapMs: number,
): number | null {
  if (!(toMs > fromMs)) return 0;
  // The samples that bear on the span: within it, and the nearest one on each side.
  let lo = 0;
  while (lo + 1 < points.length && points[lo + 1][0] <= fromMs) lo += 1;
  let hi = points.length - 1;
  while (hi - 1 >= 0 && points[hi - 1][0] >= toMs) hi -= 1;
  if (points.length === 0 || lo > hi) return null;
  const used = points.slice(lo, hi + 1);
  const first = used[0];
  const last = used[used.length - 1];
  if (first[0] > fromMs + maxGapMs || last[0] < toMs - maxGapMs) return null;
  if (first[0] < fromMs - maxGapMs && (used.length === 1 || used[1][0] > fromMs)) {
    // The sample before the span is too far from it to stand for its start, unless one follows in time.
    if (used.length === 1 || used[1][0] - fromMs > maxGapMs) return null;
  }
  let joules = 0;
  for (let i = 0; i + 1 < used.length; i++) {
    const [t0, w0] = used[i];
    const [t1, w1] = used[i + 1];
    const a = Math.max(t0, fromMs);
    const b = Math.min(t1, toMs);
    if (b <= a) continue;
    if (t1 - t0 > maxGapMs) return null;
    const at = (t: number) => (t1 === t0 ? w0 : w0 + ((w1 - w0) * (t - t0)) / (t1 - t0));
    joules += ((at(a) + at(b)) / 2) * ((b - a) / 1000);
  }
  if (first[0] > fromMs) joules += first[1] * ((first[0] - fromMs) / 1000);
  if (last[0] < toMs) joules += last[1] * ((toMs - last[0]) / 1000);
  return joules;
}
