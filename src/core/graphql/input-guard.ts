import {
  DocumentNode,
  getNullableType,
  GraphQLInputType,
  GraphQLSchema,
  isEnumType,
  isInputObjectType,
  isListType,
  isScalarType,
  Kind,
  TypeInfo,
  valueFromASTUntyped,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import { badInput } from '../errors/app-error';
import { isUuid } from '../ids';

/**
 * Bounds every GraphQL argument must respect, whatever the field. A capability narrows them where its
 * domain asks for less (a name of 200 characters, a cluster of 1,024 nodes); none may allow more.
 */
export const INPUT_BOUNDS = {
  /** Characters in any string, including strings inside JSON arguments. */
  maxStringLength: 4096,
  /** Items in any list, including arrays inside JSON arguments. */
  maxListLength: 10_000,
  /** Nesting of objects and arrays inside a JSON argument. */
  maxJsonDepth: 32,
  /** Keys of one object inside a JSON argument. */
  maxJsonKeys: 1000,
  /** Page size of any `first` argument; each list states its own, lower maximum. */
  maxPageSize: 1000,
} as const;

/**
 * Arguments whose items the capability validates one by one, refusing bad items by index and keeping the
 * good ones (`recordUsage(events)`: one bad event must not lose the batch). The guard checks only their
 * length; keys are `<field>.<argument>`.
 */
const itemValidated = new Map<string, string>();

/** Declares that `<field>(<argument>)` validates each of its items itself; `why` is for the reader. */
export function validatesItemsItself(field: string, argument: string, why: string): void {
  itemValidated.set(`${field}.${argument}`, why);
}

/** A lone UTF-16 surrogate: not a character; PostgreSQL refuses it in JSON and mangles it in text. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why a string cannot be stored as text, or null. */
export function textProblem(value: string, maxLength: number = INPUT_BOUNDS.maxStringLength): string | null {
  if (value.length > maxLength) return `is ${value.length} characters long; the limit is ${maxLength}`;
  if (value.includes('\u0000')) return 'contains a NUL character (\\u0000), which text cannot hold; remove it';
  if (LONE_SURROGATE.test(value)) return 'contains a lone UTF-16 surrogate, which is not a character; send valid Unicode';
  return null;
}

/** Why a JSON value breaks the bounds, with the path to the offending part, or null. */
function jsonProblem(value: unknown, path: string, depth = 0): { path: string; reason: string } | null {
  if (typeof value === 'string') {
    const reason = textProblem(value);
    return reason ? { path, reason } : null;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? null : { path, reason: 'must be a finite number' };
  if (value === null || typeof value !== 'object') return null;
  if (depth >= INPUT_BOUNDS.maxJsonDepth) return { path, reason: `nests deeper than ${INPUT_BOUNDS.maxJsonDepth} levels` };
  if (Array.isArray(value)) {
    if (value.length > INPUT_BOUNDS.maxListLength)
      return { path, reason: `has ${value.length} items; the limit is ${INPUT_BOUNDS.maxListLength}` };
    for (let i = 0; i < value.length; i++) {
      const problem = jsonProblem(value[i], `${path}[${i}]`, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  const keys = Object.keys(value);
  if (keys.length > INPUT_BOUNDS.maxJsonKeys) return { path, reason: `has ${keys.length} keys; the limit is ${INPUT_BOUNDS.maxJsonKeys}` };
  for (const key of keys) {
    const keyReason = textProblem(key, 200);
    if (keyReason) return { path, reason: `has a key that ${keyReason}` };
    const problem = jsonProblem((value as Record<string, unknown>)[key], `${path}.${key}`, depth + 1);
    if (problem) return problem;
  }
  return null;
}

/** Checks one argument value (as the client sent it) against its declared type. */
function check(value: unknown, type: GraphQLInputType, path: string): { path: string; reason: string } | null {
  if (value === null || value === undefined) return null;
  const nullable = getNullableType(type);
  if (isListType(nullable)) {
    if (!Array.isArray(value)) return check(value, nullable.ofType, path);
    if (value.length > INPUT_BOUNDS.maxListLength)
      return { path, reason: `has ${value.length} items; the limit is ${INPUT_BOUNDS.maxListLength}` };
    for (let i = 0; i < value.length; i++) {
      const problem = check(value[i], nullable.ofType, `${path}[${i}]`);
      if (problem) return problem;
    }
    return null;
  }
  if (isInputObjectType(nullable)) {
    if (typeof value !== 'object' || Array.isArray(value)) return null; // graphql-js refuses it with its own message
    const fields = nullable.getFields();
    for (const [name, field] of Object.entries(fields)) {
      const problem = check((value as Record<string, unknown>)[name], field.type, `${path}.${name}`);
      if (problem) return problem;
    }
    return null;
  }
  if (isEnumType(nullable)) return null;
  if (isScalarType(nullable)) {
    if (nullable.name === 'ID') {
      if (typeof value === 'string' && !isUuid(value)) {
        return { path, reason: `must be an id this service issued (a UUID such as 0b6e1c7a-…); got ${JSON.stringify(value.slice(0, 80))}` };
      }
      if (typeof value === 'number') return { path, reason: 'must be an id this service issued (a UUID), as a string' };
      return null;
    }
    if (nullable.name === 'JSON') return jsonProblem(value, path);
    if (typeof value === 'string') {
      const reason = textProblem(value);
      if (reason) return { path, reason };
    }
    // Coerce here, as execution will, so that a value the scalar refuses (a DateTime that is not a day of
    // the calendar, a BigInt beyond bigint) is reported against the argument it was given for.
    try {
      nullable.parseValue(value);
    } catch (error) {
      return { path, reason: `is not a valid ${nullable.name}: ${(error as Error).message.replace(/\.$/, '')}` };
    }
  }
  return null;
}

/**
 * Refuses, before any resolver runs, an operation whose arguments break the bounds every input has:
 * strings without NUL characters or lone surrogates and at most INPUT_BOUNDS.maxStringLength long, lists
 * of at most maxListLength, JSON nested at most maxJsonDepth deep, ids that are UUIDs. Such values would
 * otherwise reach PostgreSQL and fail there as an internal error, or be stored without limit. The error is
 * BAD_USER_INPUT naming the argument (`input.nodes[3].name`) and what to do; nothing has run.
 */
export function checkOperationInputs(
  schema: GraphQLSchema,
  document: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
): void {
  const typeInfo = new TypeInfo(schema);
  // Written by the visitor below; a holder object, since narrowing cannot see writes made inside callbacks.
  const found: { failure: { path: string; reason: string } | null } = { failure: null };
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Argument(node) {
        if (found.failure) return;
        const argument = typeInfo.getArgument();
        if (!argument) return;
        const itemsChecked = itemValidated.has(`${typeInfo.getFieldDef()?.name}.${argument.name}`);
        const value =
          node.value.kind === Kind.VARIABLE ? variables?.[node.value.name.value] : valueFromASTUntyped(node.value, variables ?? undefined);
        if (node.name.value === 'first' && typeof value === 'number' && (value < 1 || value > INPUT_BOUNDS.maxPageSize)) {
          found.failure = { path: 'first', reason: `must be between 1 and ${INPUT_BOUNDS.maxPageSize} (each list states its own maximum)` };
          return;
        }
        if (itemsChecked) {
          if (Array.isArray(value) && value.length > INPUT_BOUNDS.maxListLength) {
            found.failure = { path: node.name.value, reason: `has ${value.length} items; the limit is ${INPUT_BOUNDS.maxListLength}` };
          }
          return;
        }
        found.failure = check(value, argument.type, node.name.value);
      },
    }),
  );
  if (found.failure) {
    const { path, reason } = found.failure;
    throw badInput(path, `${path} ${reason}.`);
  }
}
