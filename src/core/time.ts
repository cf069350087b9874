/**
 * Instants as clients write them: RFC 3339 / ISO-8601 date-times with a zone. Parsed strictly, so that a
 * date that does not exist (2027-02-30, 24:00, 23:60) is refused instead of rolling over into another day,
 * and bounded, so that no instant reaches the database outside the range every column and window accepts.
 */
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?([Zz]|([+-])(\d{2}):?(\d{2}))$/;

/** The earliest and latest instants the service accepts anywhere (1970-01-01 to the end of 9999, UTC). */
export const EARLIEST_INSTANT_MS = 0;
export const LATEST_INSTANT_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

const daysIn = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * The instant `text` names, or the reason it is not one (a sentence fragment, e.g. `2027-02-30 is not a
 * day of the calendar`). Fractions beyond milliseconds are truncated, as JavaScript dates hold milliseconds.
 */
export function parseInstant(text: unknown): { ok: true; date: Date } | { ok: false; reason: string } {
  const m = typeof text === 'string' ? INSTANT.exec(text) : null;
  if (!m) {
    return {
      ok: false,
      reason: `must be an ISO-8601 date-time with a time zone, e.g. "2026-11-21T09:00:00Z"; got ${JSON.stringify(text)}`,
    };
  }
  const [, y, mo, d, h, mi, s = '0', fraction = '', zone, sign, zh, zm] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) {
    return { ok: false, reason: `${y}-${mo}-${d} is not a day of the calendar` };
  }
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59)
    return { ok: false, reason: `${h}:${mi}:${s.padStart(2, '0')} is not a time of day (00:00:00 to 23:59:59)` };
  let offsetMinutes = 0;
  if (zone.toUpperCase() !== 'Z') {
    if (Number(zh) > 23 || Number(zm) > 59) return { ok: false, reason: `the zone offset ${sign}${zh}:${zm} is not an offset` };
    offsetMinutes = (sign === '-' ? -1 : 1) * (Number(zh) * 60 + Number(zm));
  }
  const ms = fraction ? Number(fraction.slice(1, 4).padEnd(3, '0')) : 0;
  const epoch = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s), ms) - offsetMinutes * 60_000;
  if (epoch < EARLIEST_INSTANT_MS || epoch > LATEST_INSTANT_MS) {
    return { ok: false, reason: 'must lie between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z' };
  }
  return { ok: true, date: new Date(epoch) };
}

export interface WindowLimits {
  /** Longest window, in seconds (APN_MAX_DURATION_S). */
  readonly maxDurationSeconds: number;
  /** How far ahead of now a window may end, in seconds (APN_MAX_ADVANCE_S). */
  readonly maxAdvanceSeconds: number;
}

/**
 * Why a window [start, end) breaks the service-wide bounds, naming the field to change, or null. Windows
 * are bounded so that no booking, hold or allocation can claim capacity for decades, and so that
 * everything derived from a window (lock keys, metering slices, searches) stays bounded too.
 */
export function windowProblem(
  fields: { start: string; end: string },
  start: Date,
  end: Date,
  limits: WindowLimits,
  now = Date.now(),
): { field: string; message: string } | null {
  const durationS = (end.getTime() - start.getTime()) / 1000;
  if (durationS > limits.maxDurationSeconds) {
    return {
      field: fields.end,
      message: `The window lasts ${formatSeconds(durationS)}; the longest allowed is ${formatSeconds(limits.maxDurationSeconds)} (APN_MAX_DURATION_S). Move ${fields.end} earlier, or book several windows.`,
    };
  }
  if (end.getTime() > now + limits.maxAdvanceSeconds * 1000) {
    return {
      field: fields.end,
      message: `${fields.end} (${end.toISOString()}) is more than ${formatSeconds(limits.maxAdvanceSeconds)} ahead (APN_MAX_ADVANCE_S); book closer to the time.`,
    };
  }
  return null;
}

/** 7776000 → "90 days", 5400 → "1.5 hours": a bound as an operator writes it. */
export function formatSeconds(seconds: number): string {
  const units: Array<[number, string]> = [
    [86_400, 'day'],
    [3_600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  for (const [size, name] of units) {
    if (seconds >= size) {
      const n = Math.round((seconds / size) * 10) / 10;
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}
