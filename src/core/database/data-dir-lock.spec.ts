import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirInUseError, lockDataDir, type LockHolder } from './data-dir-lock';

const onLinux = existsSync('/proc/self/stat');

describe('lockDataDir', () => {
  let dir: string;
  let lockFile: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'apn-lock-'));
    lockFile = join(dir, 'lock');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const writeLock = (holder: Partial<LockHolder>) =>
    writeFileSync(lockFile, JSON.stringify({ host: hostname(), since: '2030-01-02T03:04:05.000Z', token: 'someone-else', ...holder }));
  const lockOnDisk = () => JSON.parse(readFileSync(lockFile, 'utf8')) as LockHolder;
  const refusal = (fn: () => unknown): DataDirInUseError => {
    try {
      fn();
    } catch (error) {
      if (error instanceof DataDirInUseError) return error;
      throw error;
    }
    throw new Error('expected the data directory to be refused');
  };

  /** A process of this host that runs until killed. */
  async function liveProcess(): Promise<{ pid: number; kill(): Promise<void> }> {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    return { pid: child.pid!, kill: () => new Promise((r) => (child.once('exit', () => r()), child.kill('SIGKILL'))) };
  }

  /** The pid of a process of this host that has exited. */
  async function exitedPid(): Promise<number> {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((r) => child.once('exit', r));
    return child.pid!;
  }

  it('takes the lock with its pid, host and start time, and removes it on release', () => {
    const lock = lockDataDir(dir);
    expect(lock.file).toBe(lockFile);
    expect(lock.tookOverFrom).toBeNull();
    expect(lockOnDisk()).toMatchObject({ pid: process.pid, host: hostname(), since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    lock.release();
    lock.release();
    expect(existsSync(lockFile)).toBe(false);
    expect(readdirSync(dir)).toEqual([]); // no draft left behind
  });

  it('creates the directory when it does not exist yet', () => {
    const nested = join(dir, 'new', 'data');
    const lock = lockDataDir(nested);
    expect(existsSync(join(nested, 'lock'))).toBe(true);
    lock.release();
  });

  it('refuses a directory this process already holds', () => {
    const lock = lockDataDir(dir);
    try {
      const error = refusal(() => lockDataDir(dir));
      expect(error.message).toContain(`APN_DATA_DIR ${dir} is in use by process ${process.pid} on host ${hostname()}`);
      expect(lockOnDisk().pid).toBe(process.pid); // the holder keeps its lock
    } finally {
      lock.release();
    }
  });

  it('refuses a directory held by another running process of this host, naming it and saying what to do', async () => {
    const other = await liveProcess();
    try {
      writeLock({ pid: other.pid });
      const error = refusal(() => lockDataDir(dir));
      expect(error.holder?.pid).toBe(other.pid);
      expect(error.message).toContain(
        `APN_DATA_DIR ${dir} is in use by process ${other.pid} on host ${hostname()}, running since 2030-01-02T03:04:05.000Z`,
      );
      expect(error.message).toContain('Stop that process first');
      expect(error.message).toContain('another APN_DATA_DIR');
      expect(lockOnDisk()).toMatchObject({ pid: other.pid, token: 'someone-else' });
    } finally {
      await other.kill();
    }
  });

  it('takes over the lock of a process that no longer runs', async () => {
    const pid = await exitedPid();
    writeLock({ pid });
    const lock = lockDataDir(dir);
    try {
      expect(lock.tookOverFrom).toMatchObject({ pid, host: hostname(), since: '2030-01-02T03:04:05.000Z' });
      expect(lockOnDisk().pid).toBe(process.pid);
      expect(readdirSync(dir)).toEqual(['lock']);
    } finally {
      lock.release();
    }
  });

  it('takes over a lock naming this pid that this process does not hold (a restarted container is pid 1 again)', () => {
    writeLock({ pid: process.pid });
    const lock = lockDataDir(dir);
    expect(lock.tookOverFrom?.pid).toBe(process.pid);
    lock.release();
  });

  (onLinux ? it : it.skip)('takes over a lock written before the machine restarted, even when its pid runs again', () => {
    writeLock({ pid: process.ppid, bootId: '00000000-0000-0000-0000-000000000000' });
    const lock = lockDataDir(dir);
    expect(lock.tookOverFrom?.pid).toBe(process.ppid);
    lock.release();
  });

  (onLinux ? it : it.skip)('takes over a lock whose pid now belongs to a process started later', () => {
    writeLock({ pid: process.ppid, processStart: '1' });
    const lock = lockDataDir(dir);
    expect(lock.tookOverFrom?.pid).toBe(process.ppid);
    lock.release();
  });

  it('respects a lock written on another host, which this host cannot check, and says how to remove it', async () => {
    const pid = await exitedPid();
    writeLock({ pid, host: 'another-host.example' });
    const error = refusal(() => lockDataDir(dir));
    expect(error.message).toContain(`in use by process ${pid} on host another-host.example`);
    expect(error.message).toContain(`If it no longer runs, delete ${lockFile}`);
    expect(lockOnDisk().host).toBe('another-host.example');
  });

  it('refuses a lock file it cannot read, naming it', () => {
    writeFileSync(lockFile, 'not a lock');
    const error = refusal(() => lockDataDir(dir));
    expect(error.message).toContain(`delete ${lockFile}`);
    expect(readFileSync(lockFile, 'utf8')).toBe('not a lock');
  });

  it('leaves a lock that is no longer its own in place on release', async () => {
    const lock = lockDataDir(dir);
    writeLock({ pid: process.ppid, token: 'taken-over-by-someone-else' });
    lock.release();
    expect(lockOnDisk().token).toBe('taken-over-by-someone-else');
  });
});
