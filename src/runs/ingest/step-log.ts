/**
 * The trainer's step log, in the PoC Reference's terms: each step reads the data not yet in memory (Read),
 * computes (GPU) and may write a checkpoint (Save). A line gives one step, in one of two forms:
 *
 *   durations   {"step": 1, "read": 0.012, "gpu": 0.071, "save": 0}            seconds; save defaults to 0
 *   timestamps  {"step": 1, "start": T0, "readEnd": T1, "gpuEnd": T2, "saveEnd": T3}
 *
 * In the timestamp form read = readEnd − start, gpu = gpuEnd − readEnd and save = saveEnd − gpuEnd (0 when
 * saveEnd is absent). Without `start`, a step starts when the step before it (step − 1) ended: at its
 * saveEnd, or its gpuEnd when it saved nothing. A timestamp is an ISO-8601 date-time with a zone (kept to
 * the microsecond) or Unix seconds. `epoch` is optional; other keys (loss, lr, …) are ignored.
 *
 * The same names head the columns of the CSV form (case and underscores ignored: read_end = readEnd).
 * Pure: no framework, no database.
 */
import {
  Micros,
  Parsed,
  Rejection,
  accepted,
  numberProblem,
  parseMicros,
  refused,
  reject,
  secondsBetween,
  wholeNumberProblem,
} from './records';

export const STEP_BOUNDS = {
  /** Steps are numbered from 0 or 1 as the trainer counts them, across epochs; an integer column holds them. */
  maxStep: 2_147_483_647,
  maxEpoch: 10_000_000,
  /** One phase of one step lasts at most a day. */
  maxPhaseSeconds: 86_400,
} as const;

/** A step as one line gave it, not yet placed in time when it relies on the step before. */
export interface StepEntry {
  readonly line: number;
  readonly step: number;
  readonly epoch: number | null;
  readonly durations: { read: number; gpu: number; save: number } | null;
  readonly start: Micros | null;
  readonly readEnd: Micros | null;
  readonly gpuEnd: Micros | null;
  readonly saveEnd: Micros | null;
}

/** A step as stored: its three phases in seconds, and the instants the log gave or implied. */
export interface StepRow {
  readonly step: number;
  readonly epoch: number | null;
  readonly readSeconds: number;
  readonly gpuSeconds: number;
  readonly saveSeconds: number;
  readonly startAt: Micros | null;
  readonly readEndAt: Micros | null;
  readonly gpuEndAt: Micros | null;
  readonly saveEndAt: Micros | null;
}

const DURATION_KEYS = ['read', 'gpu', 'save'] as const;
const TIMESTAMP_KEYS = ['readEnd', 'gpuEnd', 'saveEnd'] as const;
const KNOWN = ['step', 'epoch', ...DURATION_KEYS, 'start', ...TIMESTAMP_KEYS] as const;
type StepKey = (typeof KNOWN)[number];

