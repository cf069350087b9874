import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError, ErrorCode, httpStatusOf } from './errors/app-error';
import type { AuthService } from '../tenancy/auth.service';

/**
 * Authenticates every GraphQL request before it is parsed: a request without a valid bearer token is
 * answered 401 with an UNAUTHENTICATED GraphQL error and never reaches a resolver.
 */
export function registerAuthentication(fastify: FastifyInstance, auth: AuthService): void {
  fastify.decorateRequest('principal', null);
  fastify.addHook('onRequest', async (request: FastifyRequest, reply) => {
    const path = request.url.split('?')[0];
    if (path !== '/graphql') return;
    // A WebSocket (subscriptions) may authenticate in its connection_init message instead of a header.
    if (request.headers.upgrade?.toLowerCase() === 'websocket' && request.headers.authorization === undefined) return;
    try {
      (request as FastifyRequest & { principal: unknown }).principal = await auth.authenticate(request.headers.authorization);
    } catch (error) {
      const code = error instanceof AppError ? error.code : ErrorCode.INTERNAL;
      const message = error instanceof AppError ? error.message : 'Authentication failed unexpectedly.';
      if (!(error instanceof AppError)) request.log.error({ err: error }, 'authentication error');
      await reply.code(httpStatusOf(code)).send({ data: null, errors: [{ message, extensions: { code } }] });
      return reply;
    }
  });
}
