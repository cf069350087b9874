import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * Self-hosted GraphiQL console. Mercurius' built-in one pulls React and GraphiQL
 * from a CDN, which is unreachable in the air-gapped data centers we run in; the
 * bundle is produced by `scripts/build-graphiql.mjs` (part of `npm run build`).
 */

export function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    // tsc copies package.json into its outDir when it is imported, so dist/ itself is never the root.
    if (path.basename(dir) !== 'dist' && existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}

/** `<repo>/dist/graphiql`, whether running from `dist/src/...` or from `src/...` under jest. */
export const GRAPHIQL_ASSETS_DIR = path.resolve(findRepoRoot(__dirname), 'dist', 'graphiql');

// Everything the page loads comes from this origin; data: covers the fonts and icons
// esbuild inlined; 'unsafe-inline' styles are needed for the page's <style> and for
// the style attributes CodeMirror and GraphiQL's resizable panes write.
const CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "style-src 'self' 'unsafe-inline'",
  "font-src 'self' data:",
  "script-src 'self'",
  "connect-src 'self'",
  "worker-src 'self' blob:",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
};

// Only plain file names are ever looked up, so "..", "/" and "\" can never reach the filesystem.
const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

interface Asset {
  body: Buffer;
  type: string;
}

function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(dir)) return assets;
  for (const name of readdirSync(dir)) {
    const type = CONTENT_TYPES[path.extname(name).toLowerCase()];
    const file = path.join(dir, name);
    if (!type || !SAFE_NAME.test(name) || !statSync(file).isFile()) continue;
    assets.set(name, { body: readFileSync(file), type });
  }
  return assets;
}

export interface StaticBundle {
  /** The page's path; its files are served under `<route>/<file>`. */
  route: string;
  assetsDir: string;
  /** Content-Security-Policy of the page. */
  csp: string;
  /** What the bundle is, for the answer given while it is missing. */
  label: string;
}

/**
 * Serves a browser bundle built into `dist/`: the page (with its CSP, revalidated on every load) at `route`,
 * its files at `route/:file`. The routes must be listed in PUBLIC_ROUTES: the page holds no data, and every
 * call it makes to the API carries the user's token.
 */
export function registerStaticBundle(app: FastifyInstance, bundle: StaticBundle): void {
  let assets = loadAssets(bundle.assetsDir);
  // Re-read while the bundle is absent, so building after start-up fixes the page without a restart.
  const current = (): Map<string, Asset> => {
    if (!assets.has('index.html')) assets = loadAssets(bundle.assetsDir);
    return assets;
  };

  const send = (reply: FastifyReply, asset: Asset, html: boolean): FastifyReply => {
    reply.header('content-type', asset.type).header('x-content-type-options', 'nosniff');
    if (html) {
      // Unhashed asset names: the page must be revalidated so it never pairs with a stale bundle for long.
      reply.header('content-security-policy', bundle.csp).header('cache-control', 'no-cache').header('referrer-policy', 'no-referrer');
    } else {
      reply.header('cache-control', 'public, max-age=3600');
    }
    return reply.send(asset.body);
  };

  const sendIndex = (reply: FastifyReply): FastifyReply => {
    const index = current().get('index.html');
    if (index) return send(reply, index, true);
    return reply
      .code(503)
      .header('content-type', 'text/plain; charset=utf-8')
      .send(`${bundle.label} assets are missing from ${bundle.assetsDir}; run \`npm run build\` on the server.\n`);
  };

  app.get(bundle.route, (_request, reply) => sendIndex(reply));

  app.get<{ Params: { file: string } }>(`${bundle.route}/:file`, (request, reply) => {
    const file = request.params.file;
    if (file === '' || file === 'index.html') return sendIndex(reply);
    const asset = SAFE_NAME.test(file) ? current().get(file) : undefined;
    // The app's own 404 handler keeps error bodies consistent with every other route.
    if (!asset) return reply.callNotFound();
    return send(reply, asset, false);
  });
}

export function registerGraphiql(app: FastifyInstance, options: { assetsDir: string }): void {
  registerStaticBundle(app, { route: '/graphiql', assetsDir: options.assetsDir, csp: CSP, label: 'GraphiQL' });
}
