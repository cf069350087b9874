/**
 * The text `nfsiostat INTERVAL COUNT` prints (nfs-utils, tools/nfs-iostat), unmodified. Each report holds,
 * per NFS mount:
 *
 *   server:/export mounted on /mnt/data:
 *
 *              ops/s       rpc bklog
 *           1234.567           0.000
 *
 *   read:              ops/s            kB/s           kB/op         retrans    avg RTT (ms)    avg exe (ms)  avg queue (ms)          errors
 *                    910.230      930000.450        1021.723        0 (0.0%)           0.512           0.601           0.012        0 (0.0%)
 *   write:             ops/s            kB/s           kB/op         retrans    avg RTT (ms)    avg exe (ms)  avg queue (ms)          errors
 *                      0.000           0.000           0.000        0 (0.0%)           0.000           0.000           0.000        0 (0.0%)
 *
 * Versions differ in the columns after `avg exe (ms)` (`avg queue (ms)` since 2019; `errors` when the kernel
 * counts them), in `-m` (MB/s and MB/op instead of kB), and older ones printed tab-separated columns and
 * `op/s` on the mount line. The columns are read from each header, so every layout parses alike.
 *
 * The first report of a mount holds its totals since it was mounted; each later one covers one interval.
 * Reports are numbered per mount point in the order they appear (0, 1, 2, …, plus `firstReport` when an
 * output is uploaded in parts). Only the read and write sections become samples; other sections (-a, -d,
 * -p) and their summary lines are skipped and counted. Pure: no framework, no database.
 */
import { Rejection, nameProblem, reject } from './records';

export type IoDirectionName = 'READ' | 'WRITE';

export interface NfsIoSample {
  readonly line: number;
  readonly mountPoint: string;
  readonly export: string;
  readonly report: number;
  readonly direction: IoDirectionName;
  readonly opsPerSecond: number;
  readonly kbPerSecond: number;
  readonly kbPerOp: number;
  readonly retrans: number;
  readonly avgRttMs: number;
  readonly avgExeMs: number;
  readonly avgQueueMs: number | null;
  readonly errors: number | null;
  readonly mountOpsPerSecond: number | null;
  readonly rpcBacklog: number | null;
}

export type NfsiostatItem = { sample: NfsIoSample } | { rejection: Rejection };

export const NFSIOSTAT_BOUNDS = {
  mountPointLength: 500,
  exportLength: 1000,
  maxReport: 100_000_000,
} as const;

type Column = 'ops/s' | 'kB/s' | 'kB/op' | 'retrans' | 'avg RTT (ms)' | 'avg exe (ms)' | 'avg queue (ms)' | 'errors';
const COLUMN = /ops\/s|[kM]B\/s|[kM]B\/op|retrans|avg RTT \(ms\)|avg exe \(ms\)|avg queue \(ms\)|errors/g;
const REQUIRED: readonly Column[] = ['ops/s', 'kB/s', 'kB/op', 'retrans', 'avg RTT (ms)', 'avg exe (ms)'];

const MOUNT_LINE = /^(\S.*) mounted on (.+):$/;
const MOUNT_OPS_HEADER = /^\s*ops?\/s\s+rpc bklog\s*$/;
const OP_HEADER = /^([a-z][a-z0-9_]*):(.*)$/i;
const NUMBER = /^\d+(\.\d+)?$/;
const PERCENT = /^\(\s*-?\d+(\.\d+)?%\)$/;

interface Mount {
  mountPoint: string;
  export: string;
  report: number;
  mountOpsPerSecond: number | null;
  rpcBacklog: number | null;
}

type Expecting = { kind: 'mount-ops'; line: number } | { kind: 'op'; line: number; op: string; columns: Column[]; megabytes: boolean };

