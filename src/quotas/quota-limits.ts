import { requireNumberIn } from '../core/bounds';
import { badInput } from '../core/errors/app-error';

/** The quotas an operator may set on a tenant; null is no limit. */
export interface QuotaLimits {
  /** Reservations of the tenant in state HELD at once. */
  maxConcurrentHolds: number | null;
  /** Longest window one reservation may have, in seconds (on booking and on extension). */
  maxWindowSeconds: number | null;
  /** Channel-hours the tenant may hold on one link (span) within one calendar month (UTC). */
  maxChannelHoursPerSpanPerMonth: number | null;
}

export type QuotaName = keyof QuotaLimits;

export const NO_QUOTA: Readonly<QuotaLimits> = { maxConcurrentHolds: null, maxWindowSeconds: null, maxChannelHoursPerSpanPerMonth: null };

/**
 * The range of each quota, part of the API (and of the table's CHECK constraints). A window of 60 s is the
 * shortest APN_MIN_DURATION_S can be set to, and 10 years (315,360,000 s) the longest APN_MAX_DURATION_S.
 */
export const QUOTA_BOUNDS: Readonly<Record<QuotaName, { min: number; max: number; unit: string }>> = {
  maxConcurrentHolds: { min: 0, max: 10_000, unit: 'holds' },
  maxWindowSeconds: { min: 60, max: 315_360_000, unit: 's' },
  maxChannelHoursPerSpanPerMonth: { min: 0, max: 1_000_000, unit: 'channel-hours' },
};

const QUOTA_NAMES = Object.keys(QUOTA_BOUNDS) as QuotaName[];

/**
 * What a setTenantQuota input changes: a quota given a number is set, one given null is cleared, one left
 * out is kept. Every number is checked against QUOTA_BOUNDS, naming the field (`input.maxWindowSeconds`).
 */
export function quotaChanges(input: Partial<Record<QuotaName, number | null | undefined>>, field = 'input'): Partial<QuotaLimits> {
  const changes: Partial<QuotaLimits> = {};
  for (const name of QUOTA_NAMES) {
    const value = input[name];
    if (value === undefined) continue;
    if (value !== null) requireNumberIn(`${field}.${name}`, value, { ...QUOTA_BOUNDS[name], integer: true });
    changes[name] = value;
  }
  return changes;
}

export function applyQuotaChanges(current: Readonly<QuotaLimits>, changes: Partial<QuotaLimits>): QuotaLimits {
  return { ...current, ...changes };
}

/** Whether the limits bound anything: a tenant whose quotas are all cleared has no quota row at all. */
export function hasAnyQuota(limits: Readonly<QuotaLimits>): boolean {
  return QUOTA_NAMES.some((name) => limits[name] !== null);
}

/** A calendar month (UTC) by its first day, e.g. 2026-12-01; its label is `2026-12`. */
export interface Month {
  readonly label: string;
  readonly firstDay: string;
}

export function monthOf(instant: Date): Month {
  const label = instant.toISOString().slice(0, 7);
  return { label, firstDay: `${label}-01` };
}

/** `YYYY-MM` (1970-01 to 9999-12, as every instant the service accepts), or BAD_USER_INPUT naming the field. */
export function parseMonth(field: string, text: string): Month {
  const m = /^(\d{4})-(\d{2})$/.exec(text);
  if (!m || Number(m[1]) < 1970 || Number(m[2]) < 1 || Number(m[2]) > 12) {
    throw badInput(
      field,
      `${field} must be a calendar month as YYYY-MM, from 1970-01 to 9999-12, e.g. "2026-12"; got ${JSON.stringify(text.slice(0, 40))}.`,
    );
  }
  return { label: text, firstDay: `${text}-01` };
}

/** Channel-hours left under a quota, never below zero; null without a quota. */
export function remainingChannelHours(quota: number | null, usedHours: number): number | null {
  return quota === null ? null : Math.max(0, quota - usedHours);
}
