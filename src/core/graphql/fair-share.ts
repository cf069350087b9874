import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { AppError, ErrorCode } from '../errors/app-error';

/** Longest a request waits for its caller's share before it is refused instead. */
export const MAX_SHARE_WAIT_MS = 5_000;

interface CallerBucket {
  tokens: number;
  refilledAt: number;
  /** Requests waiting their turn, in arrival order. */
  readonly waiting: Array<{ cost: number; admit: () => void }>;
  timer: NodeJS.Timeout | null;
}

/**
 * Each caller (an API key, or the operator token) may run queries worth at most `APN_QUERY_COST_PER_SECOND`
 * of query cost per second (see query-cost.ts), with a burst of two of the most expensive queries the cost
 * limit accepts. Its further requests wait their turn, in order, and are refused (NO_CAPACITY) rather than
 * wait longer than MAX_SHARE_WAIT_MS. A booking costs a few units, so hundreds per second pass untouched;
 * a caller looping on the most expensive accepted query gets a few per second. The service's one event
 * loop is shared by every tenant: without this, one tenant's flood of expensive queries would delay
 * everyone else's requests by the CPU time queued ahead of them.
 */
@Injectable()
export class FairShare {
  private readonly callers = new Map<string, CallerBucket>();
  private readonly rate: number;
  private readonly burst: number;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.rate = config.queryCostPerSecond;
    this.burst = 2 * config.maxQueryCost;
  }

  /** Resolves when `cost` fits in the caller's share (at once, almost always). */
  async acquire(caller: string, cost: number, now = Date.now()): Promise<void> {
    const take = Math.max(1, Math.min(cost, this.burst));
    const bucket = this.bucketOf(caller, now);
    if (bucket.waiting.length === 0 && bucket.tokens >= take) {
      bucket.tokens -= take;
      return;
    }
    const queued = bucket.waiting.reduce((sum, w) => sum + w.cost, 0);
    const waitMs = ((queued + take - bucket.tokens) / this.rate) * 1000;
    if (waitMs > MAX_SHARE_WAIT_MS) {
      throw new AppError(
        ErrorCode.NO_CAPACITY,
        `This key is sending expensive queries faster than its share (${this.rate} cost units per second, APN_QUERY_COST_PER_SECOND); ` +
          'slow down, or ask for less per query (fewer nested lists, smaller pages).',
        { details: { retryable: true, retryAfterMs: Math.ceil(waitMs - MAX_SHARE_WAIT_MS) } },
      );
    }
    await new Promise<void>((admit) => {
      bucket.waiting.push({ cost: take, admit });
      this.schedule(caller, bucket);
    });
  }

  private bucketOf(caller: string, now: number): CallerBucket {
    let bucket = this.callers.get(caller);
    if (!bucket) {
      bucket = { tokens: this.burst, refilledAt: now, waiting: [], timer: null };
      this.callers.set(caller, bucket);
      return bucket;
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.refilledAt) / 1000) * this.rate);
    bucket.refilledAt = now;
    this.schedule(caller, bucket);
    return bucket;
  }

  /** Admits waiting requests as tokens come back; forgets a caller whose bucket is full again. */
  private schedule(caller: string, bucket: CallerBucket): void {
    if (bucket.timer || bucket.waiting.length === 0) return;
    const missing = bucket.waiting[0].cost - bucket.tokens;
    bucket.timer = setTimeout(
      () => {
        bucket.timer = null;
        const now = Date.now();
        bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.refilledAt) / 1000) * this.rate);
        bucket.refilledAt = now;
        while (bucket.waiting.length > 0 && bucket.tokens >= bucket.waiting[0].cost) {
          const next = bucket.waiting.shift()!;
          bucket.tokens -= next.cost;
          next.admit();
        }
        if (bucket.waiting.length > 0) this.schedule(caller, bucket);
        else if (bucket.tokens >= this.burst) this.callers.delete(caller);
      },
      Math.max(1, Math.ceil((Math.max(0, missing) / this.rate) * 1000)),
    );
    bucket.timer.unref();
  }
}
