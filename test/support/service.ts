import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { copyEmbeddedTemplate, serverTemplateName, type TemplateSeed } from './templates';

/** The built entrypoint; `npm test` builds first (pretest). */
export const MAIN_JS = resolve(__dirname, '../../dist/src/main.js');

/**
 * Runs the real service as a child process (`node dist/src/main.js`) for an e2e test file: embedded
 * PGlite and BullMQ's PostgreSQL backend by default, or, when TEST_DATABASE_URL / TEST_REDIS_URL are set
 * (CI's second pass), a scratch database on that PostgreSQL server and that Redis.
 */
export interface TestService {
  process: ChildProcess;
  url: string;
  adminToken: string;
  databaseUrl: string;
  /** A direct connection to the service's database, for assertions in SQL. */
  sql: Client;
  backend: 'embedded' | 'postgres';
  output(): string;
  /** SIGTERM; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * A database of its own on the server at `serverUrl`, empty, or with `template` a copy of this pass's
 * migrated template (seeded with the reference topology for 'reference') when the global setup made one.
 */
export async function createScratchDatabase(
  serverUrl: string,
  options: { template?: TemplateSeed } = {},
): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `apn_test_${randomBytes(5).toString('hex')}`;
  const template = options.template ? serverTemplateName(options.template) : null;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(template ? `CREATE DATABASE ${name} TEMPLATE ${template}` : `CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new Client({ connectionString: serverUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A TCP port free on the loopback right now, for a second listener a test has to configure itself. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export function baseEnv(extraEnv: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: '0',
    HOST: '127.0.0.1',
    APN_DATA_DIR: 'memory',
    APN_SEED: 'reference',
    LOG_LEVEL: 'silent',
    APN_ADMIN_TOKEN: `test-admin-${randomBytes(16).toString('hex')}`,
    APN_QUEUE_PREFIX: `t${randomBytes(4).toString('hex')}`,
    ...(process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL } : {}),
    ...extraEnv,
  };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

/** Spawns the service and resolves once it printed its URL (or, for a worker, that it started). */
export function spawnService(
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
): Promise<{ child: ChildProcess; url: string | null; databaseUrl: string | null; output: () => string }> {
  const child = spawn(process.execPath, [MAIN_JS], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`service did not start within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const check = () => {
      const listening = /listening on (http:\/\/\S+)/.exec(out);
      const worker = /worker started/.test(out);
      if (listening || worker) {
        clearTimeout(timer);
        child.stdout.off('data', check);
        const db = /embedded PostgreSQL \(PGlite\) at (\S+),/.exec(out);
        resolvePromise({ child, url: listening?.[1] ?? null, databaseUrl: db?.[1] ?? null, output: () => out });
      }
    };
    child.stdout.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`service exited with ${code} before it was ready:\n${out}`));
    });
  });
}

export function terminate(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((r) => {
    child.once('exit', (code) => r(code));
    child.kill(signal);
  });
}

/** Which template a service started with `extraEnv` can start from: the one its seed would produce. */
function templateFor(extraEnv: Record<string, string>): TemplateSeed | null {
  if (extraEnv.DATABASE_URL || extraEnv.APN_DATA_DIR) return null;
  const seed = extraEnv.APN_SEED ?? 'reference';
  return seed === 'reference' || seed === 'none' ? seed : null;
}

/**
 * The service for an e2e test file, on a database of its own: on the embedded engine a copy of the
 * migrated template's data directory (or, without templates, `APN_DATA_DIR=memory`), on a server a
 * database cloned from the template.
 */
