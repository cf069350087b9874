import { parseInstant } from './time';

const ok = (text: string) => {
  const r = parseInstant(text);
  if (!r.ok) throw new Error(`${text}: ${r.reason}`);
  return r.date.toISOString();
};
const reason = (text: unknown) => {
  const r = parseInstant(text);
  if (r.ok) throw new Error(`${String(text)} was accepted as ${r.date.toISOString()}`);
  return r.reason;
};

describe('parseInstant', () => {
  it('reads RFC 3339 instants with any zone, to the millisecond', () => {
    expect(ok('2026-11-21T09:00:00Z')).toBe('2026-11-21T09:00:00.000Z');
    expect(ok('2026-11-21T09:00Z')).toBe('2026-11-21T09:00:00.000Z');
    expect(ok('2026-11-21T18:00:00+09:00')).toBe('2026-11-21T09:00:00.000Z');
    expect(ok('2026-11-21T04:30:00-0430')).toBe('2026-11-21T09:00:00.000Z');
    expect(ok('2026-11-21T09:00:00.123456789Z')).toBe('2026-11-21T09:00:00.123Z');
    expect(ok('2028-02-29T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
    expect(ok('9999-12-31T23:59:59.999Z')).toBe('9999-12-31T23:59:59.999Z');
  });

  it('refuses days and times that do not exist instead of rolling them over', () => {
    expect(reason('2027-02-30T00:00:00Z')).toMatch(/2027-02-30 is not a day/);
    expect(reason('2027-02-29T00:00:00Z')).toMatch(/not a day/);
    expect(reason('2026-13-01T00:00:00Z')).toMatch(/not a day/);
    expect(reason('2026-04-31T00:00:00Z')).toMatch(/not a day/);
    expect(reason('2026-04-00T00:00:00Z')).toMatch(/not a day/);
    expect(reason('2026-04-01T24:00:00Z')).toMatch(/not a time of day/);
    expect(reason('2026-04-01T23:60:00Z')).toMatch(/not a time of day/);
    expect(reason('2026-04-01T23:59:60Z')).toMatch(/not a time of day/);
    expect(reason('2026-04-01T00:00:00+24:00')).toMatch(/offset/);
  });

  it('refuses instants outside 1970 to 9999 and anything that is not a date-time with a zone', () => {
    expect(reason('1969-12-31T23:59:59Z')).toMatch(/between 1970/);
    expect(reason('9999-12-31T23:00:00-01:00')).toMatch(/between 1970/);
    expect(reason('+010000-01-01T00:00:00Z')).toMatch(/ISO-8601/);
    expect(reason('2026-11-21T09:00:00')).toMatch(/time zone/);
    expect(reason('2026-11-21')).toMatch(/ISO-8601/);
    expect(reason(1764000000000)).toMatch(/ISO-8601/);
    expect(reason('2026-11-21T09:00:00Z\u0000')).toMatch(/ISO-8601/);
  });
});
