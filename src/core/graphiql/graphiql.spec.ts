import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { GRAPHIQL_ASSETS_DIR, registerGraphiql } from './graphiql';

const REPO_ROOT = path.resolve(GRAPHIQL_ASSETS_DIR, '..', '..');

function attr(tag: string, name: string): string | undefined {
  return new RegExp(`\\s${name}\\s*=\\s*["']([^"']*)["']`, 'i').exec(tag)?.[1];
}

describe('registerGraphiql', () => {
  let app: FastifyInstance;
  let html: string;

  beforeAll(async () => {
    // The bundle is a build artefact; produce it once rather than commit 1.6 MB of minified code.
    if (!existsSync(path.join(GRAPHIQL_ASSETS_DIR, 'index.html'))) {
      const built = spawnSync(process.execPath, ['scripts/build-graphiql.mjs'], { cwd: REPO_ROOT, encoding: 'utf8' });
      if (built.status !== 0) throw new Error(`build-graphiql failed:\n${built.stdout}\n${built.stderr}`);
    }
    app = Fastify();
    registerGraphiql(app, { assetsDir: GRAPHIQL_ASSETS_DIR });
    await app.ready();
    const res = await app.inject({ method: 'GET', url: '/graphiql' });
    expect(res.statusCode).toBe(200);
    html = res.body;
  });

  afterAll(() => app?.close());

  it('points GRAPHIQL_ASSETS_DIR at <repo>/dist/graphiql', () => {
    expect(existsSync(path.join(REPO_ROOT, 'package.json'))).toBe(true);
    expect(path.relative(REPO_ROOT, GRAPHIQL_ASSETS_DIR)).toBe(path.join('dist', 'graphiql'));
  });

  it('serves the page as HTML under a strict CSP', async () => {
    const res = await app.inject({ method: 'GET', url: '/graphiql' });
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers['content-security-policy']).toBe(
      "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; font-src 'self' data:; " +
        "script-src 'self'; connect-src 'self'; worker-src 'self' blob:",
    );
    expect(html).toContain('id="graphiql"');
  });

  it('loads every script and stylesheet from this service', async () => {
    const refs = [
      ...[...html.matchAll(/<script\b[^>]*>/gi)].map((m) => ({ url: attr(m[0], 'src'), type: /javascript/ })),
      ...[...html.matchAll(/<link\b[^>]*>/gi)].map((m) => ({ url: attr(m[0], 'href'), type: /css/ })),
    ]
      // The empty inline icon (data:,) spares the browser a request for /favicon.ico; it loads nothing.
      .filter((r): r is { url: string; type: RegExp } => r.url !== undefined && r.url !== 'data:,');
    expect(refs.length).toBeGreaterThanOrEqual(2);

    for (const ref of refs) {
      // No scheme, no protocol-relative host: an absolute path on this origin.
      expect(ref.url).toMatch(/^\/(?!\/)/);
      expect(ref.url).not.toMatch(/^[a-z][a-z0-9+.-]*:/i);
      const res = await app.inject({ method: 'GET', url: ref.url });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(ref.type);
      expect(res.headers['cache-control']).toBe('public, max-age=3600');
      expect(res.rawPayload.length).toBeGreaterThan(0);
    }
  });

  it('references no remote stylesheet, font or image', async () => {
    const css = (await app.inject({ method: 'GET', url: '/graphiql/graphiql.css' })).body;
    for (const text of [html, css]) {
      expect(text).not.toMatch(/url\(\s*["']?\s*(https?:)?\/\//i);
      expect(text).not.toMatch(/@import\s+(url\()?\s*["']?\s*(https?:)?\/\//i);
    }
  });

  it.each(['/graphiql/..%2Fpackage.json', '/graphiql/%2e%2e%2fpackage.json', '/graphiql/nope.js', '/graphiql/.%2E'])(
    'answers 404 for %s',
    async (url) => {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(404);
      expect(res.body).not.toContain('apn-orchestrator"');
    },
  );

  it('answers 503 with a hint when the bundle has not been built', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'graphiql-'));
    const bare = Fastify();
    try {
      registerGraphiql(bare, { assetsDir: empty });
      const res = await bare.inject({ method: 'GET', url: '/graphiql' });
      expect(res.statusCode).toBe(503);
      expect(res.body).toContain('npm run build');
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
