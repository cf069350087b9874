import { Logger } from '@nestjs/common';
import type { MercuriusDriverConfig } from '@nestjs/mercurius';
import type { FastifyRequest } from 'fastify';
import { DocumentNode, GraphQLError, GraphQLSchema, specifiedRules, validate, ValidationRule } from 'graphql';
import { checkOperationInputs } from './input-guard';
import { randomUUID } from 'node:crypto';
import type { Authenticator } from '../authentication';
import type { AppConfig } from '../config/config';
import { AppError, databaseRefusal, ErrorCode } from '../errors/app-error';
import { documentCost, queryCostRule } from './query-cost';
import type { FairShare } from './fair-share';
import { BUDGET_EXCEEDED } from './request-budget';

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
 * otherwise close the socket without a code or a word a client could show). The socket is in the context so
 * that revoking the key closes it (ApiKeySessions).
 */
export function subscriptionOptions(auth: Authenticator): NonNullable<MercuriusDriverConfig['subscription']> {
  return {
    context: (socket, request) => ({ principal: (request as FastifyRequest & { principal?: unknown }).principal, loaders: {}, socket }),
    onConnect: async ({ payload }) => {
      const init = payload as { authorization?: unknown; Authorization?: unknown } | undefined;
      const header = init?.authorization ?? init?.Authorization;
      if (header === undefined) return true;
      try {
        return { principal: await auth.authenticate(typeof header === 'string' ? header : '') };
      } catch (error) {
        if (error instanceof AppError) return { principal: undefined, authError: error };
        throw error;
      }
    },
    keepAlive: 30_000,
    // Queries and mutations sent over the socket reach GraphQL execution, where refuseOperationsOverWebSocket
    // answers them with a clear error (they are served over HTTP only).
    fullWsTransport: true,
  };
}

/**
 * Subscriptions over the WebSocket reach execution without Mercurius validating them: run the same rules
 * (graphql-js's own, depth, cost) and the input guard before one starts.
 */
export function validateSubscription(config: AppConfig): (schema: GraphQLSchema, document: DocumentNode) => void {
  const rules = [...specifiedRules, ...protectionRules(config)];
  return (schema, document) => {
    const [first] = validate(schema, document, rules);
    if (first) throw new GraphQLError(first.message, { extensions: { code: ErrorCode.BAD_USER_INPUT } });
    checkOperationInputs(schema, document, undefined);
  };
}

/**
 * Mercurius preExecution hook: the input guard on the operation's variables, then the caller's fair share of
 * execution (see fair-share.ts).
 */
export function beforeExecution(config: AppConfig, fairShare: FairShare) {
  const limits = { maxDepth: config.maxQueryDepth, maxFields: config.maxQueryComplexity, maxCost: config.maxQueryCost };
  return async (
    schema: GraphQLSchema,
    document: DocumentNode,
    context: unknown,
    variables: Record<string, unknown> | undefined,
  ): Promise<void> => {
    checkOperationInputs(schema, document, variables);
    const { principal } = context as { principal?: { keyId: string | null; actor: string } };
    if (principal) await fairShare.acquire(principal.keyId ?? principal.actor, documentCost(schema, document, limits));
  };
}

/** Tokens a GraphQL document may have: thousands of fields' worth; large values belong in variables. */
export const MAX_DOCUMENT_TOKENS = 50_000;

/** Depth and cost limits, as validation rules (array form, so Mercurius can cache validated queries). */
export function protectionRules(config: AppConfig): ValidationRule[] {
  return [queryCostRule({ maxDepth: config.maxQueryDepth, maxFields: config.maxQueryComplexity, maxCost: config.maxQueryCost })];
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
  // A request stopped by its time budget fails every field still pending: answer that once, without the
  // partial data (a list of thousands of identical errors helps no one).
  const stopped = errors.find((e) => e.extensions.reason === BUDGET_EXCEEDED);
  if (stopped) {
    const { message, extensions } = stopped;
    return { statusCode: 400, response: { data: null, errors: [{ message, extensions }] } };
  }
  const beforeExecution = execution.data === undefined || execution.data === null ? errors.every((e) => !e.path) : false;
  const statusCode = beforeExecution && errors.some((e) => e.extensions.code === ErrorCode.BAD_USER_INPUT) ? 400 : 200;
  return {
    statusCode,
    response: { data: execution.data ?? null, errors: errors.map((e) => e.toJSON()) },
  };
};

/**
 * The field of a variable graphql-js could not coerce, from its message (`Variable "$input" got invalid
 * value … at "input.start"; …`): the variable's path, which names the argument when the variable does.
 */
function variableField(error: GraphQLError): { field?: string } {
  if (error.path) return {};
  const match = /^Variable "\$([A-Za-z_][A-Za-z0-9_]*)" got invalid value .*?(?: at "([^"]+)")?;/s.exec(error.message);
  return match ? { field: match[2] ?? match[1] } : {};
}

function normalise(error: GraphQLError): GraphQLError {
  const original = error.originalError;
  const originalExtensions = (original as { extensions?: Record<string, unknown> } | undefined)?.extensions;
  const code = (error.extensions?.code ?? originalExtensions?.code) as string | undefined;
  if (code && KNOWN_CODES.has(code)) {
    return new GraphQLError(error.message, {
      path: error.path,
      nodes: error.nodes,
      extensions: { ...variableField(error), ...(originalExtensions ?? {}), ...error.extensions, code },
    });
  }
  // A rule the database enforces refused the write: an answer, not an incident.
  const refusal = databaseRefusal(original);
  if (refusal) return new GraphQLError(refusal.message, { path: error.path, nodes: error.nodes, extensions: refusal.extensions });
  if (!error.path) {
    return new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: ErrorCode.BAD_USER_INPUT, ...variableField(error) } });
  }
  const reference = randomUUID();
  logger.error({ err: original ?? error, reference, path: error.path }, 'unexpected error in resolver');
  return new GraphQLError(`Internal error; quote reference ${reference} to the operator.`, {
    path: error.path,
    extensions: { code: ErrorCode.INTERNAL, reference },
  });
}
