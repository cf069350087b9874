import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildSchema, getIntrospectionQuery, GraphQLError, parse, specifiedRules, validate } from 'graphql';
import { queryCostRule } from './query-cost';

/** The committed schema (kept equal to the code's by `npm run schema:check`). */
const schema = buildSchema(readFileSync(resolve(__dirname, '../../../schema.graphql'), 'utf8'));
const limits = { maxDepth: 10, maxFields: 500, maxCost: 10_000 };

function check(query: string): readonly GraphQLError[] {
  return validate(schema, parse(query), [...specifiedRules, queryCostRule(limits)]);
}
const messages = (query: string) => check(query).map((e) => e.message);

function nest(levels: number, leaf = 'id'): string {
  let q = leaf;
  for (let i = 0; i < levels; i++) q = `endpoints { site { ${q} } }`;
  return `{ sites { ${q} } }`;
}

describe('queryCostRule', () => {
  it('multiplies nested lists, so sites → endpoints → site → endpoints … is refused within the depth limit', () => {
    expect(messages(nest(1))).toEqual([]);
    expect(messages(nest(2))).toEqual([]);
    // Four levels are within the depth limit of 10 but could return 10^5 objects.
    const refused = check(nest(4));
    expect(refused).toHaveLength(1);
    expect(refused[0].message).toMatch(/too expensive: it could return more than 10000 fields/);
    expect(refused[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('prices a page by its first argument, a variable as the largest page, and edges once', () => {
    const page = (first: string) =>
      `query${first === '$n' ? '($n: Int)' : ''} { reservations(first: ${first}) { edges { cursor node { id state source { id code } destination { id code }
        path { code lengthKm } history { state at reason actor } } } pageInfo { hasNextPage endCursor } } }`;
    expect(messages(page('100'))).toEqual([]);
    expect(messages(page('$n'))).toEqual([]);
    const heavy = `{ reservations(first: 100) { edges { node { path { a { site { endpoints { site { endpoints { id } } } } } } } } } }`;
    expect(messages(heavy)[0]).toMatch(/too expensive/);
  });

  it('refuses a query deeper than the limit and one that selects too many fields', () => {
    let deep = 'id';
    for (let i = 0; i < 11; i++) deep = `site { node { ${deep} } }`;
    expect(messages(`{ endpoints { ${deep} } }`)[0]).toMatch(/too deep/);
    const wide = Array.from({ length: 600 }, (_, i) => `a${i}: me { role }`).join(' ');
    expect(messages(`{ ${wide} }`)[0]).toMatch(/too complex: it selects more than 500 fields/);
  });

  it('accepts the standard introspection query and refuses nested type lists', () => {
    expect(messages(getIntrospectionQuery())).toEqual([]);
    let nested = 'name';
    for (let i = 0; i < 4; i++) nested = `fields { type { ${nested} } }`;
    expect(messages(`{ __type(name: "Query") { ${nested} } }`)[0]).toMatch(/Introspection may not nest type lists/);
  });

  it('reports a fragment cycle as a validation error instead of overflowing the stack', () => {
    const errors = messages(`{ sites { ...A } } fragment A on Site { endpoints { site { ...B } } } fragment B on Site { ...A }`);
    expect(errors.some((m) => /Cannot spread fragment "A" within itself/.test(m))).toBe(true);
    expect(errors.join(' ')).not.toMatch(/call stack/);
    const self = messages(`{ sites { ...A } } fragment A on Site { id ...A }`);
    expect(self.some((m) => /within itself/.test(m))).toBe(true);
  });

  it('refuses fragments that spread one another into an exponential expansion', () => {
    const defs = Array.from({ length: 30 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join(' ');
    const errors = messages(`{ ...F0 } ${defs} fragment F30 on Query { me { role } }`);
    expect(errors.some((m) => /too (complex|expensive)/.test(m))).toBe(true);
  });

  it('refuses fragments nested past any reasonable depth without recursing without end', () => {
    let q = 'me { role }';
    for (let i = 0; i < 150; i++) q = `... on Query { ${q} }`;
    expect(messages(`{ ${q} }`)[0]).toMatch(/nests fragments more than 100 levels/);
  });
});
