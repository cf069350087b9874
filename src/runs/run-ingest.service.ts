import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { AppError, ErrorCode, badInput, invalidState } from '../core/errors/app-error';
import type { Principal } from '../tenancy/principal';
import { TopologyService } from '../topology/topology.service';
import { UploadLine, UploadTooLargeError, readLines } from './ingest/lines';
import { LogLevelName, logLevelOf } from './ingest/log-levels';
import { NfsiostatReader } from './ingest/nfsiostat';
import { PowerSample, parsePowerJson } from './ingest/power';
import { Micros, Rejection, reject } from './ingest/records';
import { StepCsvReader, StepEntry, StepRow, needsPreviousEnd, parseStepJson, placeStep, stepEnd } from './ingest/step-log';
import { TrainingRunEntity, TrainingRunState } from './run.entities';
import { BatchOutcome, IoSampleRow, LockedRun, LogLineRow, RunsRepository } from './runs.repository';
import { RunsService } from './runs.service';

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
class Tally {
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
interface Ingest {
  /** Takes one line; answers a promise only when it has to wait (a batch to store), so most lines cost none. */
  take(line: UploadLine): Promise<void> | void;
  finish(): Promise<void>;
  extra(): Record<string, unknown>;
}

/**
 * Streams an upload into a run: lines are read as they arrive, parsed, and stored in batches of
 * UPLOAD_BOUNDS.batchRows rows, one statement per batch, each batch in a transaction that holds the run's
 * row (so a run that completes meanwhile takes no more data). Bad lines are refused by number and field;
 * the good lines of the same upload are kept.
 */
@Injectable()
export class RunIngestService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: RunsRepository,
    private readonly runs: RunsService,
    private readonly topology: TopologyService,
  ) {}

  /** The run an upload goes to: visible to the caller, and still RECORDING. */
  async target(principal: Principal, id: string): Promise<TrainingRunEntity> {
    const run = await this.runs.visible(principal, id);
    if (run.state !== TrainingRunState.RECORDING) throw finished(run.id, run.state);
    return run;
  }

  async ingest(
    kind: UploadKind,
    run: TrainingRunEntity,
    body: AsyncIterable<Buffer | string>,
    options: UploadOptions,
  ): Promise<UploadSummary> {
    const tally = new Tally();
    const ingest = await this.ingestFor(kind, run, tally, options);
    const summary = () => tally.summary(ingest.extra());
    // A cap on the upload itself stops the reading; what was read before it is still stored.
    let cap: AppError | null = null;
    try {
      reading: for await (const group of readLines(body, {
        maxBytes: this.config.runUploadMaxBytes,
        maxLineBytes: UPLOAD_BOUNDS.maxLineBytes,
      })) {
        for (const line of group) {
          if (line.number > this.config.runUploadMaxLines) {
            cap = badInput(
              'body',
              `The upload has more than ${this.config.runUploadMaxLines} lines (APN_RUN_UPLOAD_MAX_LINES); the lines up to ${this.config.runUploadMaxLines} were read. Upload the rest separately.`,
            );
            break reading;
          }
          tally.lines = line.number;
          const storing = ingest.take(line);
          if (storing) await storing;
        }
      }
    } catch (error) {
      if (!(error instanceof UploadTooLargeError)) throw stopped(error, tally, summary);
      cap = badInput(
        'body',
        `The upload is larger than ${error.limitBytes} bytes (APN_RUN_UPLOAD_MAX_BYTES); its first ${error.lines} lines were read. Upload the rest separately.`,
      );
    }
    try {
      await ingest.finish();
    } catch (error) {
      throw stopped(error, tally, summary);
    }
    if (cap) throw new UploadStoppedError(cap, summary());
    const after = (await this.repository.findRun(run.id)) as TrainingRunEntity;
    return {
      ...summary(),
      run: {
        steps: Number(after.stepCount),
        ioSamples: Number(after.ioSampleCount),
        powerSamples: Number(after.powerSampleCount),
        logLines: Number(after.logLineCount),
      },
    };
  }

  private async ingestFor(kind: UploadKind, run: TrainingRunEntity, tally: Tally, options: UploadOptions): Promise<Ingest> {
    switch (kind) {
      case 'steps':
        return new StepIngest(this.repository, this.config.runMaxRecords, run.id, tally, options.format);
      case 'nfsiostat':
        return new NfsiostatIngest(this.repository, this.config.runMaxRecords, run.id, tally, options);
      case 'power': {
        const snapshot = await this.topology.snapshot();
        const byCode = new Map([...snapshot.sites.values()].map((s) => [s.code, s.id]));
        const siteIdOf = (codeOrId: string) => byCode.get(codeOrId) ?? (snapshot.sites.has(codeOrId) ? codeOrId : null);
        return new PowerIngest(this.repository, this.config.runMaxRecords, run.id, tally, siteIdOf);
      }
      case 'logs':
        return new LogIngest(this.repository, run.id, tally);
      default: {
        const unknown: never = kind;
        throw new Error(`unknown upload kind ${String(unknown)}`);
      }
    }
  }
}

