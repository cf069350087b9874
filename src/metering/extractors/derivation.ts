import { toScaled } from '../decimal';
import { HOUR_MS } from '../usage-events';

/** Usage quantities are kept scaled by 10^SCALE until they are written. */
export const SCALE = 9;

/** One meter of one resource in one hour window. */
export interface Derived {
  meter: string;
  resourceId: string;
  tenantId: string;
  windowStart: number;
  /** Scaled by 10^9. */
  quantity: bigint;
  /** Of quantity, the part computed from measured power (shadow energy and carbon of GPU nodes). */
  measured?: bigint;
  attributes: Record<string, string | number>;
}

/** A figure a run could not compute from the stored records, and why. */
export class UnmeterableError extends Error {}

/** A physical figure (kWh, kg) as a scaled decimal; one that is not a finite number cannot be metered. */
export function scaled(value: number): bigint {
  if (!Number.isFinite(value))
    throw new UnmeterableError(`the figure comes out as ${value} (check the rated power, PUE and grid carbon intensity stored for it)`);
  return toScaled(value.toFixed(SCALE), SCALE);
}
/** kW × ms → kWh, scaled. */
export const kwhScaled = (kw: number, ms: number) => scaled((kw * ms) / HOUR_MS);

export const toDate = (value: Date | string | null): number | null => (value === null ? null : new Date(value).getTime());

/** What an extractor derives its figures into. */
export interface Derivation {
  /** Time still running is counted up to here: now, or the end of the run's last window if that is earlier. */
  readonly clipOpen: number;
  /** [start, end) clipped to the run's windows; an open end runs to clipOpen. */
  span(startMs: number, endMs: number | null): readonly [number, number];
  /** Adds a figure computed by `quantity`; a figure that cannot be computed skips its meter and resource. */
  add(d: Omit<Derived, 'quantity' | 'measured'>, quantity: () => bigint, measured?: boolean): void;
}

/** Derives the usage of one kind of record (a meter source): the meters it feeds and how. */
export interface MeterExtractor<T> {
  readonly meters: readonly string[];
  resourceOf(record: T): string;
  derive(record: T, d: Derivation): void;
}

/**
 * The figures of one collection run, per (meter, resource, window), and the (meter, resource) pairs it could
 * not meter, with the first reason.
 */
export class UsageDerivation implements Derivation {
  readonly derived = new Map<string, Derived>();
  readonly unmetered = new Map<string, { meter: string; resourceId: string; reason: string }>();

  constructor(
    private readonly since: number,
    private readonly windowEnd: number,
    readonly clipOpen: number,
  ) {}

  span(startMs: number, endMs: number | null): readonly [number, number] {
    return [Math.max(startMs, this.since), Math.min(endMs ?? this.clipOpen, this.windowEnd)] as const;
  }

  skip(meter: string, resourceId: string, error: unknown): void {
    const key = `${meter}|${resourceId}`;
    if (!this.unmetered.has(key))
      this.unmetered.set(key, { meter, resourceId, reason: error instanceof Error ? error.message : String(error) });
  }

  add(d: Omit<Derived, 'quantity' | 'measured'>, quantity: () => bigint, measured = false): void {
    let value: bigint;
    try {
      value = quantity();
    } catch (error) {
      this.skip(d.meter, d.resourceId, error);
      return;
    }
    if (value <= 0n) return;
    const key = `${d.meter}|${d.resourceId}|${d.windowStart}`;
    const existing = this.derived.get(key) ?? this.derived.set(key, { ...d, quantity: 0n, measured: 0n }).get(key)!;
    existing.quantity += value;
    if (measured) existing.measured = (existing.measured ?? 0n) + value;
  }

  /** Runs the derivation of each record; should one fail outright, its resource's meters are skipped this run. */
  each<T>(records: readonly T[], extractor: MeterExtractor<T>): void {
    for (const record of records) {
      try {
        extractor.derive(record, this);
      } catch (error) {
        for (const meter of extractor.meters) this.skip(meter, extractor.resourceOf(record), error);
      }
    }
  }

  isUnmetered(meter: string, resourceId: string): boolean {
    return this.unmetered.has(`${meter}|${resourceId}`);
  }
}
