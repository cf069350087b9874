import {
  ASTVisitor,
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  getNamedType,
  getNullableType,
  GraphQLError,
  GraphQLField,
  GraphQLNamedType,
  GraphQLSchema,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  OperationDefinitionNode,
  SelectionSetNode,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  ValidationContext,
  ValidationRule,
} from 'graphql';
import { ErrorCode } from '../errors/app-error';

export interface QueryCostLimits {
  /** Deepest nesting of fields accepted. */
  readonly maxDepth: number;
  /** Most fields the operation may select as written, fragments expanded, lists not multiplied. */
  readonly maxFields: number;
  /** Highest cost accepted; see queryCostRule. */
  readonly maxCost: number;
}

/** How many items a list without a `first` argument is assumed to hold. */
export const ASSUMED_LIST_SIZE = 10;
/** The page size of a `first` argument given by a variable: the largest any page may be. */
export const ASSUMED_VARIABLE_PAGE_SIZE = 100;
/** A `first` argument left out: the usual default page. */
export const ASSUMED_DEFAULT_PAGE_SIZE = 20;

/** Deepest nesting of selections of any kind (fields, inline fragments, spreads) before it is refused. */
const MAX_NESTING = 100;

/** Introspection fields of __Type that return lists of types or fields: nesting them multiplies output. */
const TYPE_LISTS = new Set(['fields', 'inputFields', 'interfaces', 'possibleTypes', 'enumValues']);

class Refusal extends Error {}

/**
 * Prices an operation before it runs, so that no request can ask for an unbounded amount of work, and
 * checks its depth and its size as written (fields selected, fragments expanded, so aliases cannot
 * repeat one expensive field thousands of times). Every field costs 1; a list multiplies the cost of what it selects by its size: the
 * value of its `first` argument (a variable counts as the largest page, ASSUMED_VARIABLE_PAGE_SIZE), or
 * ASSUMED_LIST_SIZE for lists that take no `first`. A paged field (one with `first`) is counted once, at
 * the field that takes `first`, not again at its `edges`. `sites { endpoints { site { endpoints … } } }`
 * therefore grows tenfold per level and is refused long before it could run for seconds.
 *
 * Introspection is bounded by the schema's size as long as type lists are not nested inside one another
 * (`__type { fields { type { fields … } } }` multiplies); such nesting is refused, the standard
 * introspection query passes. Fragment cycles are left to graphql-js's own rule: here a cycle counts
 * nothing, so the rule never recurses without end. Needs no variable values, so it runs at validation
 * time and Mercurius can cache validated queries.
 */
export function queryCostRule(limits: QueryCostLimits): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const schema = context.getSchema();
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
    }
    return {
      OperationDefinition(node) {
        const priced = priceOperation(schema, fragments, node, limits);
        if (typeof priced === 'string')
          context.reportError(new GraphQLError(priced, { nodes: [node], extensions: { code: ErrorCode.BAD_USER_INPUT } }));
      },
    };
  };
}

function rootType(schema: GraphQLSchema, operation: OperationDefinitionNode): GraphQLNamedType | null | undefined {
  if (operation.operation === 'query') return schema.getQueryType();
  if (operation.operation === 'mutation') return schema.getMutationType();
  return schema.getSubscriptionType();
}

/** The cost of an operation (see queryCostRule), or the reason it is refused. */
export function priceOperation(
  schema: GraphQLSchema,
  fragments: ReadonlyMap<string, FragmentDefinitionNode>,
  operation: OperationDefinitionNode,
  limits: QueryCostLimits,
): number | string {
  try {
    return new OperationPricer(schema, fragments, limits).cost(operation.selectionSet, rootType(schema, operation), {
      depth: 0,
      spreads: new Set(),
      introspection: { inside: false, typeListAbove: false },
      insidePage: false,
      nesting: 0,
    });
  } catch (error) {
    if (error instanceof Refusal) return error.message;
    throw error;
  }
}

/** Where a selection set sits: how deep, inside which fragments, inside introspection, inside a page. */
interface Position {
  readonly depth: number;
  readonly spreads: ReadonlySet<string>;
  readonly introspection: { readonly inside: boolean; readonly typeListAbove: boolean };
  /** The set is the object a paged field returned. */
  readonly insidePage: boolean;
  /** Selections of any kind above it. */
  readonly nesting: number;
}

function fieldOf(parent: GraphQLNamedType | null | undefined, name: string): GraphQLField<unknown, unknown> | undefined {
  if (name === '__schema') return SchemaMetaFieldDef;
  if (name === '__type') return TypeMetaFieldDef;
  if (parent && (isObjectType(parent) || isInterfaceType(parent))) return parent.getFields()[name];
  return undefined;
}

