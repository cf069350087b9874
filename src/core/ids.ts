const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True for a well-formed UUID: ids that are not cannot name a row, and must not reach a uuid column. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** A UUID in its canonical lowercase text, the only form a signed payload may carry (one text, one signature). */
export function isCanonicalUuid(value: string): boolean {
  return isUuid(value) && value === value.toLowerCase();
}