/** Reads one step from its fields (`get` answers undefined for an absent or empty field). Each field is read once. */
export function parseStepFields(line: number, get: (key: StepKey) => unknown): Parsed<StepEntry> {
  const rawStep = get('step');
  if (rawStep === undefined) return refused(line, 'step', 'is missing; every line names its step');
  const stepProblem = wholeNumberProblem(rawStep, 0, STEP_BOUNDS.maxStep);
  if (stepProblem) return refused(line, 'step', stepProblem);
  const rawEpoch = get('epoch');
  if (rawEpoch !== undefined) {
    const problem = wholeNumberProblem(rawEpoch, 0, STEP_BOUNDS.maxEpoch);
    if (problem) return refused(line, 'epoch', problem);
  }
  const read = get('read');
  const gpu = get('gpu');
  const save = get('save');
  const readEndText = get('readEnd');
  const gpuEndText = get('gpuEnd');
  const saveEndText = get('saveEnd');
  const hasDurations = read !== undefined || gpu !== undefined || save !== undefined;
  const hasTimestamps = readEndText !== undefined || gpuEndText !== undefined || saveEndText !== undefined;
  if (hasDurations && hasTimestamps) {
    return refused(line, 'read', 'give the durations (read, gpu, save) or the timestamps (readEnd, gpuEnd, saveEnd), not both');
  }
  if (!hasDurations && !hasTimestamps) {
    return refused(line, 'read', 'give read and gpu (seconds), or readEnd and gpuEnd (timestamps)');
  }
  let start: Micros | null = null;
  const startText = get('start');
  if (startText !== undefined) {
    const parsed = parseMicros(startText);
    if (!parsed.ok) return refused(line, 'start', parsed.reason);
    start = parsed.micros;
  }
  const step = rawStep as number;
  const epoch = (rawEpoch as number | undefined) ?? null;
  if (hasDurations) {
    const values = [read, gpu, save ?? 0];
    for (let i = 0; i < 3; i++) {
      const key = DURATION_KEYS[i];
      if (values[i] === undefined)
        return refused(line, key, `is missing; with durations give read and gpu in seconds (save defaults to 0)`);
      const problem = numberProblem(values[i], 0, STEP_BOUNDS.maxPhaseSeconds, 'seconds');
      if (problem) return refused(line, key, problem);
    }
    return accepted({
      line,
      step,
      epoch,
      start,
      durations: { read: read as number, gpu: gpu as number, save: (save ?? 0) as number },
      readEnd: null,
      gpuEnd: null,
      saveEnd: null,
    });
  }
  if (readEndText === undefined)
    return refused(line, 'readEnd', 'is missing; with timestamps give readEnd and gpuEnd (saveEnd when the step saved)');
  const readEnd = parseMicros(readEndText);
  if (!readEnd.ok) return refused(line, 'readEnd', readEnd.reason);
  if (gpuEndText === undefined)
    return refused(line, 'gpuEnd', 'is missing; with timestamps give readEnd and gpuEnd (saveEnd when the step saved)');
  const gpuEnd = parseMicros(gpuEndText);
  if (!gpuEnd.ok) return refused(line, 'gpuEnd', gpuEnd.reason);
  let saveEnd: Micros | null = null;
  if (saveEndText !== undefined) {
    const parsed = parseMicros(saveEndText);
    if (!parsed.ok) return refused(line, 'saveEnd', parsed.reason);
    saveEnd = parsed.micros;
  }
  if (gpuEnd.micros < readEnd.micros) return refused(line, 'gpuEnd', 'is before readEnd; the GPU phase follows the Read phase');
  if (saveEnd !== null && saveEnd < gpuEnd.micros)
    return refused(line, 'saveEnd', 'is before gpuEnd; the Save phase follows the GPU phase');
  return accepted({ line, step, epoch, start, durations: null, readEnd: readEnd.micros, gpuEnd: gpuEnd.micros, saveEnd });
}

/** Reads one NDJSON line of a step log. */
export function parseStepJson(line: number, text: string): Parsed<StepEntry> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return refused(line, null, 'is not JSON; each line of an NDJSON step log is one object such as {"step":1,"read":0.012,"gpu":0.071}');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return refused(line, null, 'is not a JSON object; each line is one step such as {"step":1,"read":0.012,"gpu":0.071}');
  }
  const record = value as Record<string, unknown>;
  // JSON.parse makes plain objects, and no step key is a property of Object.prototype: a read is an own property.
  return parseStepFields(line, (key) => {
    const field = record[key];
    return field === null ? undefined : field;
  });
}

/** Whether a step needs the end of the step before it to be placed in time. */
export const needsPreviousEnd = (entry: StepEntry): boolean => entry.durations === null && entry.start === null;

/**
 * Places a step in time: its phases in seconds. `previousEnd` is when step − 1 ended, needed only by a step
 * in the timestamp form without `start` (see needsPreviousEnd).
 */