/** An error after part of an upload was stored carries the counts of what was; others pass as they are. */
function stopped(error: unknown, tally: Tally, summary: () => UploadSummary): unknown {
  return error instanceof AppError && tally.lines > 0 ? new UploadStoppedError(error, summary()) : error;
}

function finished(id: string, state: TrainingRunState): AppError {
  return invalidState(`Training run ${id} is ${state}; a finished run takes no more data.`, { state });
}

const tooLong = (line: number) => reject(line, null, `is longer than ${UPLOAD_BOUNDS.maxLineBytes} bytes`);

/**
 * Runs one batch under the run's row lock: the run must still be RECORDING, and may not hold more than
 * `cap` records of the kind afterwards (the batch is then rolled back and the upload stops).
 */
async function underRunLock<T>(
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

function capExceeded(what: string, held: number, cap: number): AppError {
  return badInput(
    'body',
    `The run would hold more than ${cap} ${what} (APN_RUN_MAX_RECORDS; it holds ${held}); the rest of this upload was not stored.`,
  );
}

/** Splits keyed rows into rounds in which each key appears once: a repeated key is compared with the stored one. */
function rounds<T>(rows: ReadonlyArray<{ key: string; value: T; line: number }>): Array<Array<{ value: T; line: number }>> {
  const out: Array<Array<{ value: T; line: number }>> = [];
  const seen = new Map<string, number>();
  for (const r of rows) {
    const round = seen.get(r.key) ?? 0;
    seen.set(r.key, round + 1);
    (out[round] ??= []).push({ value: r.value, line: r.line });
  }
  return out;
}

/** rounds() for steps, keyed by their number: a batch without a repeated step is one round, as it is. */
function stepRounds(rows: Array<{ value: StepRow; line: number }>): Array<Array<{ value: StepRow; line: number }>> {
  const seen = new Set<number>();
  for (const r of rows) {
    if (seen.has(r.value.step)) return rounds(rows.map((x) => ({ key: String(x.value.step), value: x.value, line: x.line })));
    seen.add(r.value.step);
  }
  return [rows];
}

class StepIngest implements Ingest {
  private readonly csv = new StepCsvReader();
  private batch: Array<{ value: StepRow; line: number }> = [];
  /** Timestamped steps without a start whose step before has not been seen in this batch. */
  private unplaced: StepEntry[] = [];
  /** Of those, the ones whose step before is not stored yet: retried when the upload ends. */
  private waiting: StepEntry[] = [];
  private readonly ends = new Map<number, Micros>();
  private inFlight: Promise<void> | null = null;

  constructor(
    private readonly repository: RunsRepository,
    private readonly cap: number,
    private readonly runId: string,
    private readonly tally: Tally,
    private format: 'ndjson' | 'csv' | null,
  ) {}

  take(line: UploadLine): Promise<void> | void {
    if (line.text === null) return this.tally.reject(tooLong(line.number));
    // A line as the hook writes it starts with its brace: no copy trimmed of spaces.
    const text = line.text.charCodeAt(0) === 123 ? line.text : line.text.trim();
    if (text === '') return;
    this.format ??= text.startsWith('{') ? 'ndjson' : 'csv';
    if (this.format === 'csv' && !this.csv.hasHeader) {
      const problem = this.csv.readHeader(line.number, text);
      if (problem) throw badInput('header', `Line ${line.number} ${problem.reason}.`, { line: line.number });
      return;
    }
    const parsed = this.format === 'csv' ? this.csv.readRow(line.number, text) : parseStepJson(line.number, text);
    if (!parsed.ok) return this.tally.reject(parsed.rejection);
    const entry = parsed.value;
    const previousEnd = needsPreviousEnd(entry) ? (this.ends.get(entry.step - 1) ?? null) : null;
    if (needsPreviousEnd(entry) && previousEnd === null) this.unplaced.push(entry);
    else this.place(entry, previousEnd);
    if (this.batch.length + this.unplaced.length >= UPLOAD_BOUNDS.stepBatchRows) return this.flush();
  }

  async finish(): Promise<void> {
    await this.flush();
    // Steps that waited for the step before them: it may have come later in this upload, and is stored now.
    const waiting = this.waiting;
    this.waiting = [];
    this.unplaced = waiting;
    await this.placeUnplaced(true);
    await this.store();
    await this.settle();
  }

  extra(): Record<string, unknown> {
    return { format: this.format };
  }

  private place(entry: StepEntry, previousEnd: Micros | null): boolean {
    const placed = placeStep(entry, previousEnd);
    if (!placed.ok) {
      this.tally.reject(placed.rejection);
      return false;
    }
    this.batch.push({ value: placed.value, line: entry.line });
    const end = stepEnd(placed.value);
    if (end !== null) {
      // Newest last; past twice the bound, the older half is forgotten at once (one pass, not one per step).
      if (this.ends.has(placed.value.step)) this.ends.delete(placed.value.step);
      this.ends.set(placed.value.step, end);
      if (this.ends.size > 2 * UPLOAD_BOUNDS.rememberedEnds) {
        let drop = this.ends.size - UPLOAD_BOUNDS.rememberedEnds;
        for (const step of this.ends.keys()) {
          if (drop-- <= 0) break;
          this.ends.delete(step);
        }
      }
    }
    return true;
  }

  private async flush(): Promise<void> {
    await this.placeUnplaced(false);
    await this.store();
  }

  /** Places the steps waiting for the end of the step before: from this upload, else from what is stored. */
  private async placeUnplaced(final: boolean): Promise<void> {
    let pending = this.unplaced;
    this.unplaced = [];
    if (pending.length === 0) return;
    const fromMemory = () => {
      // Repeatedly: a placed step may be the one the next waits for (steps arriving in reverse order).
      for (let progress = true; progress && pending.length > 0;) {
        progress = false;
        const still: StepEntry[] = [];
        for (const entry of pending) {
          const end = this.ends.get(entry.step - 1);
          if (end === undefined) still.push(entry);
          else {
            this.place(entry, end);
            progress = true;
          }
        }
        pending = still;
      }
    };
    fromMemory();
    if (pending.length === 0) return;
    // The batch being stored may hold the steps they wait for.
    await this.settle();
    const stored = await this.repository.stepEnds(this.runId, [...new Set(pending.map((e) => e.step - 1))]);
    for (const [step, end] of stored) if (!this.ends.has(step)) this.ends.set(step, end);
    fromMemory();
    for (const entry of pending) {
      if (!final && this.waiting.length < UPLOAD_BOUNDS.maxWaitingSteps) this.waiting.push(entry);
      else this.place(entry, null); // refused: no start
    }
  }

  /**
   * Stores the batch while the next one is read: one batch at a time is in flight, and its failure (a cap,
   * the run finished meanwhile) surfaces at the next store or at the end of the upload.
   */
  private async store(): Promise<void> {
    await this.settle();
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    const storing = this.storeBatch(batch);
    storing.catch(() => undefined); // observed by settle()
    this.inFlight = storing;
  }

  private async settle(): Promise<void> {
    const storing = this.inFlight;
    this.inFlight = null;
    if (storing) await storing;
  }

  private async storeBatch(batch: Array<{ value: StepRow; line: number }>): Promise<void> {
    const outcomes = await underRunLock(this.repository, this.runId, async (m) => {
      const outcomes: Array<{ outcome: BatchOutcome; row: StepRow; line: number }> = [];
      let stepCount = 0;
      let held: number | null = null;
      for (const round of stepRounds(batch)) {
        const result = await this.repository.insertSteps(
          m,
          this.runId,
          round.map((r) => r.value),
        );
        held ??= result.stepCount - (round.length - result.notStored.size);
        stepCount = result.stepCount;
        round.forEach((r, i) => outcomes.push({ outcome: result.notStored.get(i) ?? 'STORED', row: r.value, line: r.line }));
      }
      if (stepCount > this.cap) throw capExceeded('steps', held ?? 0, this.cap);
      return outcomes;
    });
    this.tally.count(
      outcomes.map((o) => o.outcome),
      (i) =>
        reject(
          outcomes[i].line,
          'step',
          `step ${outcomes[i].row.step} was stored before with other values; a step is recorded once (remove this line or upload the step unchanged)`,
        ),
    );
  }
}

class NfsiostatIngest implements Ingest {
  private readonly reader: NfsiostatReader;
  private batch: Array<{ key: string; value: IoSampleRow; line: number }> = [];

  constructor(
    private readonly repository: RunsRepository,
    private readonly cap: number,
    private readonly runId: string,
    private readonly tally: Tally,
    private readonly options: UploadOptions,
  ) {
    this.reader = new NfsiostatReader(options.firstReport);
  }

  async take(line: UploadLine): Promise<void> {
    if (line.text === null) return this.tally.reject(tooLong(line.number));
    this.collect(this.reader.read(line.number, line.text));
    if (this.batch.length >= UPLOAD_BOUNDS.batchRows) await this.store();
  }

  async finish(): Promise<void> {
    this.collect(this.reader.finish());
    await this.store();
  }

  extra(): Record<string, unknown> {
    return { node: this.options.node, mountPoints: this.reader.mountPoints, skippedLines: this.reader.skipped };
  }

  private collect(items: ReturnType<NfsiostatReader['read']>): void {
    const { node, startedAt, intervalSeconds } = this.options;
    for (const item of items) {
      if ('rejection' in item) {
        this.tally.reject(item.rejection);
        continue;
      }
      const s = item.sample;
      const at = startedAt !== null && intervalSeconds !== null ? startedAt + BigInt(Math.round(s.report * intervalSeconds * 1e6)) : null;
      const row: IoSampleRow = { ...s, node, at, intervalSeconds: s.report === 0 ? null : intervalSeconds };
      this.batch.push({ key: `${s.mountPoint}\u0000${s.report}\u0000${s.direction}`, value: row, line: s.line });
    }
  }

  private async store(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    const outcomes = await underRunLock(this.repository, this.runId, async (m, locked) => {
      const outcomes: Array<{ outcome: BatchOutcome; row: IoSampleRow; line: number }> = [];
      for (const round of rounds(batch)) {
        const result = await this.repository.insertIoSamples(
          m,
          this.runId,
          round.map((r) => r.value),
        );
        round.forEach((r, i) => outcomes.push({ outcome: result[i], row: r.value, line: r.line }));
      }
      const stored = outcomes.filter((o) => o.outcome === 'STORED').length;
      if (locked.ioSampleCount + stored > this.cap) throw capExceeded('I/O samples', locked.ioSampleCount, this.cap);
      await this.repository.addIoSamples(m, this.runId, stored);
      return outcomes;
    });
    this.tally.count(
      outcomes.map((o) => o.outcome),
      (i) => {
        const r = outcomes[i].row;
        return reject(
          outcomes[i].line,
          r.direction.toLowerCase(),
          `report ${r.report} of ${r.mountPoint}${r.node ? ` on ${r.node}` : ''} was stored before with other values; upload another node's output with ?node=, or a later part with ?firstReport=`,
        );
      },
    );
  }
}

class PowerIngest implements Ingest {
  private batch: Array<{ key: string; value: PowerSample; line: number }> = [];
  private readonly equipment = new Set<string>();

  constructor(
    private readonly repository: RunsRepository,
    private readonly cap: number,
    private readonly runId: string,
    private readonly tally: Tally,
    private readonly siteIdOf: (codeOrId: string) => string | null,
  ) {}

  async take(line: UploadLine): Promise<void> {
    if (line.text === null) return this.tally.reject(tooLong(line.number));
    if (line.text.trim() === '') return;
    const parsed = parsePowerJson(line.number, line.text, this.siteIdOf);
    if (!parsed.ok) return this.tally.reject(parsed.rejection);
    this.batch.push({ key: `${parsed.value.equipment}\u0000${parsed.value.time}`, value: parsed.value, line: line.number });
    if (this.batch.length >= UPLOAD_BOUNDS.batchRows) await this.store();
  }

  finish(): Promise<void> {
    return this.store();
  }

  extra(): Record<string, unknown> {
    return { equipment: [...this.equipment].sort() };
  }

  private async store(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    const outcomes = await underRunLock(this.repository, this.runId, async (m, locked) => {
      const outcomes: Array<{ outcome: BatchOutcome; row: PowerSample; line: number }> = [];
      for (const round of rounds(batch)) {
        const result = await this.repository.insertPowerSamples(
          m,
          this.runId,
          round.map((r) => r.value),
        );
        round.forEach((r, i) => outcomes.push({ outcome: result[i], row: r.value, line: r.line }));
      }
      const stored = outcomes.filter((o) => o.outcome === 'STORED').length;
      if (locked.powerSampleCount + stored > this.cap) throw capExceeded('power samples', locked.powerSampleCount, this.cap);
      await this.repository.addPowerSamples(m, this.runId, stored);
      return outcomes;
    });
    this.tally.count(
      outcomes.map((o) => o.outcome),
      (i) =>
        reject(
          outcomes[i].line,
          'watts',
          `${outcomes[i].row.equipment} at that time was stored before with other values; a sample is recorded once`,
        ),
    );
    for (const o of outcomes) if (o.outcome !== 'CONFLICT') this.equipment.add(o.row.equipment);
  }
}

class LogIngest implements Ingest {
  private batch: Array<{ level: LogLevelName | null; text: string }> = [];
  private readonly levels = { ERROR: 0, WARN: 0, INFO: 0, DEBUG: 0, OTHER: 0 };

  constructor(
    private readonly repository: RunsRepository,
    private readonly runId: string,
    private readonly tally: Tally,
  ) {}

  async take(line: UploadLine): Promise<void> {
    if (line.text === null) return this.tally.reject(tooLong(line.number));
    if (line.text.trim() === '') return;
    if (line.text.includes('\u0000'))
      return this.tally.reject(reject(line.number, 'text', 'contains a NUL character, which text cannot hold'));
    this.batch.push({ level: logLevelOf(line.text), text: line.text });
    if (this.batch.length >= UPLOAD_BOUNDS.batchRows) await this.store();
  }

  finish(): Promise<void> {
    return this.store();
  }

  extra(): Record<string, unknown> {
    return { levels: { ...this.levels } };
  }

  private async store(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    const levels = { ERROR: 0, WARN: 0, INFO: 0, DEBUG: 0 };
    for (const l of batch) if (l.level) levels[l.level] += 1;
    await underRunLock(this.repository, this.runId, async (m, locked) => {
      const lines: LogLineRow[] = batch.map((l, i) => ({ seq: locked.logLineCount + i + 1, level: l.level, text: l.text }));
      await this.repository.appendLogLines(m, this.runId, lines, levels);
    });
    this.tally.accepted += batch.length;
    for (const key of Object.keys(levels) as Array<keyof typeof levels>) this.levels[key] += levels[key];
    this.levels.OTHER += batch.length - levels.ERROR - levels.WARN - levels.INFO - levels.DEBUG;
  }
}
