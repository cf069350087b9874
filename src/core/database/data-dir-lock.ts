import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * One process per data directory. The embedded PostgreSQL (PGlite) keeps no lock of its own: two
 * processes on one directory each run a database on the same files, and what one writes the other
 * overwrites or loses. So a process that uses APN_DATA_DIR first takes `<dir>/lock`, a file created
 * exclusively with its pid, host and start time, and removes it when it stops.
 *
 * A lock whose process no longer runs (killed with SIGKILL, out of memory, the machine rebooted) is stale
 * and is taken over. That can be told only on the host that wrote it: a lock written on another host
 * (another machine sharing the directory, another container on a volume) is respected until removed by hand.
 */

export const LOCK_FILE_NAME = 'lock';

export interface LockHolder {
  pid: number;
  host: string;
  /** When the holding process took the lock (ISO-8601). */
  since: string;
  /** Tells this lock from any other, so that a process removes only its own. */
  token: string;
  /** Linux: the kernel's boot id; a different one means the machine restarted since. */
  bootId?: string;
  /** Linux: the process's start time in clock ticks since boot, so a reused pid is not taken for the holder. */
  processStart?: string;
}

export interface DataDirLock {
  readonly dir: string;
  readonly file: string;
  /** The holder of the stale lock this process took over, if it took one over. */
  readonly tookOverFrom: LockHolder | null;
  /** Removes the lock if it is still this process's. Safe to call more than once. */
  release(): void;
}

/** Another process holds the directory; the message says which and what to do. */
export class DataDirInUseError extends Error {
  constructor(
    message: string,
    readonly dir: string,
    readonly holder: LockHolder | null,
  ) {
    super(message);
    this.name = 'DataDirInUseError';
  }
}

/** Tokens of the locks this process holds: a lock naming this pid is ours only if its token is here. */
const heldTokens = new Set<string>();

export function lockDataDir(dataDir: string): DataDirLock {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK_FILE_NAME);
  const self: LockHolder = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    token: randomBytes(12).toString('hex'),
    ...linuxIdentity(process.pid),
  };
  let tookOverFrom: LockHolder | null = null;

  for (let attempt = 0; attempt < 20; attempt++) {
    if (createExclusively(file, `${JSON.stringify(self, null, 2)}\n`)) {
      heldTokens.add(self.token);
      return lockHeldBy(self, dir, file, tookOverFrom);
    }
    const holder = readHolder(file);
    if (holder === 'missing') continue; // released between our attempt and the read: try again
    if (holder === 'unreadable') {
      throw new DataDirInUseError(
        `APN_DATA_DIR ${dir} has a lock file that cannot be read (${file}), so another process may be using the directory. ` +
          `If none is, delete ${file} and start again.`,
        dir,
        null,
      );
    }
    const verdict = judge(holder);
    if (verdict !== 'stale') {
      throw new DataDirInUseError(inUseMessage(dir, file, holder, verdict), dir, holder);
    }
    if (removeIfStill(file, holder)) tookOverFrom = holder;
  }
  throw new DataDirInUseError(`APN_DATA_DIR ${dir}: could not take ${file}, other processes keep taking it; start again.`, dir, null);
}

function lockHeldBy(self: LockHolder, dir: string, file: string, tookOverFrom: LockHolder | null): DataDirLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    heldTokens.delete(self.token);
    const current = readHolder(file);
    if (typeof current === 'object' && current.token === self.token) {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
  };
  // Also on an exit that skips the orderly stop (process.exit after an uncaught error). SIGKILL leaves the
  // lock behind; the next start finds its process gone and takes it over.
  process.on('exit', release);
  return { dir, file, tookOverFrom, release };
}

/**
 * Creates `file` with `content` only if it does not exist, so that no reader ever sees it half written:
 * the content goes to a private file first, which is then hard-linked to the lock's name (link(2) fails
 * when the name exists, atomically). Filesystems without hard links get an exclusive create instead.
 */
