import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { baseEnv, createScratchDatabase, gqlOk, MAIN_JS, spawnService, terminate } from './support/service';
import { copyEmbeddedTemplate } from './support/templates';

/**
 * One data directory, one process: the embedded database cannot be shared, so a second process on the same
 * APN_DATA_DIR must refuse to start instead of starting and losing what the first writes.
 */

/**
 * Runs the entrypoint until it exits; resolves with its exit code and everything it printed. A process
 * that starts serving instead is stopped, and its code is reported as null.
 */
function runToExit(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [MAIN_JS], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let started = false;
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
    if (!started && /listening on/.test(output)) {
      started = true;
      child.kill('SIGTERM');
    }
  });
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((r) => child.once('exit', (code) => r({ code: started ? null : code, output })));
}

const tenantNames = async (url: string, token: string) =>
  (await gqlOk<{ tenants: Array<{ name: string }> }>(url, token, '{ tenants { name } }')).tenants.map((t) => t.name).sort();

const embeddedOnly = process.env.TEST_DATABASE_URL ? describe.skip : describe;

embeddedOnly('APN_DATA_DIR on the embedded database', () => {
  const removals: Array<() => void> = [];
  /** A data directory of its own: a copy of the migrated template when the pass has one (the lock is the point here, not initdb). */
  const dataDir = () => {
    const copy = copyEmbeddedTemplate('reference');
    if (copy) {
      removals.push(() => copy.remove());
      return copy.dataDir;
    }
    const dir = mkdtempSync(join(tmpdir(), 'apn-data-'));
    removals.push(() => rmSync(dir, { recursive: true, force: true }));
    return dir;
  };
  afterAll(() => {
    for (const remove of removals) remove();
  });

  it('refuses a second process on the same directory, naming the one holding it, while the first keeps serving and keeps its data', async () => {
    const dir = dataDir();
    const env = baseEnv({ APN_DATA_DIR: dir });
    const token = env.APN_ADMIN_TOKEN as string;
    const first = await spawnService(env);
    try {
      await gqlOk(first.url!, token, 'mutation { createTenant(name: "Before") { id } }');

      const second = await runToExit(env);
      expect(second.code).toBe(1);
      expect(second.output).toContain(
        `APN_DATA_DIR ${dir} is in use by process ${first.child.pid} on host ${hostname()}, running since 20`,
      );
      expect(second.output).toContain('Stop that process first');
      expect(second.output).not.toMatch(/listening on/);

      // The first is untouched: it serves, writes, and still holds the directory.
      await gqlOk(first.url!, token, 'mutation { createTenant(name: "After") { id } }');
      expect(await tenantNames(first.url!, token)).toEqual(['After', 'Before']);
      expect(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')).pid).toBe(first.child.pid);
      expect(await terminate(first.child)).toBe(0);
    } finally {
      await terminate(first.child);
    }
    expect(existsSync(join(dir, 'lock'))).toBe(false); // released on SIGTERM

    // Once the first has stopped, the directory is free again, with everything the first wrote.
    const next = await spawnService(env);
    try {
      expect(next.output()).not.toMatch(/took over/);
      expect(await tenantNames(next.url!, token)).toEqual(['After', 'Before']);
    } finally {
      expect(await terminate(next.child)).toBe(0);
    }
  });

  it('takes over the lock of a process that was killed (SIGKILL) and says so', async () => {
    const dir = dataDir();
    const env = baseEnv({ APN_DATA_DIR: dir });
    const killed = await spawnService(env);
    const killedPid = killed.child.pid;
    await terminate(killed.child, 'SIGKILL');
    expect(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')).pid).toBe(killedPid); // left behind

    const next = await spawnService(env);
    try {
      expect(next.output()).toContain(`data directory ${dir}: took over the lock of process ${killedPid} on ${hostname()}`);
      expect(next.output()).toContain('which no longer runs');
      await gqlOk(next.url!, env.APN_ADMIN_TOKEN as string, 'mutation { createTenant(name: "After a crash") { id } }');
      expect(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')).pid).toBe(next.child.pid);
    } finally {
      expect(await terminate(next.child)).toBe(0);
    }
  });

  it('runs processes on different directories side by side, and takes no lock with APN_DATA_DIR=memory', async () => {
    const [a, b] = [dataDir(), dataDir()];
    const services = await Promise.all([
      spawnService(baseEnv({ APN_DATA_DIR: a })),
      spawnService(baseEnv({ APN_DATA_DIR: b })),
      spawnService(baseEnv({ APN_DATA_DIR: 'memory' })),
    ]);
    try {
      for (const service of services) expect((await fetch(`${service.url}/health`)).status).toBe(200);
      expect(JSON.parse(readFileSync(join(a, 'lock'), 'utf8')).pid).toBe(services[0].child.pid);
      expect(JSON.parse(readFileSync(join(b, 'lock'), 'utf8')).pid).toBe(services[1].child.pid);
      expect(existsSync(resolve('memory'))).toBe(false); // "memory" names no directory
    } finally {
      expect(await Promise.all(services.map((s) => terminate(s.child)))).toEqual([0, 0, 0]);
    }
  });
});

const serverOnly = process.env.TEST_DATABASE_URL ? describe : describe.skip;

serverOnly('APN_DATA_DIR with DATABASE_URL', () => {
  it('is not locked: replicas on one PostgreSQL server may share a working directory', async () => {
    const db = await createScratchDatabase(process.env.TEST_DATABASE_URL as string);
    const dir = mkdtempSync(join(tmpdir(), 'apn-data-'));
    const env = baseEnv({ DATABASE_URL: db.url, APN_DATA_DIR: dir, APN_ROLE: 'api' });
    try {
      const [one, two] = await Promise.all([spawnService(env), spawnService(env)]);
      try {
        await gqlOk(one.url!, env.APN_ADMIN_TOKEN as string, 'mutation { createTenant(name: "Shared") { id } }');
        expect(await tenantNames(two.url!, env.APN_ADMIN_TOKEN as string)).toEqual(['Shared']);
        expect(existsSync(join(dir, 'lock'))).toBe(false);
      } finally {
        expect(await Promise.all([terminate(one.child), terminate(two.child)])).toEqual([0, 0]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      await db.drop();
    }
  });
});
