import type { EntityManager } from 'typeorm';
import type { UploadLine } from '../ingest/lines';
import { AppError, ErrorCode, badInput, invalidState } from '../../core/errors/app-error';
import { Micros, Rejection, reject } from '../ingest/records';
import { TrainingRunState } from '../run.entities';
import type { BatchOutcome, LockedRun, RunsRepository } from '../runs.repository';

/**
 * What every kind of upload shares: its bounds, its counts, and the lock under which each of its batches is
 * stored.
 */

export type UploadKind = 'steps' | 'nfsiostat' | 'power' | 'logs';

/** Bounds of an upload that are not configured: per line, per batch, per answer. */
export const UPLOAD_BOUNDS = {
  /** A line longer than this is refused (its bytes are never held). */
  maxLineBytes: 65_536,
  /** Rows per INSERT statement of nfsiostat and power samples and log lines. */
  batchRows: 1000,
  /**
   * Steps per INSERT statement: one statement inserts them, compares those already stored and adds the new
   * ones to the run's aggregates, so its cost per step falls with its size.
   */
  stepBatchRows: 10_000,
  /** Refused lines listed in an answer (the first ones, by line number); all are counted. */
  listedRejections: 100,
  /** Timestamped steps waiting, until the upload ends, for the step before them to arrive. */
  maxWaitingSteps: 10_000,
  /** Step ends remembered to start the steps that follow them (the newest this many, up to twice as many). */
  rememberedEnds: 8192,
} as const;

export interface UploadOptions {
  /** steps: how the body is written; null to tell from the content. */
  format: 'ndjson' | 'csv' | null;
  /** nfsiostat: the client that ran it, the number of the first report, when it started and its interval. */
  node: string;
  firstReport: number;
  startedAt: Micros | null;
  intervalSeconds: number | null;
}

export interface UploadSummary {
  accepted: number;
  duplicates: number;
  rejected: Rejection[];
  rejectedCount: number;
  lines: number;
  [extra: string]: unknown;
}

/** An upload stopped part-way (a cap, the run finished meanwhile): what was stored stays, and is reported. */
export class UploadStoppedError extends Error {
  constructor(
    readonly error: AppError,
    readonly summary: UploadSummary,
  ) {
    super(error.message);
  }
}

/** Counts of one upload, and its refused lines (the first ones listed, all counted). */
export class Tally {
  accepted = 0;
  duplicates = 0;
  rejectedCount = 0;
  lines = 0;
  private rejected: Rejection[] = [];

  reject(rejection: Rejection): void {
    this.rejectedCount += 1;
    this.rejected.push(rejection);
    if (this.rejected.length > 2 * UPLOAD_BOUNDS.listedRejections) this.trim();
  }

  /** Counts a stored batch; a row stored before with other values is refused with `conflict(i)`. */
  count(outcomes: readonly BatchOutcome[], conflict: (i: number) => Rejection): void {
    outcomes.forEach((o, i) => {
      if (o === 'STORED') this.accepted += 1;
      else if (o === 'DUPLICATE') this.duplicates += 1;
      else this.reject(conflict(i));
    });
  }

  summary(extra: Record<string, unknown> = {}): UploadSummary {
    this.trim();
    return {
      accepted: this.accepted,
      duplicates: this.duplicates,
      rejected: this.rejected,
      rejectedCount: this.rejectedCount,
      lines: this.lines,
      ...extra,
    };
  }

  private trim(): void {
    this.rejected.sort((a, b) => a.line - b.line);
    this.rejected = this.rejected.slice(0, UPLOAD_BOUNDS.listedRejections);
  }
}

/** What each kind of upload does with its lines. */
export interface Ingest {
  /** Takes one line; answers a promise only when it has to wait (a batch to store), so most lines cost none. */
  take(line: UploadLine): Promise<void> | void;
  finish(): Promise<void>;
  extra(): Record<string, unknown>;
}

export function finished(id: string, state: TrainingRunState): AppError {
  return invalidState(`Training run ${id} is ${state}; a finished run takes no more data.`, { state });
}

export const tooLong = (line: number) => reject(line, null, `is longer than ${UPLOAD_BOUNDS.maxLineBytes} bytes`);

/**
 * Runs one batch under the run's row lock: the run must still be RECORDING, and may not hold more than
 * `cap` records of the kind afterwards (the batch is then rolled back and the upload stops).
 */
export async function underRunLock<T>(
  repository: RunsRepository,
  runId: string,
  work: (m: EntityManager, locked: LockedRun) => Promise<T>,
): Promise<T> {
  return repository.transaction(async (m) => {
    const locked = await repository.lockRun(m, runId);
    if (!locked) throw new AppError(ErrorCode.NOT_FOUND, `Training run ${runId} does not exist or is not visible to you.`);
    if (locked.state !== TrainingRunState.RECORDING) throw finished(runId, locked.state);
    return work(m, locked);
  });
}

export function capExceeded(what: string, held: number, cap: number): AppError {
  return badInput(
    'body',
    `The run would hold more than ${cap} ${what} (APN_RUN_MAX_RECORDS; it holds ${held}); the rest of this upload was not stored.`,
  );
}

/** Splits keyed rows into rounds in which each key appears once: a repeated key is compared with the stored one. */
export function rounds<T>(rows: ReadonlyArray<{ key: string; value: T; line: number }>): Array<Array<{ value: T; line: number }>> {
  const out: Array<Array<{ value: T; line: number }>> = [];
  const seen = new Map<string, number>();
  for (const r of rows) {
    const round = seen.get(r.key) ?? 0;
    seen.set(r.key, round + 1);
    (out[round] ??= []).push({ value: r.value, line: r.line });
  }
  return out;
}
