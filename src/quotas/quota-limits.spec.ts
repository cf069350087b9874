import { AppError } from '../core/errors/app-error';
import {
  applyQuotaChanges,
  hasAnyQuota,
  monthOf,
  NO_QUOTA,
  parseMonth,
  quotaChanges,
  QUOTA_BOUNDS,
  remainingChannelHours,
} from './quota-limits';

const fieldOf = (run: () => unknown): unknown => {
  try {
    run();
  } catch (error) {
    return (error as AppError).extensions;
  }
  throw new Error('accepted');
};

describe('quota changes', () => {
  it('sets what is given, clears what is null and keeps what is left out', () => {
    const current = { maxConcurrentHolds: 5, maxWindowSeconds: 3600, maxChannelHoursPerSpanPerMonth: 100 };
    const changes = quotaChanges({ maxConcurrentHolds: null, maxChannelHoursPerSpanPerMonth: 0 });
    expect(changes).toEqual({ maxConcurrentHolds: null, maxChannelHoursPerSpanPerMonth: 0 });
    expect(applyQuotaChanges(current, changes)).toEqual({
      maxConcurrentHolds: null,
      maxWindowSeconds: 3600,
      maxChannelHoursPerSpanPerMonth: 0,
    });
    expect(applyQuotaChanges(current, quotaChanges({}))).toEqual(current);
  });

  it('accepts each bound and refuses one step beyond it, naming the field', () => {
    for (const [name, { min, max }] of Object.entries(QUOTA_BOUNDS)) {
      expect(quotaChanges({ [name]: min })).toEqual({ [name]: min });
      expect(quotaChanges({ [name]: max })).toEqual({ [name]: max });
      for (const bad of [min - 1, max + 1, min + 0.5]) {
        expect(fieldOf(() => quotaChanges({ [name]: bad }))).toMatchObject({ code: 'BAD_USER_INPUT', field: `input.${name}` });
      }
    }
  });

  it('knows a tenant with every quota cleared has none', () => {
    expect(hasAnyQuota(NO_QUOTA)).toBe(false);
    expect(hasAnyQuota({ ...NO_QUOTA, maxChannelHoursPerSpanPerMonth: 0 })).toBe(true);
  });
});

describe('months', () => {
  it('takes the calendar month in UTC', () => {
    expect(monthOf(new Date('2026-11-30T23:59:59.999Z'))).toEqual({ label: '2026-11', firstDay: '2026-11-01' });
    expect(monthOf(new Date('2026-12-01T00:00:00+09:00'))).toEqual({ label: '2026-11', firstDay: '2026-11-01' });
  });

  it('reads YYYY-MM and refuses anything else, naming the field', () => {
    expect(parseMonth('month', '2027-02')).toEqual({ label: '2027-02', firstDay: '2027-02-01' });
    for (const bad of ['2027-13', '2027-00', '2027-2', '1969-12', '2027-02-01', 'next month']) {
      expect(fieldOf(() => parseMonth('month', bad))).toMatchObject({ code: 'BAD_USER_INPUT', field: 'month' });
    }
  });
});

describe('remaining channel-hours', () => {
  it('is what the quota still allows, never negative, and null without a quota', () => {
    expect(remainingChannelHours(10, 2.5)).toBe(7.5);
    expect(remainingChannelHours(3, 4)).toBe(0);
    expect(remainingChannelHours(null, 4)).toBeNull();
  });
});
