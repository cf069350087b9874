import { Logger } from '@nestjs/common';
import type { MercuriusDriverConfig } from '@nestjs/mercurius';
import type { FastifyRequest } from 'fastify';
import { ASTVisitor, FragmentDefinitionNode, GraphQLError, SelectionSetNode, ValidationContext, ValidationRule } from 'graphql';
import depthLimit from 'graphql-depth-limit';
import { randomUUID } from 'node:crypto';
import type { AuthService } from '../../tenancy/auth.service';
import type { AppConfig } from '../config/config';
import { AppError, ErrorCode } from '../errors/app-error';

const logger = new Logger('GraphQL');
const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/** What each resolver sees as its context. `principal` was set by the authentication hook. */
export function graphqlContext(request: FastifyRequest): Record<string, unknown> {
  return { principal: (request as FastifyRequest & { principal?: unknown }).principal, loaders: {} };
}

/**
 * Subscriptions over graphql-ws on /graphql. Browsers cannot set headers on a WebSocket, so the token may
 * come as the connection_init payload (`{ "authorization": "Bearer <token>" }`); a token in the upgrade
 * request's Authorization header (checked by the authentication hook) works too. With a wrong token, or
 * none, every subscription on the connection fails with UNAUTHENTICATED and the reason (Mercurius would
 * otherwise close the socket without a code or a word a client could show).
 */
export function subscriptionOptions(auth: AuthService): NonNullable<MercuriusDriverConfig['subscription']> {
  return {
    context: (_socket, request) => ({ principal: (request as FastifyRequest & { principal?: unknown }).principal, loaders: {} }),
    onConnect: async ({ payload }) => {
      const header = payload?.authorization ?? payload?.Authorization;
      if (header === undefined) return true;
      try {
        return { principal: await auth.authenticate(String(header)) };
      } catch (error) {
        if (error instanceof AppError) return { principal: undefined, authError: error };
        throw error;
      }
    },
    keepAlive: 30_000,
  };
}

/**
 * Counts the fields an operation selects, fragments expanded, so a query cannot ask for an unbounded
 * amount of work through aliases or fragment fan-out. Needs no variable values, so the rule runs at
 * validation time and Mercurius can cache validated queries.
 */
export function fieldCountRule(maximum: number): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const definition of context.getDocument().definitions) {
      if (definition.kind === 'FragmentDefinition') fragments.set(definition.name.value, definition);
    }
    const count = (set: SelectionSetNode | undefined, seen: ReadonlySet<string>): number => {
      let total = 0;
      for (const selection of set?.selections ?? []) {
        if (total > maximum) break;
        if (selection.kind === 'Field') total += 1 + count(selection.selectionSet, seen);
        else if (selection.kind === 'InlineFragment') total += count(selection.selectionSet, seen);
        else if (!seen.has(selection.name.value)) {
          const fragment = fragments.get(selection.name.value);
          total += count(fragment?.selectionSet, new Set([...seen, selection.name.value]));
        }
      }
      return total;
    };
    return {
      OperationDefinition(node) {
        const fields = count(node.selectionSet, new Set());
        if (fields > maximum) {
          context.reportError(
            new GraphQLError(
              `Query is too complex: it selects more than ${maximum} fields; ask for fewer fields or page through lists.`,
              { nodes: [node], extensions: { code: ErrorCode.BAD_USER_INPUT } },
            ),
          );
        }
      },
    };
  };
}

/** Depth and complexity limits, as validation rules (array form, so Mercurius can cache validated queries). */
export function protectionRules(config: AppConfig): ValidationRule[] {
  return [depthLimit(config.maxQueryDepth) as unknown as ValidationRule, fieldCountRule(config.maxQueryComplexity)];
}

/**
 * Every error leaves with one code of the closed set: errors raised before execution (syntax, validation,
 * variable coercion) are BAD_USER_INPUT; anything unexpected becomes INTERNAL with a reference to the log
 * line, never a stack trace or a driver message.
 */
export const errorFormatter: NonNullable<MercuriusDriverConfig['errorFormatter']> = (execution) => {
  // Mercurius wraps validation failures in one error that carries the individual ones.
  const errors = execution.errors
    .flatMap((error) => {
      const inner = (error.originalError as { errors?: unknown } | undefined)?.errors;
      return Array.isArray(inner) ? (inner as GraphQLError[]) : [error];
    })
    .map((error) => normalise(error instanceof GraphQLError ? error : new GraphQLError(String((error as Error).message))));
  const beforeExecution = execution.data === undefined || execution.data === null
    ? errors.every((e) => !e.path)
    : false;
  const statusCode = beforeExecution && errors.some((e) => e.extensions.code === ErrorCode.BAD_USER_INPUT) ? 400 : 200;
  return {
    statusCode,
    response: { data: execution.data ?? null, errors: errors.map((e) => e.toJSON()) },
  };
};

function normalise(error: GraphQLError): GraphQLError {
  const original = error.originalError as (Error & { extensions?: Record<string, unknown> }) | undefined;
  const code = (error.extensions?.code ?? original?.extensions?.code) as string | undefined;
  if (code && KNOWN_CODES.has(code)) {
    return new GraphQLError(error.message, {
      path: error.path,
      nodes: error.nodes,
      extensions: { ...(original?.extensions ?? {}), ...error.extensions, code },
    });
  }
  if (!error.path) {
    return new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: ErrorCode.BAD_USER_INPUT } });
  }
  const reference = randomUUID();
  logger.error({ err: original ?? error, reference, path: error.path }, 'unexpected error in resolver');
  return new GraphQLError(`Internal error; quote reference ${reference} to the operator.`, {
    path: error.path,
    extensions: { code: ErrorCode.INTERNAL, reference },
  });
}
