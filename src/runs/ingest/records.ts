/**
 * What the upload parsers share: a refused line, instants to the microsecond, and the checks of values a
 * line may carry. Pure: no framework, no database.
 */
import { parseInstant } from '../../core/time';

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
export const refused = <T>(line: number, field: string | null, reason: string): Parsed<T> => ({ ok: false, rejection: reject(line, field, reason) });

/** Microseconds since 1970-01-01T00:00:00Z: timestamptz's own resolution, exact as a bigint. */
export type Micros = bigint;

/** The latest instant any timestamp may name (the end of 9999, UTC), as the rest of the service bounds them. */
const LATEST_UNIX_SECONDS = 253_402_300_799.999_999;
const FRACTION = /T\d{2}:\d{2}(?::\d{2})?\.(\d{1,9})/i;

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
  if (typeof value !== 'string') return { ok: false, reason: `must be an ISO-8601 date-time with a time zone or Unix seconds; got ${JSON.stringify(value)}` };
  const parsed = parseInstant(value.trim());
  if (!parsed.ok) return { ok: false, reason: parsed.reason };
  const fraction = FRACTION.exec(value)?.[1] ?? '';
  const subMilli = fraction.length > 3 ? BigInt(fraction.slice(3, 6).padEnd(3, '0')) : 0n;
  return { ok: true, micros: BigInt(parsed.date.getTime()) * 1000n + subMilli };
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
