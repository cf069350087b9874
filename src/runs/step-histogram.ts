/**
 * The histogram a run keeps of its steps' phase durations, from which its percentiles are read without
 * reading its steps. Pure: no framework, no database.
 *
 * Bucket b (b ≥ 0) holds the durations in [1 µs × 1.01^b, 1 µs × 1.01^(b+1)); bucket -1 holds zero (a step
 * that saved nothing), and durations under 1 µs fall in bucket 0. Ingest assigns the buckets with bucketOf
 * and stores the counts (training_run_step_buckets) with the steps they count. A percentile is read as the
 * geometric middle of the bucket holding its rank, so it is within ±0.5 % of the true duration, and exact
 * for zero; the 1 µs floor is the resolution of the timestamps steps are measured with.
 */

export const BUCKET_FLOOR_SECONDS = 1e-6;
export const BUCKET_RATIO = 1.01;
export const ZERO_BUCKET = -1;
/** The relative width of a bucket, (BUCKET_RATIO − 1) in percent: a percentile read from it is within half of that. */
export const PERCENTILE_RESOLUTION_PERCENT = 1;

export type Phase = 'read' | 'gpu' | 'save';
/** Phases as stored (training_run_step_buckets.phase). */
export const PHASES: readonly Phase[] = ['read', 'gpu', 'save'];

/** The bucket of a duration, as the SQL function computes it. */
export function bucketOf(seconds: number): number {
  if (!(seconds > 0)) return ZERO_BUCKET;
  return Math.max(0, Math.floor(Math.log(seconds / BUCKET_FLOOR_SECONDS) / Math.log(BUCKET_RATIO)));
}

/** The duration a bucket stands for: its geometric middle (zero for the zero bucket). */
export function bucketValue(bucket: number): number {
  return bucket === ZERO_BUCKET ? 0 : BUCKET_FLOOR_SECONDS * BUCKET_RATIO ** (bucket + 0.5);
}

/**
 * The q-quantiles (0 < q ≤ 1) of a histogram given as (bucket, count) pairs in any order, by nearest rank:
 * the value of the bucket holding the ⌈q × n⌉-th smallest duration. Null for an empty histogram.
 */
export function quantiles(buckets: ReadonlyArray<readonly [number, number]>, qs: readonly number[]): Array<number | null> {
  const sorted = [...buckets].filter(([, n]) => n > 0).sort((a, b) => a[0] - b[0]);
  const total = sorted.reduce((sum, [, n]) => sum + n, 0);
  if (total === 0) return qs.map(() => null);
  return qs.map((q) => {
    const rank = Math.min(total, Math.max(1, Math.ceil(q * total)));
    let seen = 0;
    for (const [bucket, n] of sorted) {
      seen += n;
      if (seen >= rank) return bucketValue(bucket);
    }
    return bucketValue(sorted[sorted.length - 1][0]);
  });
}

/** What a set of stored steps adds to its run's aggregates. */
export interface StepAggregate {
  steps: number;
  readSeconds: number;
  gpuSeconds: number;
  saveSeconds: number;
  /** The earliest start and latest end among them, in microseconds since 1970 (null when none says). */
  earliestStart: bigint | null;
  latestEnd: bigint | null;
  /** Steps per (phase, bucket), phase as stored (0 Read, 1 GPU, 2 Save). */
  buckets: Map<number, { phase: number; bucket: number; steps: number }>;
}

export function emptyAggregate(): StepAggregate {
  return { steps: 0, readSeconds: 0, gpuSeconds: 0, saveSeconds: 0, earliestStart: null, latestEnd: null, buckets: new Map() };
}

/** Adds one step's phases (and its start and end, when known) to an aggregate. */
export function addStep(a: StepAggregate, read: number, gpu: number, save: number, start: bigint | null, end: bigint | null): void {
  a.steps += 1;
  a.readSeconds += read;
  a.gpuSeconds += gpu;
  a.saveSeconds += save;
  if (start !== null && (a.earliestStart === null || start < a.earliestStart)) a.earliestStart = start;
  if (end !== null && (a.latestEnd === null || end > a.latestEnd)) a.latestEnd = end;
  for (let phase = 0; phase < 3; phase++) {
    const bucket = bucketOf(phase === 0 ? read : phase === 1 ? gpu : save);
    // Buckets run from -1 to a few thousand: one number keys a (phase, bucket) pair.
    const key = phase * 1_000_000 + bucket;
    const held = a.buckets.get(key);
    if (held) held.steps += 1;
    else a.buckets.set(key, { phase, bucket, steps: 1 });
  }
}
