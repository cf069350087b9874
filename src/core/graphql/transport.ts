import type { FastifyInstance, FastifyRequest } from 'fastify';
import { getOperationAST, GraphQLError, parse, type OperationTypeNode } from 'graphql';
import type { preParsingHookHandler } from 'mercurius';
import { ErrorCode } from '../errors/app-error';
import { MAX_DOCUMENT_TOKENS } from './graphql-options';

/**
 * Each GraphQL operation kind has one transport: queries go by GET or POST /graphql, mutations by POST,
 * subscriptions over the graphql-ws WebSocket on /graphql. An operation sent another way is refused with
 * BAD_USER_INPUT saying where to send it, before any resolver runs: over HTTP, a subscription would
 * otherwise be executed once as a query (and fail with nonsense), and Mercurius's own refusals name neither
 * the way nor a code.
 */
export const WRONG_TRANSPORT = {
  subscriptionOverHttp:
    'Subscriptions are not served over HTTP: open a WebSocket to /graphql (graphql-ws, subprotocol graphql-transport-ws) ' +
    'and send the token as the connection_init payload { "authorization": "Bearer <token>" }.',
  mutationOverGet:
    'GET /graphql runs queries only: send a mutation with POST /graphql and the operation in a JSON body { "query": ..., "variables": ... }.',
  operationOverWebSocket:
    'The WebSocket on /graphql serves subscriptions only: send queries and mutations with POST /graphql ' +
    'and the header Authorization: Bearer <token>.',
} as const;

/** Cheap test first: an operation of that kind cannot be written without the keyword. */
const MAY_NEED_OTHER_TRANSPORT = { GET: /\b(?:subscription|mutation)\b/, POST: /\bsubscription\b/ } as const;

interface OperationRequest {
  query?: unknown;
  operationName?: unknown;
}

/** The kind of the operation a request asks to run, or null if that is not clear (Mercurius then reports why). */
function operationKind(request: OperationRequest): OperationTypeNode | null {
  if (typeof request.query !== 'string') return null;
  const operationName = typeof request.operationName === 'string' && request.operationName !== '' ? request.operationName : undefined;
  try {
    return getOperationAST(parse(request.query, { maxTokens: MAX_DOCUMENT_TOKENS }), operationName)?.operation ?? null;
  } catch {
    return null;
  }
}

/**
 * Refuses, over HTTP, subscriptions (GET and POST) and mutations by GET, before Mercurius reads them. Keyed
 * on the route the router matched, so a percent-escaped path to it is checked too.
 */
export function registerGraphqlTransportCheck(fastify: FastifyInstance, route: string): void {
  fastify.addHook('preHandler', async (request: FastifyRequest, reply) => {
    if (request.routeOptions.url !== route || request.headers.upgrade !== undefined) return;
    const method = request.method;
    if (method !== 'GET' && method !== 'POST') return;
    const operation = (method === 'GET' ? request.query : request.body) as OperationRequest | null;
    if (typeof operation?.query !== 'string' || !MAY_NEED_OTHER_TRANSPORT[method].test(operation.query)) return;
    const kind = operationKind(operation);
    const message =
      kind === 'subscription'
        ? WRONG_TRANSPORT.subscriptionOverHttp
        : kind === 'mutation' && method === 'GET'
          ? WRONG_TRANSPORT.mutationOverGet
          : null;
    if (message === null) return;
    await reply.code(400).send({ data: null, errors: [{ message, extensions: { code: ErrorCode.BAD_USER_INPUT } }] });
    return reply;
  });
}

/**
 * Mercurius hook (preParsing) refusing queries and mutations that arrive over the WebSocket. Mercurius hands
 * them to GraphQL execution only with `fullWsTransport` (see subscriptionOptions), so that they reach this
 * hook and get a clear error; otherwise it answers "Invalid operation" without a code. Subscriptions over
 * the WebSocket never pass here.
 */
export const refuseOperationsOverWebSocket: preParsingHookHandler = async (_schema, _source, context) => {
  if ((context as { socket?: unknown }).socket !== undefined) {
    throw new GraphQLError(WRONG_TRANSPORT.operationOverWebSocket, { extensions: { code: ErrorCode.BAD_USER_INPUT } });
  }
};
