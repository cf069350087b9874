import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  accessSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Client } from 'pg';

/**
 * Migrated (and, for APN_SEED=reference, seeded) databases made once per pass and copied for each test
 * file, so that a file's service starts on a ready database instead of creating one: the embedded engine
 * spends most of a cold start in initdb. On the embedded engine a template is a data directory, kept between
 * passes under node_modules/.cache and keyed by a hash of the build; on a PostgreSQL server it is a database
 * cloned with CREATE DATABASE … TEMPLATE, made for the pass and dropped after it.
 *
 * The templates are made by the built service itself (migrations at start, then the seed) and their queue
 * state is emptied afterwards, so a copy is a database on which the service has started once and whose
 * queue starts empty.
 */
export type TemplateSeed = 'reference' | 'none';
export const TEMPLATE_SEEDS: readonly TemplateSeed[] = ['reference', 'none'];

/** Set by the global setup for the test files: where the templates are. */
export const TEMPLATE_DATA_DIR_ENV = 'TEST_TEMPLATE_DATA_DIR';
export const TEMPLATE_DATABASE_ENV = 'TEST_TEMPLATE_DATABASE';

const REPO = resolve(__dirname, '../..');
const MAIN_JS = join(REPO, 'dist/src/main.js');
const CACHE_DIR = join(REPO, 'node_modules/.cache/apn-test-templates');

/** The hash of everything the build produced for the service: a template is valid for one build. */
function buildHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.js') || name.endsWith('.json')) hash.update(path.slice(REPO.length)).update(readFileSync(path));
    }
  };
  walk(join(REPO, 'dist/src'));
  hash.update(readFileSync(join(REPO, 'package-lock.json')));
  return hash.digest('hex').slice(0, 16);
}

function templateEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    APN_ADMIN_TOKEN: `template-${randomBytes(16).toString('hex')}`,
    ...extra,
  };
}

/** Starts the built service with `env`, waits until it is ready, runs `whileUp` with its output, stops it with SIGTERM. */
async function runServiceOnce(env: NodeJS.ProcessEnv, whileUp: (output: string) => Promise<void> = async () => undefined): Promise<void> {
  if (!existsSync(MAIN_JS)) throw new Error(`${MAIN_JS} is missing: run npm run build first`);
  const child = spawn(process.execPath, [MAIN_JS], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const ready = await Promise.race([
    new Promise<boolean>((r) => {
      const check = () => {
        if (/listening on http:\/\/\S+/.test(out)) r(true);
      };
      child.stdout.on('data', check);
    }),
    exited.then(() => false),
    new Promise<boolean>((r) => setTimeout(() => r(false), 120_000).unref()),
  ]);
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`the service did not start to make a test template:\n${out}`);
  }
  try {
    // An answer over HTTP also means the process has installed its SIGTERM handler, which it does right
    // after printing its address.
    const url = /listening on (http:\/\/\S+)/.exec(out)![1];
    const health = await fetch(`${url}/health`);
    if (health.status !== 200)
      throw new Error(`the service making a test template is not healthy (${health.status}): ${await health.text()}`);
    await whileUp(out);
  } finally {
    child.kill('SIGTERM');
  }
  const code = await exited;
  if (code !== 0) throw new Error(`the service making a test template exited with ${code}:\n${out}`);
}

