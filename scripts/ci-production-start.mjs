#!/usr/bin/env node
/**
 * Starts the built service from the production dependency set alone, the way the Docker image installs
 * it (`npm ci --omit=dev`), and checks that it comes up and goes down in every role:
 *
 * - `APN_ROLE=api` and `APN_ROLE=worker` side by side on a scratch database of the PostgreSQL server and
 *   on Redis (a queue prefix of their own), as docker-compose.yml runs them;
 * - `APN_ROLE=all` on the embedded database (`APN_DATA_DIR=memory`), as `npm start` runs it.
 *
 * Each must answer GET /health with 200 (the worker on APN_METRICS_PORT), the api roles must also serve
 * a GraphQL query, the GraphiQL console and a WebSocket subscription connection (code paths whose modules
 * load lazily), and each must exit 0 on SIGTERM.
 *
 * The test suites run with every dev dependency installed, so they cannot see a module that dist/ loads
 * at run time while package.json lists it under devDependencies; this check can.
 *
 * Usage (after `npm run build`): node scripts/ci-production-start.mjs
 * Environment: CI_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres),
 *              CI_REDIS_URL (default redis://127.0.0.1:6379), PRODUCTION_START_TIMEOUT_S (default 120).
 */
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, parse, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import pg from 'pg';
import WebSocket from 'ws';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DATABASE_SERVER_URL = process.env.CI_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.CI_REDIS_URL || 'redis://127.0.0.1:6379';
const TIMEOUT_MS = Number(process.env.PRODUCTION_START_TIMEOUT_S || 120) * 1000;
const STOP_TIMEOUT_MS = 45_000;

const children = new Set();
const cleanups = [];
let failures = 0;

function log(line) {
  process.stdout.write(`production-start: ${line}\n`);
}

function fail(line) {
  failures += 1;
  process.stdout.write(`production-start: FAILED: ${line}\n`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Node resolves bare imports up every parent directory: none may hold a node_modules that could stand in. */
function assertNoAncestorModules(dir) {
  for (let d = dirname(dir); ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) {
      throw new Error(`${join(d, 'node_modules')} exists and would mask modules missing from the production install; set TMPDIR elsewhere`);
    }
    if (d === parse(d).root) return;
  }
}

function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

function startService(dir, name, env) {
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: dir,
    // Only what the service needs: no NODE_PATH or NODE_OPTIONS that could reach the dev install.
    env: { PATH: process.env.PATH, HOME: dir, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
  exited.then(() => children.delete(child));
  return { name, child, exited, output: () => output };
}

function running(service) {
  return service.child.exitCode === null && service.child.signalCode === null;
}

function tail(service) {
  return service
    .output()
    .trimEnd()
    .split('\n')
    .slice(-40)
    .map((l) => `    | ${l}`)
    .join('\n');
}

/** Polls GET <base>/health until 200; null when the process exits or the time runs out. */
async function waitHealthy(service, baseUrl) {
  const deadline = Date.now() + TIMEOUT_MS;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (!running(service)) {
      return { ok: false, why: `exited with ${service.child.exitCode ?? service.child.signalCode} before it was healthy` };
    }
    const base = typeof baseUrl === 'function' ? baseUrl() : baseUrl;
    if (base) {
      try {
        const response = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) });
        const body = await response.text();
        if (response.status === 200) return { ok: true };
        last = `HTTP ${response.status} ${body.slice(0, 300)}`;
      } catch (error) {
        last = error.cause?.code ?? error.message;
      }
    }
    await sleep(250);
  }
  return { ok: false, why: `no 200 from /health within ${TIMEOUT_MS / 1000} s (last: ${last})` };
}

