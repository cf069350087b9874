import { CustomScalar, Scalar } from '@nestjs/graphql';
import { GraphQLError, GraphQLScalarType, Kind, ValueNode } from 'graphql';
import { ErrorCode } from '../errors/app-error';
import { parseInstant } from '../time';

function parseDateTime(value: unknown): Date {
  const parsed = parseInstant(value);
  if (!parsed.ok) {
    throw new GraphQLError(`DateTime ${parsed.reason}.`, { extensions: { code: ErrorCode.BAD_USER_INPUT } });
  }
  return parsed.date;
}

/** ISO-8601 timestamps, always answered in UTC. */
@Scalar('DateTime', () => Date)
export class DateTimeScalar implements CustomScalar<string, Date> {
  description = 'An ISO-8601 timestamp with a time zone, e.g. 2026-11-21T09:00:00Z; answered in UTC.';
  parseValue(value: unknown): Date {
    return parseDateTime(value);
  }
  serialize(value: unknown): string {
    const date = value instanceof Date ? value : new Date(String(value));
    return date.toISOString();
  }
  parseLiteral(ast: ValueNode): Date {
    return parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined);
  }
}

function literalToJson(ast: ValueNode, variables?: Record<string, unknown> | null): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literalToJson(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
    default:
      return undefined;
  }
}

/** Arbitrary JSON, e.g. a topology document. */
export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value.',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: (ast, variables) => literalToJson(ast, variables),
});

/** The range of a PostgreSQL bigint, where every BigInt is stored. */
const BIGINT_MAX = 9_223_372_036_854_775_807n;

function parseBigInt(value: unknown): bigint {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : value;
  const parsed = typeof text === 'string' && /^-?\d{1,19}$/.test(text) ? BigInt(text) : null;
  if (parsed === null || parsed > BIGINT_MAX || parsed < -BIGINT_MAX) {
    throw new GraphQLError(
      `BigInt must be a whole number written as a string, at most ${BIGINT_MAX} in size, e.g. "3800000000000"; got ${JSON.stringify(value)?.slice(0, 40)}.`,
      { extensions: { code: ErrorCode.BAD_USER_INPUT } },
    );
  }
  return parsed;
}

/**
 * Whole numbers beyond 2^53 (byte counts) up to 2^63 − 1, exchanged as decimal strings so that no client
 * rounds them.
 * Accepted as a string, or as a number when it is a safe integer.
 */
export const BigIntScalar = new GraphQLScalarType<bigint, string>({
  name: 'BigInt',
  description: 'A whole number as a decimal string, e.g. "3800000000000" (byte counts), at most 9223372036854775807.',
  serialize: (value) => {
    if (typeof value === 'bigint') return value.toString();
    if ((typeof value === 'string' && /^-?\d+$/.test(value)) || (typeof value === 'number' && Number.isSafeInteger(value)))
      return String(value);
    throw new GraphQLError(`BigInt cannot represent ${JSON.stringify(value)}.`);
  },
  parseValue: (value) => parseBigInt(value),
  parseLiteral: (ast) => parseBigInt(ast.kind === Kind.STRING || ast.kind === Kind.INT ? ast.value : undefined),
});
