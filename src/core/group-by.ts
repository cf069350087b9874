/** Rows grouped under each of `keys`, in the rows' order; a key without rows gets an empty list. */
export function groupBy<T>(keys: readonly string[], rows: readonly T[], keyOf: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>(keys.map((k) => [k, []]));
  for (const row of rows) out.get(keyOf(row))?.push(row);
  return out;
}
