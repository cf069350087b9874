import type { UploadLine } from '../ingest/lines';
import { badInput } from '../../core/errors/app-error';
import { Micros, reject } from '../ingest/records';
import { StepCsvReader, StepEntry, StepRow, needsPreviousEnd, parseStepJson, placeStep, stepEnd } from '../ingest/step-log';
import type { BatchOutcome, RunsRepository } from '../runs.repository';
import { Ingest, Tally, UPLOAD_BOUNDS, capExceeded, rounds, tooLong, underRunLock } from './upload';

/** rounds() for steps, keyed by their number: a batch without a repeated step is one round, as it is. */
function stepRounds(rows: Array<{ value: StepRow; line: number }>): Array<Array<{ value: StepRow; line: number }>> {
  const seen = new Set<number>();
  for (const r of rows) {
    if (seen.has(r.value.step)) return rounds(rows.map((x) => ({ key: String(x.value.step), value: x.value, line: x.line })));
    seen.add(r.value.step);
  }
  return [rows];
}

/**
 * Step timings, as the trainer hook writes them (NDJSON) or as CSV: each step placed after the one before it
 * when it gives timestamps only, and stored with the run's aggregates in batches of UPLOAD_BOUNDS.stepBatchRows.
 */
export class StepIngest implements Ingest {
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
