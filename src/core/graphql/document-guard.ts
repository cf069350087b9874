import type { FastifyInstance } from 'fastify';
import { ErrorCode } from '../errors/app-error';

/** Deepest bracket nesting a GraphQL document may have: far beyond any real query, far below the parser's stack. */
export const MAX_DOCUMENT_NESTING = 200;

/**
 * The deepest nesting of `{`, `[` and `(` in a GraphQL document, outside strings and comments. The parser
 * recurses once per level and overflows the stack at a few thousand, which would otherwise surface as
 * "Maximum call stack size exceeded" instead of a refusal; this scan is linear and cannot overflow.
 */
export function documentNesting(source: string): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '#') {
      while (i < source.length && source[i] !== '\n' && source[i] !== '\r') i++;
    } else if (c === '"') {
      if (source.startsWith('"""', i)) {
        const end = source.indexOf('"""', i + 3);
        i = end < 0 ? source.length : end + 2;
      } else {
        for (i++; i < source.length && source[i] !== '"' && source[i] !== '\n'; i++) if (source[i] === '\\') i++;
      }
    } else if (c === '{' || c === '[' || c === '(') {
      depth += 1;
      if (depth > deepest) deepest = depth;
    } else if (c === '}' || c === ']' || c === ')') {
      depth = Math.max(0, depth - 1);
    }
  }
  return deepest;
}

/**
 * Refuses, before Mercurius parses it, a document nested deeper than MAX_DOCUMENT_NESTING, with the
 * same error shape as any other invalid query (HTTP 400, BAD_USER_INPUT).
 */
export function registerDocumentGuard(fastify: FastifyInstance, route: string): void {
  fastify.addHook('preHandler', async (request, reply) => {
    if (request.routeOptions.url !== route) return;
    const carrier = (request.method === 'GET' ? request.query : request.body) as { query?: unknown } | null | undefined;
    const query = carrier && typeof carrier === 'object' ? carrier.query : undefined;
    if (typeof query !== 'string') return;
    let problem: string | null = null;
    if (documentNesting(query) > MAX_DOCUMENT_NESTING) {
      problem = `The query nests brackets more than ${MAX_DOCUMENT_NESTING} levels deep; no real query does. Flatten it, or pass large values as variables.`;
    } else if (/^\s*\{\s*"/.test(query)) {
      // Mercurius would try such text as a pre-parsed syntax tree, which nothing here validates.
      problem = 'query must be GraphQL text, e.g. "{ me { role } }"; a JSON syntax tree is not accepted.';
    }
    if (!problem) return;
    await reply
      .code(400)
      .send({ data: null, errors: [{ message: problem, extensions: { code: ErrorCode.BAD_USER_INPUT, field: 'query' } }] });
    return reply;
  });
}
