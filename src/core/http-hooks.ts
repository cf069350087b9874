import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, ErrorCode, httpStatusOf } from './errors/app-error';
import type { Authenticator } from './authentication';

/**
 * The routes anyone may call without a token, by the route pattern the router matched: liveness and
 * readiness, Prometheus counts (never tenant data), the web console's and GraphiQL's static files (the pages
 * hold no data; their API calls carry the user's token), the mount CA's certificate and CRL (public by design,
 * RFC 5280), and the public key of the audit checkpoints. Everything else needs a valid bearer token.
 */
export const PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  '/health',
  '/metrics',
  '/',
  '/console',
  '/console/:file',
  '/graphiql',
  '/graphiql/:file',
  '/pki/ca.pem',
  '/pki/crl',
  '/pki/crl.pem',
  '/audit/checkpoint-key.pem',
]);

/** The GraphQL route, where a WebSocket may authenticate in its connection_init message instead. */
const GRAPHQL_ROUTE = '/graphql';

/**
 * Authenticates every request before its handler runs: a request without a valid bearer token is answered
 * 401 with an UNAUTHENTICATED error and never reaches a resolver or controller.
 *
 * The decision rests on the route the router matched (`routeOptions.url`, the registered pattern), never
 * on the raw URL: the router decodes percent-escapes and strips query strings, so `/%67raphql` reaches the
 * GraphQL route and must be authenticated as `/graphql` is. Public access is an allow-list; a route added
 * later is protected unless it is listed above. A request that matches no route gets the router's 404.
 */
export function registerAuthentication(fastify: FastifyInstance, auth: Authenticator): void {
  fastify.decorateRequest('principal', null);
  fastify.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const route = request.routeOptions.url;
    if (route === undefined || PUBLIC_ROUTES.has(route)) return;
    // A WebSocket (subscriptions) may authenticate in its connection_init message instead of a header.
    if (route === GRAPHQL_ROUTE && request.headers.upgrade?.toLowerCase() === 'websocket' && request.headers.authorization === undefined) {
      return;
    }
    try {
      (request as FastifyRequest & { principal: unknown }).principal = await auth.authenticate(request.headers.authorization);
    } catch (error) {
      const code = error instanceof AppError ? error.code : ErrorCode.INTERNAL;
      const message = error instanceof AppError ? error.message : 'Authentication failed unexpectedly.';
      if (!(error instanceof AppError)) request.log.error({ err: error }, 'authentication error');
      // GraphQL clients read `errors`; the other routes answer errors as { error: { code, message } }.
      const body = route === GRAPHQL_ROUTE ? { data: null, errors: [{ message, extensions: { code } }] } : { error: { code, message } };
      await reply.code(httpStatusOf(code)).send(body);
      return reply;
    }
  });
}