/** Reads nfsiostat output line by line; `read` returns the samples and refusals each line produces. */
export class NfsiostatReader {
  private mount: Mount | null = null;
  private readonly reports = new Map<string, number>();
  private expecting: Expecting | null = null;
  /** Lines that are neither part of a read or write section nor blank, e.g. the -a/-d/-p summaries. */
  skipped = 0;
  /** Mount points seen, in order. */
  readonly mountPoints: string[] = [];

  constructor(private readonly firstReport = 0) {}

  read(line: number, raw: string): NfsiostatItem[] {
    const text = raw.replace(/\s+$/, '');
    if (text === '') return [];
    const items: NfsiostatItem[] = [];
    const expecting = this.expecting;
    if (expecting) {
      this.expecting = null;
      if (looksLikeValues(text)) {
        if (expecting.kind === 'mount-ops') this.readMountOps(expecting.line, line, text, items);
        else this.readOpValues(expecting, line, text, items);
        return items;
      }
      if (expecting.kind === 'mount-ops' || isSampled(expecting.op)) {
        items.push({
          rejection: reject(
            expecting.line,
            expecting.kind === 'op' ? expecting.op : 'ops/s',
            'a header line without the line of values that should follow it',
          ),
        });
      }
    }
    this.readLine(line, text, items);
    return items;
  }

  /** Call once the upload ended: a header left without values is refused. */
  finish(): NfsiostatItem[] {
    const expecting = this.expecting;
    this.expecting = null;
    if (!expecting || (expecting.kind === 'op' && !isSampled(expecting.op))) return [];
    return [
      {
        rejection: reject(
          expecting.line,
          expecting.kind === 'op' ? expecting.op : 'ops/s',
          'a header line without the line of values that should follow it (the output ends there)',
        ),
      },
    ];
  }

  private readLine(line: number, text: string, items: NfsiostatItem[]): void {
    const mounted = MOUNT_LINE.exec(text);
    if (mounted) {
      const [, exported, mountPoint] = mounted;
      const problem = nameProblem(mountPoint, NFSIOSTAT_BOUNDS.mountPointLength) ?? nameProblem(exported, NFSIOSTAT_BOUNDS.exportLength);
      if (problem) {
        this.mount = null;
        items.push({ rejection: reject(line, 'mount', `the mount line ${problem}`) });
        return;
      }
      const seen = this.reports.get(mountPoint) ?? 0;
      this.reports.set(mountPoint, seen + 1);
      if (seen === 0) this.mountPoints.push(mountPoint);
      const report = this.firstReport + seen;
      if (report > NFSIOSTAT_BOUNDS.maxReport) {
        this.mount = null;
        items.push({ rejection: reject(line, 'mount', `report ${report} of ${mountPoint} is beyond ${NFSIOSTAT_BOUNDS.maxReport}`) });
        return;
      }
      this.mount = { mountPoint, export: exported, report, mountOpsPerSecond: null, rpcBacklog: null };
      return;
    }
    if (MOUNT_OPS_HEADER.test(text)) {
      this.expecting = { kind: 'mount-ops', line };
      return;
    }
    const header = OP_HEADER.exec(text.trim());
    if (header && header[2].match(COLUMN)) {
      const op = header[1].toLowerCase();
      const names = header[2].match(COLUMN) as string[];
      const megabytes = names.some((n) => n.startsWith('MB'));
      const columns = names.map((n) => n.replace(/^MB/, 'kB') as Column);
      if (isSampled(op)) {
        if (!this.mount) {
          items.push({
            rejection: reject(line, 'mount', `a ${op}: section before any "… mounted on …:" line; upload the output of nfsiostat whole`),
          });
          return;
        }
        const missing = REQUIRED.filter((c) => !columns.includes(c));
        if (missing.length > 0) {
          items.push({ rejection: reject(line, op, `the header lacks the column(s) ${missing.join(', ')}`) });
          return;
        }
      }
      this.expecting = { kind: 'op', line, op, columns, megabytes };
      return;
    }
    this.skipped += 1;
  }

