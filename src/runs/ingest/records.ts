/**
 * What the upload parsers share: a refused line, instants to the microsecond, and the checks of values a
 * line may carry. Pure: no framework, no database.
 */
import { EARLIEST_INSTANT_MS, LATEST_INSTANT_MS, parseInstant } from '../../core/time';

/** A line refused: its number in the upload, the field at fault (null when the line as a whole is), why. */
export interface Rejection {
  readonly line: number;
  readonly field: string | null;
  readonly reason: string;
}

export const reject = (line: number, field: string | null, reason: string): Rejection => ({ line, field, reason });

/** A parsed line, or the reason it was refused. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; rejection: Rejection };

export const accepted = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const refused = <T>(line: number, field: string | null, reason: string): Parsed<T> => ({
  ok: false,
  rejection: reject(line, field, reason),
});

/** Microseconds since 1970-01-01T00:00:00Z: timestamptz's own resolution, exact as a bigint. */
export type Micros = bigint;

/**
 * The latest instant any timestamp may name (the last millisecond of 9999, UTC), as the rest of the service
 * bounds them. A double cannot hold the last microsecond at this magnitude (it would round up to 10000-01-01).
 */
const LATEST_UNIX_SECONDS = 253_402_300_799.999;
const FRACTION = /[T ]\d{2}:\d{2}(?::\d{2})?\.(\d{1,9})/i;

/**
 * An instant as a trainer writes it: an ISO-8601 date-time with a time zone (fractions to the microsecond
 * kept; beyond, truncated), or Unix seconds as a number (Python's `time.time()`).
 */
export function parseMicros(value: unknown): { ok: true; micros: Micros } | { ok: false; reason: string } {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0 || value > LATEST_UNIX_SECONDS) {
      return { ok: false, reason: `must be Unix seconds from 0 to ${LATEST_UNIX_SECONDS} or an ISO-8601 date-time; got ${value}` };
    }
    return { ok: true, micros: BigInt(Math.round(value * 1e6)) };
  }
  if (typeof value !== 'string')
    return { ok: false, reason: `must be an ISO-8601 date-time with a time zone or Unix seconds; got ${JSON.stringify(value)}` };
  const fast = plainInstantMicros(value);
  if (fast !== null) return { ok: true, micros: fast };
  const parsed = parseInstant(value.trim());
  if (!parsed.ok) return { ok: false, reason: parsed.reason };
  const fraction = FRACTION.exec(value)?.[1] ?? '';
  const subMilli = fraction.length > 3 ? BigInt(fraction.slice(3, 6).padEnd(3, '0')) : 0n;
  return { ok: true, micros: BigInt(parsed.date.getTime()) * 1000n + subMilli };
}

/** The first millisecond of the day a step log's timestamps were last on: a log's lines share their day. */
let knownDay = '';
let knownDayMs = 0;
/** Microseconds beyond which a Number no longer holds every microsecond exactly (2^53, in the year 2255). */
const EXACT_MICROS = 2 ** 53;

const digit = (text: string, i: number): number => {
  const c = text.charCodeAt(i) - 48;
  return c >= 0 && c <= 9 ? c : -1;
};
const twoDigits = (text: string, i: number): number => {
  const a = digit(text, i);
  const b = digit(text, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
};

/**
 * The common form trainers write, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, read without a regular
 * expression or a Date per timestamp (a step log holds millions). Null for anything else, or anything this
 * path does not accept, which then goes through parseInstant and gets its answer, error messages included.
 */
function plainInstantMicros(text: string): Micros | null {
  const n = text.length;
  if (n < 20 || n > 40) return null;
  const sep = text.charCodeAt(10);
  if (
    text.charCodeAt(4) !== 45 ||
    text.charCodeAt(7) !== 45 ||
    (sep !== 84 && sep !== 116 && sep !== 32) ||
    text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58
  )
    return null;
  const day = text.slice(0, 10);
  if (day !== knownDay) {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
    const start = parseInstant(`${day}T00:00:00Z`);
    if (!start.ok) return null;
    knownDay = day;
    knownDayMs = start.date.getTime();
  }
  const hours = twoDigits(text, 11);
  const minutes = twoDigits(text, 14);
  const seconds = twoDigits(text, 17);
  if (hours < 0 || hours > 23 || minutes < 0 || minutes > 59 || seconds < 0 || seconds > 59) return null;
  let i = 19;
  let micros = 0;
  if (text.charCodeAt(i) === 46) {
    i += 1;
    let places = 0;
    for (let d = digit(text, i); d >= 0; d = digit(text, ++i)) {
      if (places < 6) micros = micros * 10 + d;
      places += 1;
    }
    if (places === 0 || places > 9) return null;
    for (let p = Math.min(places, 6); p < 6; p++) micros *= 10;
  }
  let offsetMinutes = 0;
  const zone = text.charCodeAt(i);
  if (zone === 90 || zone === 122) {
    if (i + 1 !== n) return null;
  } else if (zone === 43 || zone === 45) {
    const zh = twoDigits(text, i + 1);
    const colon = text.charCodeAt(i + 3) === 58 ? 1 : 0;
    const zm = twoDigits(text, i + 3 + colon);
    if (zh < 0 || zh > 23 || zm < 0 || zm > 59 || i + 5 + colon !== n) return null;
    offsetMinutes = (zone === 45 ? -1 : 1) * (zh * 60 + zm);
  } else return null;
  const ms = knownDayMs + ((hours * 60 + minutes) * 60 + seconds) * 1000 - offsetMinutes * 60_000 + Math.floor(micros / 1000);
  if (ms < EARLIEST_INSTANT_MS || ms > LATEST_INSTANT_MS) return null;
  const total = (ms - Math.floor(micros / 1000)) * 1000 + micros;
  return total < EXACT_MICROS ? BigInt(total) : BigInt(ms - Math.floor(micros / 1000)) * 1000n + BigInt(micros);
}

/** `2026-11-21T09:00:00.123456Z`: what PostgreSQL reads back to the same microsecond. */
export function microsToIso(micros: Micros): string {
  const ms = micros / 1000n;
  const rest = micros % 1000n;
  return new Date(Number(ms)).toISOString().replace(/Z$/, `${rest.toString().padStart(3, '0')}Z`);
}

export const secondsBetween = (from: Micros, to: Micros): number => Number(to - from) / 1e6;

/** A whole number in [min, max], or why not. */
export function wholeNumberProblem(value: unknown, min: number, max: number): string | null {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    return `must be a whole number from ${min} to ${max}; got ${JSON.stringify(value)}`;
  }
  return null;
}

/** A finite number in [min, max], or why not. */
export function numberProblem(value: unknown, min: number, max: number, unit: string): string | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    return `must be a number of ${unit} from ${min} to ${max}; got ${JSON.stringify(value)}`;
  }
  return null;
}

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A name (equipment, node, mount point) of 1 to `max` characters without control characters, or why not. */
export function nameProblem(value: unknown, max: number): string | null {
  if (typeof value !== 'string' || value.trim() === '') return `must be a non-empty text; got ${JSON.stringify(value)}`;
  if (value.length > max) return `is ${value.length} characters long; the limit is ${max}`;
  if (CONTROL.test(value)) return 'contains a control character; remove it';
  if (LONE_SURROGATE.test(value)) return 'contains a lone UTF-16 surrogate, which is not a character';
  return null;
}
