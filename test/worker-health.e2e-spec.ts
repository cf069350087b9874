import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { load } from 'js-yaml';
import { Client } from 'pg';
import request from 'supertest';
import { baseEnv, createScratchDatabase, freePort, spawnService, terminate, waitFor } from './support/service';
import { copyEmbeddedTemplate } from './support/templates';

/**
 * A worker has no API, but an orchestrator (docker compose, Kubernetes) still has to know whether it can
 * work: it answers GET /health on APN_METRICS_PORT with the api's checks and status codes.
 */

/**
 * The worker's healthcheck from docker-compose.yml, as a command that runs here against `port`: the
 * compose file's own script, pointed at the test's port instead of the one the compose file configures.
 */
function composeWorkerHealthcheck(port: number): () => Promise<number> {
  const compose = load(readFileSync(resolve(__dirname, '../docker-compose.yml'), 'utf8')) as {
    services: Record<string, { environment: Record<string, string>; healthcheck?: { test: string[] } }>;
  };
  const worker = compose.services.worker;
  expect(worker.environment.APN_ROLE).toBe('worker');
  const configured = worker.environment.APN_METRICS_PORT;
  expect(configured).toMatch(/^\d+$/);
  const [kind, command, ...args] = worker.healthcheck!.test;
  expect([kind, command, args[0]]).toEqual(['CMD', 'node', '-e']);
  expect(args[1]).toContain(`http://127.0.0.1:${configured}/health`);
  const script = args[1].replace(`:${configured}/`, `:${port}/`);
  return () => new Promise((r) => execFile(process.execPath, ['-e', script], (error) => r(error ? Number(error.code ?? 1) : 0)));
}

interface Health {
  status: string;
  checks: { database: { status: string; error?: string }; queue: { status: string } };
}

describe('the worker process (APN_ROLE=worker)', () => {
  const serverUrl = process.env.TEST_DATABASE_URL;

  it('answers GET /health on APN_METRICS_PORT, as docker-compose.yml checks it: 200 while its database and queue answer, 503 while the database does not, 200 again once it is back', async () => {
    const scratch = serverUrl ? await createScratchDatabase(serverUrl) : null;
    const copy = scratch ? null : copyEmbeddedTemplate('reference');
    const port = await freePort();
    const worker = await spawnService(
      baseEnv({
        APN_ROLE: 'worker',
        APN_METRICS_PORT: String(port),
        ...(scratch ? { DATABASE_URL: scratch.url } : {}),
        ...(copy ? { APN_DATA_DIR: copy.dataDir } : {}),
      }),
    );
    const health = () => request(`http://127.0.0.1:${port}`).get('/health');
    const dockerHealthcheck = composeWorkerHealthcheck(port);
    const admin = new Client({ connectionString: serverUrl ?? worker.databaseUrl! });
    admin.on('error', () => undefined);
    try {
      expect(worker.url).toBeNull(); // no API
      expect(worker.output()).toContain(`worker health at http://127.0.0.1:${port}/health`);

      const up = await health();
      expect(up.status).toBe(200);
      expect((up.body as Health).status).toBe('ok');
      expect((up.body as Health).checks.database.status).toBe('up');
      expect((up.body as Health).checks.queue.status).toBe('up');
      expect(await dockerHealthcheck()).toBe(0);
      // /metrics is still served beside it.
      expect((await request(`http://127.0.0.1:${port}`).get('/metrics')).status).toBe(200);

      // Take the database away from the worker.
      await admin.connect();
      const dbName = scratch ? new URL(scratch.url).pathname.slice(1) : null;
      if (dbName) {
        await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS false`);
        await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [dbName]);
      } else {
        // The embedded engine runs one transaction at a time: an open one leaves the worker's queries waiting.
        await admin.query('BEGIN');
        await admin.query('SELECT 1');
      }
      const down = await waitFor(
        async () => {
          const r = await health();
          return r.status === 503 ? r : null;
        },
        30_000,
        'the worker to report 503',
      );
      expect((down.body as Health).status).toBe('unavailable');
      expect((down.body as Health).checks.database.status).toBe('down');
      expect((down.body as Health).checks.database.error).toEqual(expect.any(String));
      expect(await dockerHealthcheck()).toBe(1);

      // Give it back: the worker recovers without a restart.
      if (dbName) await admin.query(`ALTER DATABASE ${dbName} ALLOW_CONNECTIONS true`);
      else await admin.query('COMMIT');
      await waitFor(async () => (await health()).status === 200, 30_000, 'the worker to report 200 again');

      expect(await terminate(worker.child)).toBe(0);
    } finally {
      await admin.end().catch(() => undefined);
      await terminate(worker.child, 'SIGKILL');
      await scratch?.drop();
      copy?.remove();
    }
  });
});
