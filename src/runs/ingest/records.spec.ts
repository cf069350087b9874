import { parseInstant } from '../../core/time';
import { microsToIso, parseMicros } from './records';

/** What every timestamp used to be read as: the strict instant, its fraction to the microsecond. */
function reference(text: string): bigint | string {
  const parsed = parseInstant(text.trim());
  if (!parsed.ok) return parsed.reason;
  const fraction = /[T ]\d{2}:\d{2}(?::\d{2})?\.(\d{1,9})/i.exec(text)?.[1] ?? '';
  const subMilli = fraction.length > 3 ? BigInt(fraction.slice(3, 6).padEnd(3, '0')) : 0n;
  return BigInt(parsed.date.getTime()) * 1000n + subMilli;
}

const read = (text: string) => {
  const p = parseMicros(text);
  return p.ok ? p.micros : p.reason;
};

describe('timestamps of a step log', () => {
  it('reads the forms trainers write to the microsecond, exactly as the strict parser does', () => {
    const cases = [
      '2026-11-29T19:30:53.344162+00:00',
      '2026-11-29T19:30:53.344162Z',
      '2026-11-29T19:30:53Z',
      '2026-11-29t19:30:53.1z',
      '2026-11-29 19:30:53.123456789+09:00',
      '2026-11-29T00:00:00.000001-05:30',
      '2026-11-29T23:59:59.999999+0100',
      '1970-01-01T00:00:00Z',
      '9999-12-31T23:59:59.999999Z',
      '2400-02-29T12:00:00.5+00:00',
      // Refused, with the strict parser's reasons.
      '2027-02-29T00:00:00Z',
      '2026-11-29T24:00:00Z',
      '2026-11-29T23:60:00Z',
      '2026-11-29T10:00:00+24:00',
      '1969-12-31T23:59:59Z',
      '2026-11-29T10:00:00.Z',
      '2026-11-29T10:00:00.1234567890Z',
      '2026-11-29T10:00:00',
      '2026-11-29T10:00:00Zjunk',
      ' 2026-11-29T10:00:00Z ',
    ];
    for (const text of cases) expect({ text, value: read(text) }).toEqual({ text, value: reference(text) });
    expect(microsToIso(read('2026-11-29T19:30:53.344162+00:00') as bigint)).toBe('2026-11-29T19:30:53.344162Z');
  });

  it('agrees with the strict parser on random instants across days and zones', () => {
    let seed = 7;
    const random = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    for (let i = 0; i < 5000; i++) {
      const ms = random(2 ** 31) * 1000 * 4 + random(1000);
      const base = new Date(ms).toISOString().slice(0, 19);
      const fraction = ['', `.${String(random(10 ** 6)).padStart(6, '0')}`, `.${random(10)}`][random(3)];
      const zone = ['Z', '+00:00', '+09:00', '-07:30', '+0530'][random(5)];
      const text = base + fraction + zone;
      expect({ text, value: read(text) }).toEqual({ text, value: reference(text) });
    }
  });
});