export async function startTestService(extraEnv: Record<string, string> = {}): Promise<TestService> {
  const seed = templateFor(extraEnv);
  const scratch = process.env.TEST_DATABASE_URL
    ? await createScratchDatabase(process.env.TEST_DATABASE_URL, { template: seed ?? undefined })
    : null;
  const copy = !scratch && seed ? copyEmbeddedTemplate(seed) : null;
  const env = baseEnv({ ...(scratch ? { DATABASE_URL: scratch.url } : {}), ...(copy ? { APN_DATA_DIR: copy.dataDir } : {}), ...extraEnv });
  let started: Awaited<ReturnType<typeof spawnService>>;
  try {
    started = await spawnService(env);
  } catch (error) {
    copy?.remove();
    await scratch?.drop();
    throw error;
  }
  const databaseUrl = scratch?.url ?? started.databaseUrl;
  if (!databaseUrl || !started.url) throw new Error(`could not read the service's addresses:\n${started.output()}`);
  const sql = new Client({ connectionString: databaseUrl });
  // The embedded database goes away with the service; that is not a test failure.
  sql.on('error', () => undefined);
  await sql.connect();
  return {
    process: started.child,
    url: started.url,
    adminToken: env.APN_ADMIN_TOKEN as string,
    databaseUrl,
    sql,
    backend: scratch ? 'postgres' : 'embedded',
    output: started.output,
    async stop() {
      await sql.end().catch(() => undefined);
      const code = await terminate(started.child);
      if (code !== 0) process.stderr.write(`service exited with ${code}:\n${started.output().slice(-4000)}\n`);
      await scratch?.drop();
      copy?.remove();
      return code;
    },
  };
}

export interface GqlResult<T = Record<string, any>> {
  status: number;
  data: T | null;
  errors: Array<{ message: string; extensions: { code: string; field?: string; [k: string]: unknown }; path?: string[] }> | undefined;
}

/** POST /graphql through HTTP, as a client would. */
export async function gql<T = Record<string, any>>(
  url: string,
  token: string | null,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<GqlResult<T>> {
  const req = request(url).post('/graphql').set('content-type', 'application/json');
  if (token !== null) req.set('authorization', `Bearer ${token}`);
  const res = await req.send({ query, variables });
  return { status: res.status, data: res.body?.data ?? null, errors: res.body?.errors };
}

/** Like gql but fails the test with the server's errors when there are any. */
export async function gqlOk<T = Record<string, any>>(
  url: string,
  token: string | null,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<T> {
  const r = await gql<T>(url, token, query, variables);
  if (r.errors?.length || !r.data) {
    throw new Error(`GraphQL errors (HTTP ${r.status}): ${JSON.stringify(r.errors)}`);
  }
  return r.data;
}

export async function createTenantWithKey(t: TestService, name: string): Promise<{ tenantId: string; token: string }> {
  const created = await gqlOk<{ createTenant: { id: string } }>(
    t.url,
    t.adminToken,
    'mutation($n: String!) { createTenant(name: $n) { id } }',
    { n: name },
  );
  const key = await gqlOk<{ createApiKey: { secret: string } }>(
    t.url,
    t.adminToken,
    'mutation($t: ID!) { createApiKey(role: TENANT, tenantId: $t) { secret } }',
    { t: created.createTenant.id },
  );
  return { tenantId: created.createTenant.id, token: key.createApiKey.secret };
}

export async function endpointIds(t: TestService): Promise<Record<string, string>> {
  const data = await gqlOk<{ endpoints: Array<{ id: string; code: string }> }>(t.url, t.adminToken, '{ endpoints { id code } }');
  return Object.fromEntries(data.endpoints.map((e) => [e.code, e.id]));
}

export const RESERVATION_FIELDS = `id state tenant { id } source { id code } destination { id code } rateGbps start end
  channel frequencyThz path { code lengthKm } distanceKm rttMs holdExpiresAt history { state at reason actor }`;

export const RESERVE = `mutation($input: ReserveLightpathInput!) { reserveLightpath(input: $input) { ${RESERVATION_FIELDS} } }`;

/** An hour-aligned window starting `hoursFromNow` hours from now, lasting `hours`. */
export function window(hoursFromNow: number, hours = 1): { start: string; end: string } {
  const base = Math.ceil(Date.now() / 3_600_000) * 3_600_000 + hoursFromNow * 3_600_000;
  return { start: new Date(base).toISOString(), end: new Date(base + hours * 3_600_000).toISOString() };
}

export async function waitFor<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function countRows(t: TestService, table: string): Promise<number> {
  const r = await t.sql.query(`SELECT count(*)::int AS n FROM ${table}`);
  return r.rows[0].n as number;
}