/** The api's lazily loaded paths: GraphQL execution, the GraphiQL console and its assets, WebSocket subscriptions. */
async function exerciseApi(url, token) {
  const query = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ sites { code } }' }),
  });
  const result = await query.json();
  if (query.status !== 200 || result.errors) throw new Error(`POST /graphql: HTTP ${query.status} ${JSON.stringify(result.errors)}`);

  const page = await fetch(`${url}/graphiql`);
  const html = await page.text();
  if (page.status !== 200) throw new Error(`GET /graphiql: HTTP ${page.status}`);
  const assets = [...html.matchAll(/<(?:script[^>]*src|link[^>]*href)="([^"]+)"/g)].map((m) => m[1]);
  if (assets.length === 0) throw new Error('GET /graphiql: the page links no script or stylesheet');
  for (const asset of assets) {
    const response = await fetch(new URL(asset, url));
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`GET ${asset}: HTTP ${response.status}`);
  }

  const client = createClient({
    url: `${url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
  });
  try {
    await new Promise((resolveConnected, reject) => {
      const timer = setTimeout(() => reject(new Error('WebSocket /graphql: no connection_ack within 15 s')), 15_000);
      client.on('connected', () => (clearTimeout(timer), resolveConnected()));
      client.on(
        'closed',
        (event) => (clearTimeout(timer), reject(new Error(`WebSocket /graphql closed: ${event?.code} ${event?.reason ?? ''}`))),
      );
      client.on('error', (error) => (clearTimeout(timer), reject(new Error(`WebSocket /graphql: ${error?.message ?? error}`))));
    });
  } finally {
    await client.dispose();
  }
}

async function stop(service) {
  if (!running(service)) {
    fail(`${service.name}: had already exited with ${service.child.exitCode ?? service.child.signalCode}\n${tail(service)}`);
    return;
  }
  service.child.kill('SIGTERM');
  const outcome = await Promise.race([service.exited, sleep(STOP_TIMEOUT_MS).then(() => null)]);
  if (outcome === null) {
    service.child.kill('SIGKILL');
    fail(`${service.name}: still running ${STOP_TIMEOUT_MS / 1000} s after SIGTERM\n${tail(service)}`);
  } else if (outcome.code !== 0) {
    fail(`${service.name}: exited with ${outcome.code ?? outcome.signal} on SIGTERM, expected 0\n${tail(service)}`);
  } else {
    log(`${service.name}: stopped cleanly on SIGTERM`);
  }
}

/** Waits for the service to be healthy (and, for an api, to serve its lazily loaded paths); records a failure if not. */
async function expectHealthy(service, baseUrl, token) {
  const started = Date.now();
  const health = await waitHealthy(service, baseUrl);
  if (!health.ok) {
    fail(`${service.name}: ${health.why}\n${tail(service)}`);
    return false;
  }
  log(`${service.name}: /health 200 after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (token) {
    try {
      await exerciseApi(typeof baseUrl === 'function' ? baseUrl() : baseUrl, token);
      log(`${service.name}: GraphQL query, GraphiQL console and WebSocket subscriptions answer`);
    } catch (error) {
      fail(`${service.name}: ${error.message}\n${tail(service)}`);
      return false;
    }
  }
  return true;
}

function listeningUrl(service) {
  return () => /listening on (http:\/\/\S+)/.exec(service.output())?.[1] ?? null;
}

async function main() {
  if (!existsSync(join(ROOT, 'dist/src/main.js'))) throw new Error('dist/src/main.js is missing: run npm run build first');

  const scratch = mkdtempSync(join(tmpdir(), 'apn-production-'));
  cleanups.push(() => rmSync(scratch, { recursive: true, force: true }));
  assertNoAncestorModules(scratch);
  for (const file of ['package.json', 'package-lock.json']) cpSync(join(ROOT, file), join(scratch, file));
  cpSync(join(ROOT, 'dist'), join(scratch, 'dist'), { recursive: true });
  log(`npm ci --omit=dev in ${scratch}`);
  const install = spawnSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], {
    cwd: scratch,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  });
  if (install.status !== 0) throw new Error(`npm ci --omit=dev exited with ${install.status ?? install.signal}`);

  // api and worker on PostgreSQL + Redis.
  const dbName = `apn_production_start_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_SERVER_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  cleanups.push(async () => {
    const c = new pg.Client({ connectionString: DATABASE_SERVER_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
    await c.end();
  });
  const databaseUrl = new URL(DATABASE_SERVER_URL);
  databaseUrl.pathname = `/${dbName}`;
  const token = `production-start-${randomBytes(16).toString('hex')}`;
  const queuePrefix = `prodstart${randomBytes(4).toString('hex')}`;
  cleanups.push(async () => {
    const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      for await (const keys of redis.scanStream({ match: `${queuePrefix}:*`, count: 500 })) if (keys.length) await redis.unlink(...keys);
    } finally {
      redis.disconnect();
    }
  });
  // Production refuses to start without the key-encryption key, the mount CA key and the audit signing key.
  const keys = {
    APN_KEY_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    APN_CA_KEY: generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    APN_AUDIT_SIGNING_KEY: generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
  const server = {
    NODE_ENV: 'production',
    APN_ADMIN_TOKEN: token,
    ...keys,
    DATABASE_URL: databaseUrl.toString(),
    REDIS_URL,
    APN_QUEUE_PREFIX: queuePrefix,
    APN_SEED: 'reference',
  };
  const api = startService(scratch, 'APN_ROLE=api', { ...server, APN_ROLE: 'api', PORT: '0' });
  const apiHealthy = await expectHealthy(api, listeningUrl(api), token);
  const metricsPort = await freePort();
  const worker = startService(scratch, 'APN_ROLE=worker', { ...server, APN_ROLE: 'worker', APN_METRICS_PORT: String(metricsPort) });
  const workerHealthy = await expectHealthy(worker, `http://127.0.0.1:${metricsPort}`, null);
  if (workerHealthy || running(worker)) await stop(worker);
  if (apiHealthy || running(api)) await stop(api);

  // The embedded default, as `npm start` runs it (and the image with no DATABASE_URL).
  const all = startService(scratch, 'APN_ROLE=all APN_DATA_DIR=memory', {
    NODE_ENV: 'production',
    APN_ADMIN_TOKEN: token,
    ...keys,
    APN_ROLE: 'all',
    APN_DATA_DIR: 'memory',
    PORT: '0',
  });
  const allHealthy = await expectHealthy(all, listeningUrl(all), token);
  if (allHealthy || running(all)) await stop(all);
}

let cleanedUp = false;
async function cleanUp() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const child of children) child.kill('SIGKILL');
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      process.stdout.write(`production-start: cleanup: ${error.message}\n`);
    }
  }
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    fail(`interrupted by ${signal}`);
    void cleanUp().then(() => process.exit(1));
  });
}

try {
  await main();
} catch (error) {
  fail(error.message);
} finally {
  await cleanUp();
}
log(failures === 0 ? 'every role started from the production dependencies' : `${failures} failure(s)`);
process.exit(failures === 0 ? 0 : 1);
