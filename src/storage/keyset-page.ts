import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import { decodeCursor } from '../core/graphql/pagination';

/** One page of rows and whether more follow. */
export interface Page<T> {
  rows: T[];
  hasNextPage: boolean;
}

/** Where the storage lists are ordered: `column` of `table` (aliased `alias` in the query), ties by id ascending. */
export interface PageKey {
  alias: string;
  table: string;
  column: string;
  order: 'ASC' | 'DESC';
}

/**
 * Reads the page after `after` (a cursor naming the last row of the previous page) of `q`, ordered by `key`.
 * The comparison uses the cursor row's own value, to the microsecond, while that row still exists; the
 * cursor's millisecond value only when it does not.
 */
export async function keysetPage<T extends ObjectLiteral>(
  q: SelectQueryBuilder<T>,
  key: PageKey,
  r: { first: number; after?: string | null },
): Promise<Page<T>> {
  const { alias: a, table, column } = key;
  if (r.after) {
    const c = decodeCursor(r.after);
    const at = `coalesce((SELECT x.${column} FROM ${table} x WHERE x.id = :cid), :cat)`;
    q.andWhere(
      key.order === 'ASC'
        ? `(${a}.${column}, ${a}.id) > (${at}, :cid)`
        : `(${a}.${column} < ${at} OR (${a}.${column} = ${at} AND ${a}.id > :cid))`,
      { cid: c.id, cat: c.createdAt },
    );
  }
  const rows = await q
    .orderBy(`${a}.${column}`, key.order)
    .addOrderBy(`${a}.id`, 'ASC')
    .limit(r.first + 1)
    .getMany();
  return { rows: rows.slice(0, r.first), hasNextPage: rows.length > r.first };
}