/** Empties BullMQ's tables on the PostgreSQL backend, keeping its schema version and queue metadata. */
async function emptyQueueTables(sql: Client): Promise<void> {
  const tables = await sql.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'bullmq' AND tablename NOT IN ('migration', 'meta')`);
  if (tables.rows.length === 0) return;
  await sql.query(`TRUNCATE ${tables.rows.map((r) => `bullmq."${r.tablename}"`).join(', ')} RESTART IDENTITY CASCADE`);
}

/**
 * Waits for every template's service to be done before failing with the first error: rejecting at the first
 * would end the global setup, and Jest with it, while the other service still runs, left behind for good.
 */
async function allSettledOrThrow(work: Array<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Makes the embedded templates, or finds them made for this build by an earlier pass. Returns their directory. */
export async function ensureEmbeddedTemplates(): Promise<string> {
  const dir = join(CACHE_DIR, buildHash());
  if (existsSync(join(dir, 'ready'))) return dir;
  mkdirSync(CACHE_DIR, { recursive: true });
  // Older builds' templates are of no further use.
  for (const name of readdirSync(CACHE_DIR)) {
    if (!name.includes('.')) rmSync(join(CACHE_DIR, name), { recursive: true, force: true });
  }
  const building = `${dir}.${process.pid}.${randomBytes(3).toString('hex')}`;
  mkdirSync(building, { recursive: true });
  try {
    await allSettledOrThrow(
      TEMPLATE_SEEDS.map(async (seed) => {
        const dataDir = join(building, seed);
        await runServiceOnce(templateEnv({ APN_DATA_DIR: dataDir, APN_SEED: seed }));
        // The service is stopped: open its files once more, on the same engine, to empty the queue.
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- the built service's module, loaded from dist at run time
        const { startEmbeddedPostgres } = require(
          join(REPO, 'dist/src/core/database/embedded-postgres.js'),
        ) as typeof import('../../src/core/database/embedded-postgres');
        const embedded = await startEmbeddedPostgres(dataDir);
        const sql = new Client({ connectionString: embedded.url });
        await sql.connect();
        try {
          await emptyQueueTables(sql);
          await sql.query('CHECKPOINT');
        } finally {
          await sql.end();
          await embedded.stop();
        }
      }),
    );
    writeFileSync(join(building, 'ready'), new Date().toISOString());
    try {
      renameSync(building, dir);
    } catch {
      // Another pass finished the same templates first.
      rmSync(building, { recursive: true, force: true });
    }
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    throw error;
  }
  return dir;
}

/**
 * Where copies go: memory-backed /dev/shm where there is one, since the embedded engine writes its pages
 * through the file system and a test file's database is thrown away after it.
 */
function copiesDir(): string {
  try {
    if (statSync('/dev/shm').isDirectory()) {
      accessSync('/dev/shm', constants.W_OK);
      return '/dev/shm';
    }
  } catch {
    // no /dev/shm here
  }
  return tmpdir();
}

/** A fresh copy of the embedded template for `seed`, in a directory of its own; null without templates. */
export function copyEmbeddedTemplate(seed: TemplateSeed): { dataDir: string; remove(): void } | null {
  const templates = process.env[TEMPLATE_DATA_DIR_ENV];
  if (!templates || !existsSync(join(templates, seed))) return null;
  const root = mkdtempSync(join(copiesDir(), 'apn-test-'));
  const dataDir = join(root, 'data');
  cpSync(join(templates, seed), dataDir, { recursive: true });
  return { dataDir, remove: () => rmSync(root, { recursive: true, force: true }) };
}

function withDatabase(serverUrl: string, name: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Makes the PostgreSQL templates for this pass on `serverUrl` (a database each), with Redis at `redisUrl`. Returns their name prefix. */
export async function createServerTemplates(serverUrl: string, redisUrl: string | undefined): Promise<string> {
  const prefix = `apn_template_${randomBytes(5).toString('hex')}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    for (const seed of TEMPLATE_SEEDS) await admin.query(`CREATE DATABASE ${prefix}_${seed}`);
  } finally {
    await admin.end();
  }
  const queuePrefix = `tpl${randomBytes(4).toString('hex')}`;
  await allSettledOrThrow(
    TEMPLATE_SEEDS.map((seed) =>
      runServiceOnce(
        templateEnv({
          DATABASE_URL: withDatabase(serverUrl, `${prefix}_${seed}`),
          APN_DATA_DIR: 'memory',
          APN_SEED: seed,
          APN_QUEUE_PREFIX: `${queuePrefix}${seed}`,
          ...(redisUrl ? { REDIS_URL: redisUrl } : {}),
        }),
      ),
    ),
  );
  if (redisUrl) {
    const redis = new Redis(redisUrl);
    try {
      for (const seed of TEMPLATE_SEEDS) {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${queuePrefix}${seed}:*`, 'COUNT', 1000);
          if (keys.length) await redis.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      }
    } finally {
      redis.disconnect();
    }
  } else {
    for (const seed of TEMPLATE_SEEDS) {
      const sql = new Client({ connectionString: withDatabase(serverUrl, `${prefix}_${seed}`) });
      await sql.connect();
      await emptyQueueTables(sql).finally(() => sql.end());
    }
  }
  return prefix;
}

export async function dropServerTemplates(serverUrl: string, prefix: string): Promise<void> {
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    for (const seed of TEMPLATE_SEEDS) await admin.query(`DROP DATABASE IF EXISTS ${prefix}_${seed} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** The template database for `seed` made for this pass, if any. */
export function serverTemplateName(seed: TemplateSeed): string | null {
  const prefix = process.env[TEMPLATE_DATABASE_ENV];
  return prefix ? `${prefix}_${seed}` : null;
}
