import { DecimalError, decimalPlaces, divRound, formatScaled, toScaled } from './decimal';

describe('decimal', () => {
  it('reads decimal text and numbers exactly at the requested scale', () => {
    expect(toScaled('0.1', 9)).toBe(100_000_000n);
    expect(toScaled(0.1, 9)).toBe(100_000_000n);
    expect(toScaled('12', 2)).toBe(1200n);
    expect(toScaled('-3.25', 2)).toBe(-325n);
    expect(toScaled('.5', 1)).toBe(5n);
    expect(toScaled(1e-7, 9)).toBe(100n);
    expect(toScaled('2.5E3', 0)).toBe(2500n);
    expect(toScaled(4_000_000_000_000_000_000n, 3)).toBe(4_000_000_000_000_000_000_000n);
  });

  it('rounds half to even past the scale', () => {
    expect(toScaled('0.125', 2)).toBe(12n);
    expect(toScaled('0.135', 2)).toBe(14n);
    expect(toScaled('-0.125', 2)).toBe(-12n);
    expect(divRound(5n, 2n)).toBe(2n);
    expect(divRound(7n, 2n)).toBe(4n);
    expect(divRound(-7n, 2n)).toBe(-4n);
    expect(divRound(10n, 3n)).toBe(3n);
  });

  it('refuses what is not a finite decimal', () => {
    for (const bad of ['', '.', 'abc', '1.2.3', '1e', Number.NaN, Infinity]) {
      expect(() => toScaled(bad, 2)).toThrow(DecimalError);
    }
  });

  it('refuses magnitudes no price or quantity has instead of computing them, and reads tiny ones as zero', () => {
    expect(() => toScaled('1e999999999', 9)).toThrow(/too large/);
    expect(() => toScaled(`1e${'9'.repeat(400)}`, 9)).toThrow(/too large/);
    expect(toScaled('1e-999999999', 9)).toBe(0n);
    expect(toScaled('-4e-12', 9)).toBe(0n);
    expect(toScaled('5e-10', 9)).toBe(0n);
    expect(toScaled('1.5e-9', 9)).toBe(2n);
    expect(toScaled(1e308, 9)).toBe(10n ** 317n);
  });

  it('refuses values that are neither text nor numbers, and quotes long text shortened', () => {
    for (const bad of [undefined, null, {}, [], true]) expect(() => toScaled(bad as never, 2)).toThrow(DecimalError);
    const error = (() => {
      try {
        toScaled('x'.repeat(10_000), 2);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error!.message.length).toBeLessThan(120);
  });

  it('counts decimal places, trailing zeros and exponents considered', () => {
    expect(['1.50', '25e-3', '1e3', '0.000', '7', 1e-7, 0.1, '1e-999999999', '0e-50'].map(decimalPlaces)).toEqual([
      1, 3, 0, 0, 0, 7, 1, 999999999, 0,
    ]);
    expect(() => decimalPlaces('NaN')).toThrow(DecimalError);
  });

  it('formats with fixed places or with trailing zeros dropped', () => {
    expect(formatScaled(1_500_000n, 6, 6)).toBe('1.500000');
    expect(formatScaled(1_500_000n, 6)).toBe('1.5');
    expect(formatScaled(-5n, 6, 6)).toBe('-0.000005');
    expect(formatScaled(25n, 0)).toBe('25');
    expect(formatScaled(1_234_567n, 6, 2)).toBe('1.23');
  });
});
