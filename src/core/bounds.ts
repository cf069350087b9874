import { badInput } from './errors/app-error';

/**
 * A number a client gave must lie in [min, max] (or (min, max] with `exclusiveMin`); otherwise
 * BAD_USER_INPUT naming the field and the range, before anything is written. Ranges are part of the API:
 * each field's range is stated where the capability declares it.
 */
export function requireNumberIn(
  field: string,
  value: number,
  range: { min: number; max: number; exclusiveMin?: boolean; integer?: boolean; unit?: string },
): void {
  const unit = range.unit ? ` ${range.unit}` : '';
  const low = range.exclusiveMin ? value <= range.min : value < range.min;
  if (!Number.isFinite(value) || low || value > range.max || (range.integer && !Number.isInteger(value))) {
    const lower = range.exclusiveMin ? `more than ${range.min}` : `at least ${range.min}`;
    throw badInput(
      field,
      `${field} must be ${range.integer ? 'a whole number ' : ''}${lower} and at most ${range.max}${unit}; got ${value}.`,
    );
  }
}

/** A text a client gave, trimmed, must have 1 to `max` characters (0 allowed with `optional`). */
export function requireText(field: string, value: string, max: number, options: { optional?: boolean } = {}): string {
  const text = value.trim();
  if (!options.optional && text.length === 0) throw badInput(field, `${field} must not be empty.`);
  if (text.length > max) throw badInput(field, `${field} is ${text.length} characters long; the limit is ${max}.`);
  return text;
}
