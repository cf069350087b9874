import * as path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { findRepoRoot, registerStaticBundle } from '../graphiql/graphiql';

/** `<repo>/dist/console`, built by `scripts/build-console.mjs` (part of `npm run build`). */
export const CONSOLE_ASSETS_DIR = path.resolve(findRepoRoot(__dirname), 'dist', 'console');

// Stricter than GraphiQL's: the console writes no inline styles into markup and loads no fonts or workers.
// connect-src 'self' covers the graphql-ws WebSocket to the same host and port.
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The web console at /console; `/` sends a browser there. */
export function registerConsole(app: FastifyInstance, options: { assetsDir: string }): void {
  registerStaticBundle(app, { route: '/console', assetsDir: options.assetsDir, csp: CONSOLE_CSP, label: 'Console' });
  app.get('/', (_request, reply) => reply.redirect('/console', 302));
}