/** How many times a field's selections count: its page size, or the assumed size of a list, or once. */
function multiplier(field: FieldNode, definition: GraphQLField<unknown, unknown>): { size: number; paged: boolean } {
  const first = definition.args.find((a) => a.name === 'first');
  if (first) {
    const given = field.arguments?.find((a) => a.name.value === 'first');
    if (!given) return { size: typeof first.defaultValue === 'number' ? first.defaultValue : ASSUMED_DEFAULT_PAGE_SIZE, paged: true };
    if (given.value.kind === Kind.INT) return { size: Math.max(0, Number(given.value.value)), paged: true };
    return { size: ASSUMED_VARIABLE_PAGE_SIZE, paged: true };
  }
  return { size: isListType(getNullableType(definition.type)) ? ASSUMED_LIST_SIZE : 1, paged: false };
}

/** One operation's pricing; throws a Refusal as soon as a limit is passed. */
class OperationPricer {
  // Work counts every selection visited, fragment spreads included, so that fragments spreading others
  // many times over (cheap fields, exponential expansion) are refused without being expanded in full.
  private work = 0;
  private readonly maxWork: number;
  private fields = 0;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>,
    private readonly limits: QueryCostLimits,
  ) {
    this.maxWork = limits.maxCost * 10;
  }

  /** Cost of a selection set under `parent`. */
  cost(set: SelectionSetNode | undefined, parent: GraphQLNamedType | null | undefined, at: Position): number {
    if (at.nesting > MAX_NESTING) throw new Refusal(`Query nests fragments more than ${MAX_NESTING} levels deep; flatten it.`);
    const { limits } = this;
    let total = 0;
    for (const selection of set?.selections ?? []) {
      if (++this.work > this.maxWork)
        throw new Refusal(
          `Query is too complex: its fragments expand into more than ${this.maxWork} selections; write the fields out once.`,
        );
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? this.schema.getType(selection.typeCondition.name.value) : parent;
        total += this.cost(selection.selectionSet, type, { ...at, nesting: at.nesting + 1 });
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const name = selection.name.value;
        const fragment = this.fragments.get(name);
        if (!fragment || at.spreads.has(name)) continue;
        const type = this.schema.getType(fragment.typeCondition.name.value);
        total += this.cost(fragment.selectionSet, type, { ...at, spreads: new Set([...at.spreads, name]), nesting: at.nesting + 1 });
      } else {
        total += this.fieldCost(selection, parent, at);
      }
      if (total > limits.maxCost) {
        throw new Refusal(
          `Query is too expensive: it could return more than ${limits.maxCost} fields (each list counts its page size, ` +
            `or ${ASSUMED_LIST_SIZE} items, times what it selects); ask for fewer nested lists or smaller pages (first).`,
        );
      }
    }
    return total;
  }

  /** A field costs 1, plus what it selects times its multiplier. */
  private fieldCost(selection: FieldNode, parent: GraphQLNamedType | null | undefined, at: Position): number {
    const { limits } = this;
    const name = selection.name.value;
    if (++this.fields > limits.maxFields) {
      throw new Refusal(
        `Query is too complex: it selects more than ${limits.maxFields} fields; ask for fewer fields or page through lists.`,
      );
    }
    if (!selection.selectionSet) return 1;
    // Introspection nests ofType a dozen levels to describe wrapped types; its size is bounded by the
    // schema (and the type-list rule below), not by depth.
    const introspecting = at.introspection.inside || name === '__schema' || name === '__type';
    if (!introspecting && at.depth + 1 > limits.maxDepth) {
      throw new Refusal(`Query is too deep: its depth exceeds ${limits.maxDepth} levels (${name} is deeper); ask for less nesting.`);
    }
    const definition = fieldOf(parent, name);
    const child = definition ? getNamedType(definition.type) : undefined;
    let introspection = at.introspection;
    let size = 1;
    let paged = false;
    if (introspecting) {
      const typeList = parent?.name === '__Type' && TYPE_LISTS.has(name);
      if (typeList && at.introspection.typeListAbove) {
        throw new Refusal(
          `Introspection may not nest type lists: ${name} is selected inside another type's fields, interfaces or possible types.`,
        );
      }
      introspection = { inside: true, typeListAbove: at.introspection.typeListAbove || typeList };
    } else if (definition) {
      ({ size, paged } = multiplier(selection, definition));
      // The page was counted at the field that takes `first`; its edges are that page, not another list.
      if (at.insidePage && !paged && size === ASSUMED_LIST_SIZE) size = 1;
    }
    const below = { depth: at.depth + 1, spreads: at.spreads, introspection, insidePage: paged, nesting: at.nesting + 1 };
    return 1 + size * this.cost(selection.selectionSet, child, below);
  }
}

const documentCosts = new WeakMap<DocumentNode, number>();

/**
 * What running a validated document may cost, summed over its operations; remembered per document, which
 * Mercurius keeps parsed for repeated queries. Refusals cannot happen here (validation ran first); a
 * document that would be refused counts as the limit.
 */
export function documentCost(schema: GraphQLSchema, document: DocumentNode, limits: QueryCostLimits): number {
  const known = documentCosts.get(document);
  if (known !== undefined) return known;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  let total = 0;
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
    const priced = priceOperation(schema, fragments, definition, limits);
    total += typeof priced === 'number' ? priced : limits.maxCost;
  }
  documentCosts.set(document, total);
  return total;
}