export function placeStep(entry: StepEntry, previousEnd: Micros | null): Parsed<StepRow> {
  const { line, step, epoch } = entry;
  if (entry.durations) {
    const { read, gpu, save } = entry.durations;
    return accepted({
      step,
      epoch,
      readSeconds: read,
      gpuSeconds: gpu,
      saveSeconds: save,
      startAt: entry.start,
      readEndAt: null,
      gpuEndAt: null,
      saveEndAt: null,
    });
  }
  const start = entry.start ?? previousEnd;
  if (start === null) {
    return refused(
      line,
      'start',
      `step ${step} has no start: give "start", or upload step ${step - 1} (its end is this step's start) in this upload or an earlier one`,
    );
  }
  const readEnd = entry.readEnd as Micros;
  const gpuEnd = entry.gpuEnd as Micros;
  if (readEnd < start) {
    return refused(
      line,
      'readEnd',
      entry.start === null ? `is before the end of step ${step - 1}, where this step starts` : 'is before start',
    );
  }
  const readSeconds = secondsBetween(start, readEnd);
  const gpuSeconds = secondsBetween(readEnd, gpuEnd);
  const saveSeconds = entry.saveEnd === null ? 0 : secondsBetween(gpuEnd, entry.saveEnd);
  for (const [field, seconds] of [
    ['readEnd', readSeconds],
    ['gpuEnd', gpuSeconds],
    ['saveEnd', saveSeconds],
  ] as const) {
    if (seconds > STEP_BOUNDS.maxPhaseSeconds)
      return refused(
        line,
        field,
        `makes a phase of ${seconds} seconds; one phase of one step lasts at most ${STEP_BOUNDS.maxPhaseSeconds}`,
      );
  }
  return accepted({
    step,
    epoch,
    readSeconds,
    gpuSeconds,
    saveSeconds,
    startAt: start,
    readEndAt: readEnd,
    gpuEndAt: gpuEnd,
    saveEndAt: entry.saveEnd,
  });
}

/** When a placed step ended (so when the next one started), if the log says. */
export function stepEnd(row: StepRow): Micros | null {
  if (row.saveEndAt !== null) return row.saveEndAt;
  if (row.gpuEndAt !== null) return row.gpuEndAt;
  if (row.startAt === null) return null;
  return row.startAt + BigInt(Math.round((row.readSeconds + row.gpuSeconds + row.saveSeconds) * 1e6));
}

/** Splits one CSV record (RFC 4180 quoting within the line), or says why it cannot. */
export function splitCsvLine(text: string): string[] | null {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  let wasQuoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell.trim() === '' && !wasQuoted) {
      quoted = true;
      wasQuoted = true;
      cell = '';
    } else if (c === ',') {
      cells.push(wasQuoted ? cell : cell.trim());
      cell = '';
      wasQuoted = false;
    } else if (wasQuoted && c.trim() !== '') {
      return null;
    } else cell += c;
  }
  if (quoted) return null;
  cells.push(wasQuoted ? cell : cell.trim());
  return cells;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const canonical = (name: string) => name.trim().toLowerCase().replace(/_/g, '');
const KEY_BY_CANONICAL = new Map<string, StepKey>(KNOWN.map((k) => [canonical(k), k]));

/**
 * The CSV form of the step log: a header row naming the columns (step, epoch, read, gpu, save, start,
 * readEnd, gpuEnd, saveEnd in any order; others ignored), then one step per row. An empty cell is absent.
 */
export class StepCsvReader {
  private columns: Array<StepKey | null> | null = null;

  get hasHeader(): boolean {
    return this.columns !== null;
  }

  /** Reads the header row; a header without a `step` column is refused. */
  readHeader(line: number, text: string): Rejection | null {
    const names = splitCsvLine(text);
    if (!names) return reject(line, null, 'is not a CSV header row (an unterminated or misplaced quote)');
    const columns = names.map((n) => KEY_BY_CANONICAL.get(canonical(n)) ?? null);
    if (!columns.includes('step')) {
      return reject(
        line,
        null,
        `is not a step-log header: it names no step column (columns: step, epoch, read, gpu, save, start, readEnd, gpuEnd, saveEnd)`,
      );
    }
    const seen = new Set<StepKey>();
    for (const c of columns) {
      if (c === null) continue;
      if (seen.has(c)) return reject(line, c, `the column ${c} appears twice`);
      seen.add(c);
    }
    this.columns = columns;
    return null;
  }

  readRow(line: number, text: string): Parsed<StepEntry> {
    const columns = this.columns as Array<StepKey | null>;
    const cells = splitCsvLine(text);
    if (!cells) return refused(line, null, 'is not a CSV row (an unterminated or misplaced quote)');
    if (cells.length !== columns.length) return refused(line, null, `has ${cells.length} cells; the header has ${columns.length}`);
    const values = new Map<StepKey, unknown>();
    cells.forEach((cell, i) => {
      const key = columns[i];
      if (key === null || cell === '') return;
      values.set(key, NUMBER.test(cell) ? Number(cell) : cell);
    });
    return parseStepFields(line, (key) => values.get(key));
  }
}
