import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { Client } from 'pg';
import {
  baseEnv,
  createScratchDatabase,
  freePort,
  gql,
  gqlOk,
  MAIN_JS,
  spawnService,
  startTestService,
  terminate,
  waitFor,
} from './support/service';
import { copyEmbeddedTemplate } from './support/templates';

/** The service as an operator runs it: the built entrypoint, its configuration, its signals. */
describe('the service process', () => {
  it('stops at boot with a message naming a bad variable', async () => {
    const child = spawn(process.execPath, [MAIN_JS], {
      env: baseEnv({ PORT: 'eighty', APN_HOLD_TTL_S: '-3' }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise((r) => child.once('exit', r));
    expect(code).toBe(2);
    expect(err).toMatch(/PORT: PORT must be a whole number/);
    expect(err).toMatch(/APN_HOLD_TTL_S/);
  });

  it('keeps its data across restarts in APN_DATA_DIR, prints the generated operator token once, and exits 0 on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'apn-data-'));
    try {
      const env = baseEnv({ APN_DATA_DIR: dir, APN_ADMIN_TOKEN: undefined, LOG_LEVEL: 'info' });
      const first = await spawnService(env);
      const token = readFileSync(join(dir, 'admin-token'), 'utf8').trim();
      expect(first.output()).toContain(`operator token (shown once, kept in ${join(dir, 'admin-token')}): ${token}`);
      const created = await gqlOk(first.url!, token, 'mutation { createTenant(name: "Persistent") { id } }');
      const key = await gqlOk(first.url!, token, 'mutation($t: ID!) { createApiKey(role: TENANT, tenantId: $t) { secret } }', {
        t: created.createTenant.id,
      });
      await gqlOk(first.url!, key.createApiKey.secret, '{ me { role } }');
      expect(await terminate(first.child)).toBe(0);
      // Secrets never reach the logs.
      expect(first.output()).not.toContain(key.createApiKey.secret);
      expect(first.output().split(token).length - 1).toBe(1);
      expect(first.output()).toContain('[redacted]');

      const second = await spawnService(env);
      expect(second.output()).not.toContain(token);
      const tenants = await gqlOk(second.url!, token, '{ tenants { name } }');
      expect(tenants.tenants).toEqual([{ name: 'Persistent' }]);
      const topology = await gqlOk(second.url!, token, '{ links { code } }');
      expect(topology.links).toHaveLength(18); // seeded once, not twice
      expect(await terminate(second.child)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps nothing with APN_DATA_DIR=memory', async () => {
    const env = baseEnv({ APN_DATA_DIR: 'memory' });
    const first = await spawnService(env);
    await gqlOk(first.url!, env.APN_ADMIN_TOKEN as string, 'mutation { createTenant(name: "Ephemeral") { id } }');
    expect(await terminate(first.child)).toBe(0);
    const second = await spawnService(env);
    try {
      const tenants = await gqlOk(second.url!, env.APN_ADMIN_TOKEN as string, '{ tenants { name } }');
      expect(tenants.tenants).toEqual([]);
    } finally {
      await terminate(second.child);
    }
  });

  it('drains in-flight requests on SIGTERM: requests already being handled get their answers, then it exits 0', async () => {
    const t = await startTestService({ LOG_LEVEL: 'info' });
    // Hold the tenants table so that every createTenant is provably in flight inside the service when
    // the signal arrives (on the embedded engine an open transaction holds the whole shared session).
    await t.sql.query('BEGIN');
    await t.sql.query('LOCK TABLE tenants IN EXCLUSIVE MODE');
    const inFlight = Array.from({ length: 10 }, (_, i) => gql(t.url, t.adminToken, `mutation { createTenant(name: "drain-${i}") { id } }`));
    await new Promise((r) => setTimeout(r, 1000));
    const exited = new Promise<number | null>((r) => t.process.once('exit', (code) => r(code)));
    t.process.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    expect(t.process.exitCode).toBeNull(); // still draining
    await t.sql.query('COMMIT');
    const results = await Promise.all(inFlight);
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(results.every((r) => !r.errors && r.data?.createTenant?.id)).toBe(true);
    expect(await exited).toBe(0);
    await t.stop();
    expect(t.output()).toMatch(/SIGTERM received: draining/);
  });

  it('serves the GraphQL console with every script and stylesheet from the service itself', async () => {
    const svc = await startTestService();
    try {
      const page = await request(svc.url).get('/graphiql');
      expect(page.status).toBe(200);
      const refs = [...page.text.matchAll(/<(?:script[^>]*src|link[^>]*href)="([^"]+)"/g)].map((m) => m[1]);
      expect(refs.length).toBeGreaterThanOrEqual(2);
      // The empty inline icon (data:,) spares the browser a request for /favicon.ico; it loads nothing.
      for (const ref of refs.filter((r) => r !== 'data:,')) {
        expect(ref).toMatch(/^\/[^/]/); // same origin: no scheme, no host
        const asset = await request(svc.url).get(ref);
        expect(asset.status).toBe(200);
        expect(asset.body.length ?? asset.text.length).toBeGreaterThan(0);
      }
      expect(page.text).not.toMatch(/https?:\/\//);
    } finally {
      await svc.stop();
    }
  });

  const serverUrl = process.env.TEST_DATABASE_URL;
  (serverUrl ? it : it.skip)('finishes a running job on SIGTERM before it exits', async () => {
    const t = await startTestService({ APN_HOLD_TTL_S: '1' });
    try {
      const tenant = await gqlOk(t.url, t.adminToken, 'mutation { createTenant(name: "Draining jobs") { id } }');
      const ep = await gqlOk(t.url, t.adminToken, '{ endpoints { id code } }');
      const id = (code: string) => ep.endpoints.find((e: { code: string }) => e.code === code).id;
      const r = await gqlOk(t.url, t.adminToken, 'mutation($i: ReserveLightpathInput!) { reserveLightpath(input: $i) { id } }', {
        i: {
          tenantId: tenant.createTenant.id,
          sourceEndpointId: id('OTE-HQ-100G-2'),
          destinationEndpointId: id('TAM-GDC-100G-2'),
          rateGbps: 100,
          start: new Date(Date.now() + 3_600_000).toISOString(),
          end: new Date(Date.now() + 7_200_000).toISOString(),
        },
      });
      // Hold the reservation's row: the hold-expiry job, once due, blocks inside its transaction.
      await t.sql.query('BEGIN');
      await t.sql.query('SELECT 1 FROM reservations WHERE id = $1 FOR UPDATE', [r.reserveLightpath.id]);
      await waitFor(
        async () => {
          const waiting = await t.sql.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
          );
          return waiting.rows[0].n > 0;
        },
        15_000,
        'the hold-expiry job to block on the row',
      );
      const exited = new Promise<number | null>((res) => t.process.once('exit', (code) => res(code)));
      t.process.kill('SIGTERM');
      await new Promise((res) => setTimeout(res, 500));
      expect(t.process.exitCode).toBeNull(); // waiting for the running job
      await t.sql.query('COMMIT');
      expect(await exited).toBe(0);
      const state = await t.sql.query('SELECT state FROM reservations WHERE id = $1', [r.reserveLightpath.id]);
      expect(state.rows[0].state).toBe('EXPIRED');
    } finally {
      await t.stop();
    }
  });

  it('runs the api and the worker as separate processes on one database (APN_ROLE=api, APN_ROLE=worker)', async () => {
    // On the embedded engine the api process owns the database and the worker reaches it at its address.
    const db = serverUrl ? await createScratchDatabase(serverUrl) : null;
    const copy = db ? null : copyEmbeddedTemplate('reference');
    const dataDir = db ? null : (copy?.dataDir ?? mkdtempSync(join(tmpdir(), 'apn-data-')));
    const shared = { APN_HOLD_TTL_S: '1', APN_ADMIN_TOKEN: 'shared-admin-token-0123456789', APN_QUEUE_PREFIX: `split${Date.now()}` };
    const api = await spawnService(
      baseEnv({ ...shared, ...(db ? { DATABASE_URL: db.url } : { APN_DATA_DIR: dataDir! }), APN_ROLE: 'api' }),
    );
    const databaseUrl = db?.url ?? api.databaseUrl!;
    const metricsPort = String(await freePort());
    const worker = await spawnService(baseEnv({ ...shared, DATABASE_URL: databaseUrl, APN_ROLE: 'worker', APN_METRICS_PORT: metricsPort }));
    try {
      expect(worker.url).toBeNull();
      const token = shared.APN_ADMIN_TOKEN;
      const tenant = await gqlOk(api.url!, token, 'mutation { createTenant(name: "Split") { id } }');
      const ep = await gqlOk(api.url!, token, '{ endpoints { id code } }');
      const id = (code: string) => ep.endpoints.find((e: { code: string }) => e.code === code).id;
      const start = new Date(Date.now() + 3_600_000).toISOString();
      const end = new Date(Date.now() + 7_200_000).toISOString();
      const r = await gqlOk(api.url!, token, `mutation($i: ReserveLightpathInput!) { reserveLightpath(input: $i) { id state } }`, {
        i: {
          tenantId: tenant.createTenant.id,
          sourceEndpointId: id('OTE-HQ-100G-1'),
          destinationEndpointId: id('TAM-GDC-100G-1'),
          rateGbps: 100,
          start,
          end,
        },
      });
      expect(r.reserveLightpath.state).toBe('HELD');
      const sql = new Client({ connectionString: databaseUrl });
      await sql.connect();
      const deadline = Date.now() + 20_000;
      let state = 'HELD';
      while (state === 'HELD' && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 200));
        state = (await sql.query('SELECT state FROM reservations WHERE id = $1', [r.reserveLightpath.id])).rows[0].state;
      }
      await sql.end();
      expect(state).toBe('EXPIRED'); // expired by the worker process: the api process runs no processors
      // The worker has no API, but serves its own job metrics.
      const metrics = await request(`http://127.0.0.1:${metricsPort}`).get('/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.text).toMatch(/^apn_job_duration_seconds_count\{job="hold-expiry",outcome="completed"\} [1-9]/m);
      expect(await terminate(worker.child)).toBe(0);
    } finally {
      await terminate(worker.child);
      await terminate(api.child);
      await db?.drop();
      if (copy) copy.remove();
      else if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
