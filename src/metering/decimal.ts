/**
 * Exact decimal arithmetic for money and metered quantities.
 *
 * A value is held as a scaled integer: `value × 10^scale` in a BigInt. Decimal strings are read exactly
 * ("0.1" is one tenth, not the double nearest to it); a JS number is read through its shortest
 * round-trip text (`String(0.1)` is "0.1"), so a number written as a literal means what it says. Sums of
 * scaled integers are exact, so adding a million tiny amounts never drifts. The only rounding is an
 * explicit division, which rounds half to even (banker's rounding: no bias up or down across many lines).
 */

export type DecimalInput = number | string | bigint;

export class DecimalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecimalError';
  }
}

const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

const POWERS = Array.from({ length: 64 }, (_, i) => 10n ** BigInt(i));

/**
 * No quantity or price has more digits than this before the point once scaled. Reading "1e999999999" would
 * otherwise build a billion-digit integer, seconds of CPU and a gigabyte of memory for one request.
 */
const MAX_SCALED_DIGITS = 400;

/** Text for a message: long inputs shortened, so an error never repeats a megabyte back. */
const quote = (text: string): string => JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);

export function pow10(exponent: number): bigint {
  if (!Number.isInteger(exponent) || exponent < 0) throw new DecimalError(`10^${exponent} is not an integer power`);
  return POWERS[exponent] ?? 10n ** BigInt(exponent);
}

/** n / d rounded half to even; d must be positive. */
export function divRound(n: bigint, d: bigint): bigint {
  if (d <= 0n) throw new DecimalError('divisor must be positive');
  const negative = n < 0n;
  const magnitude = negative ? -n : n;
  let quotient = magnitude / d;
  const twiceRemainder = (magnitude % d) * 2n;
  if (twiceRemainder > d || (twiceRemainder === d && quotient % 2n === 1n)) quotient += 1n;
  return negative ? -quotient : quotient;
}

/**
 * The value × 10^scale as an integer, rounded half to even past `scale` decimals.
 * Throws DecimalError for anything that is not a finite decimal number.
 */
export function toScaled(input: DecimalInput, scale: number): bigint {
  if (typeof input === 'bigint') return input * pow10(scale);
  if (typeof input === 'number' && !Number.isFinite(input)) {
    throw new DecimalError(`${input} is not a finite number`);
  }
  if (typeof input !== 'number' && typeof input !== 'string') {
    const what = input === null ? 'null' : Array.isArray(input) ? 'a list' : typeof input === 'object' ? 'an object' : String(input);
    throw new DecimalError(`${what} is not a decimal number`);
  }
  const text = typeof input === 'number' ? String(input) : input.trim();
  const match = DECIMAL_TEXT.exec(text);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) {
    throw new DecimalError(`${quote(text)} is not a decimal number`);
  }
  const [, sign, whole, fraction = '', exponentText = '0'] = match;
  const digitText = `${whole}${fraction}`.replace(/^0+/, '');
  if (digitText === '') return 0n;
  // Number() of a long exponent is ±Infinity, which the two bounds below handle too.
  const shift = Number(exponentText) - fraction.length + scale;
  if (digitText.length + shift > MAX_SCALED_DIGITS) throw new DecimalError(`${quote(text)} is too large`);
  // Below a tenth of the last place, the value rounds to zero whatever its digits.
  if (-shift > digitText.length) return 0n;
  const digits = BigInt(digitText);
  const magnitude = shift >= 0 ? digits * pow10(shift) : divRound(digits, pow10(-shift));
  return sign === '-' ? -magnitude : magnitude;
}

/**
 * How many decimal places `input` has, trailing zeros not counted ("1.50" has 1, "25e-3" has 3, "1e3" 0).
 * Throws DecimalError for anything that is not a finite decimal number.
 */
export function decimalPlaces(input: number | string): number {
  if (typeof input === 'number' && !Number.isFinite(input)) throw new DecimalError(`${input} is not a finite number`);
  const text = typeof input === 'number' ? String(input) : String(input).trim();
  const match = DECIMAL_TEXT.exec(text);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) throw new DecimalError(`${quote(text)} is not a decimal number`);
  const fraction = (match[3] ?? '').replace(/0+$/, '');
  if (/^0*$/.test(`${match[2]}${fraction}`)) return 0;
  return Math.max(0, fraction.length - Number(match[4] ?? '0'));
}

/**
 * A scaled integer as decimal text with exactly `decimals` places (rounded half to even when fewer than
 * `scale`), or with trailing zeros dropped when `decimals` is omitted.
 */
export function formatScaled(value: bigint, scale: number, decimals?: number): string {
  const places = decimals ?? scale;
  const rescaled = places >= scale ? value * pow10(places - scale) : divRound(value, pow10(scale - places));
  const negative = rescaled < 0n;
  const digits = (negative ? -rescaled : rescaled).toString().padStart(places + 1, '0');
  const whole = digits.slice(0, digits.length - places);
  let fraction = digits.slice(digits.length - places);
  if (decimals === undefined) fraction = fraction.replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** A scaled integer as a JS number (for display and for physics, never for sums of money). */
export function scaledToNumber(value: bigint, scale: number): number {
  return Number(formatScaled(value, scale));
}