  private readMountOps(headerLine: number, line: number, text: string, items: NfsiostatItem[]): void {
    const tokens = text.trim().split(/\s+/);
    if (tokens.length !== 2 || !tokens.every((t) => NUMBER.test(t))) {
      items.push({
        rejection: reject(
          line,
          'ops/s',
          `expected two numbers (ops/s and rpc bklog) under the header on line ${headerLine}; got ${JSON.stringify(text.trim())}`,
        ),
      });
      return;
    }
    if (!this.mount) {
      items.push({ rejection: reject(line, 'mount', 'mount statistics before any "… mounted on …:" line') });
      return;
    }
    this.mount.mountOpsPerSecond = Number(tokens[0]);
    this.mount.rpcBacklog = Number(tokens[1]);
  }

  private readOpValues(expecting: Extract<Expecting, { kind: 'op' }>, line: number, text: string, items: NfsiostatItem[]): void {
    if (!isSampled(expecting.op) || !this.mount) return;
    const { op, columns, megabytes } = expecting;
    const values = splitValues(text);
    if (values === null || values.length !== columns.length) {
      items.push({
        rejection: reject(
          line,
          op,
          `expected ${columns.length} values (${columns.join(', ')}) under the ${op}: header on line ${expecting.line}; got ${JSON.stringify(text.trim())}`,
        ),
      });
      return;
    }
    const byColumn = new Map<Column, number>();
    for (let i = 0; i < columns.length; i++) {
      const v = values[i];
      if (!NUMBER.test(v.number)) {
        items.push({ rejection: reject(line, `${op}.${columns[i]}`, `must be a non-negative number; got ${JSON.stringify(v.number)}`) });
        return;
      }
      const n = Number(v.number);
      if (!Number.isFinite(n)) {
        items.push({ rejection: reject(line, `${op}.${columns[i]}`, `is not a finite number: ${v.number}`) });
        return;
      }
      byColumn.set(columns[i], n);
    }
    const scale = megabytes ? 1024 : 1;
    const mount = this.mount;
    items.push({
      sample: {
        line,
        mountPoint: mount.mountPoint,
        export: mount.export,
        report: mount.report,
        direction: op === 'read' ? 'READ' : 'WRITE',
        opsPerSecond: byColumn.get('ops/s')!,
        kbPerSecond: byColumn.get('kB/s')! * scale,
        kbPerOp: byColumn.get('kB/op')! * scale,
        retrans: Math.round(byColumn.get('retrans')!),
        avgRttMs: byColumn.get('avg RTT (ms)')!,
        avgExeMs: byColumn.get('avg exe (ms)')!,
        avgQueueMs: byColumn.get('avg queue (ms)') ?? null,
        errors: byColumn.has('errors') ? Math.round(byColumn.get('errors')!) : null,
        mountOpsPerSecond: mount.mountOpsPerSecond,
        rpcBacklog: mount.rpcBacklog,
      },
    });
  }
}

const isSampled = (op: string): boolean => op === 'read' || op === 'write';

/** A line of figures: numbers, some followed by a percentage in brackets (`0 (0.0%)`). */
function looksLikeValues(text: string): boolean {
  const first = text.trim().split(/\s+/)[0];
  return /^-?\d/.test(first);
}

/** The values of a line, a bracketed percentage kept with the count before it. */
function splitValues(text: string): Array<{ number: string; percent: string | null }> | null {
  const tokens = text.trim().split(/\s+/);
  const values: Array<{ number: string; percent: string | null }> = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (PERCENT.test(token)) {
      if (values.length === 0 || values[values.length - 1].percent !== null) return null;
      values[values.length - 1].percent = token;
      continue;
    }
    // `(` and the percentage may be apart: "0 ( 0.0%)" in the tab-separated layout.
    if (token === '(' && i + 1 < tokens.length && /%\)$/.test(tokens[i + 1])) {
      if (values.length === 0) return null;
      values[values.length - 1].percent = `(${tokens[i + 1]}`;
      i++;
      continue;
    }
    values.push({ number: token, percent: null });
  }
  return values;
}