function createExclusively(file: string, content: string): boolean {
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(draft, content, { mode: 0o644, flush: true });
  try {
    linkSync(draft, file);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw error;
  } finally {
    unlinkSync(draft);
  }
  let fd: number;
  try {
    fd = openSync(file, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

function readHolder(file: string): LockHolder | 'missing' | 'unreadable' {
  // Without hard links a lock is created empty and then written: give its writer a moment.
  for (let attempt = 0; ; attempt++) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
      throw error;
    }
    const holder = parseHolder(text);
    if (holder) return holder;
    if (attempt >= 10) return 'unreadable';
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
  }
}

function parseHolder(text: string): LockHolder | null {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (
      !Number.isInteger(value.pid) ||
      typeof value.host !== 'string' ||
      typeof value.since !== 'string' ||
      typeof value.token !== 'string'
    ) {
      return null;
    }
    return value as LockHolder;
  } catch {
    return null;
  }
}

type Verdict = 'stale' | 'running' | 'other-host';

/** Whether the lock's process still runs, as far as this host can tell. */
function judge(holder: LockHolder): Verdict {
  if (holder.host !== hostname()) return 'other-host';
  const here = linuxIdentity(holder.pid);
  if (holder.bootId && here.bootId && holder.bootId !== here.bootId) return 'stale'; // rebooted since
  if (holder.pid === process.pid) {
    // Our own pid: either a lock this process holds, or one left by an earlier process that had the same pid
    // (in a container the service is pid 1 after every restart).
    return heldTokens.has(holder.token) ? 'running' : 'stale';
  }
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return 'stale';
  }
  if (holder.processStart && here.processStart && holder.processStart !== here.processStart) return 'stale'; // pid reused
  return 'running';
}

/**
 * Takes a stale lock away, unless another process replaced it meanwhile: the lock is first renamed to a
 * private name (atomic, so only one process gets it), then checked to be the stale one it read.
 */
function removeIfStill(file: string, stale: LockHolder): boolean {
  const aside = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.stale`;
  try {
    renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  const moved = readHolder(aside);
  if (typeof moved === 'object' && moved.token === stale.token) {
    unlinkSync(aside);
    return true;
  }
  // Another process took the stale lock over first and this one moved its fresh lock: put it back.
  try {
    linkSync(aside, file);
  } catch {
    // a third process took the name meanwhile; it will hold the directory
  }
  unlinkSync(aside);
  return false;
}

function inUseMessage(dir: string, file: string, holder: LockHolder, verdict: 'running' | 'other-host'): string {
  const who = `process ${holder.pid} on host ${holder.host}, running since ${holder.since}`;
  const alternatives =
    'or start this one with another APN_DATA_DIR (APN_DATA_DIR=memory keeps nothing; several processes share one database through DATABASE_URL and a PostgreSQL server)';
  if (verdict === 'other-host') {
    return (
      `APN_DATA_DIR ${dir} is in use by ${who} (lock file ${file}). ` +
      `Only one process may use a data directory: two would each run the embedded database on the same files and lose data. ` +
      `This host cannot tell whether that process still runs: stop it, ${alternatives}. ` +
      `If it no longer runs, delete ${file} and start again.`
    );
  }
  return (
    `APN_DATA_DIR ${dir} is in use by ${who} (lock file ${file}). ` +
    `Only one process may use a data directory: two would each run the embedded database on the same files and lose data. ` +
    `Stop that process first (SIGTERM or Ctrl-C), ${alternatives}.`
  );
}

/** The kernel's boot id and a process's start time, where /proc has them (Linux); nothing elsewhere. */
function linuxIdentity(pid: number): { bootId?: string; processStart?: string } {
  const identity: { bootId?: string; processStart?: string } = {};
  try {
    identity.bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    // not Linux
  }
  try {
    // Field 22 of /proc/<pid>/stat is the start time; the command name (field 2) may hold spaces and
    // parentheses, so count from the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[19]) identity.processStart = fields[19];
  } catch {
    // not Linux, or no such process
  }
  return identity;
}
