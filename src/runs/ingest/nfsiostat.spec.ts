import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NfsIoSample, NfsiostatReader } from './nfsiostat';
import type { Rejection } from './records';

function readAll(text: string, firstReport = 0): { samples: NfsIoSample[]; rejections: Rejection[]; reader: NfsiostatReader } {
  const reader = new NfsiostatReader(firstReport);
  const samples: NfsIoSample[] = [];
  const rejections: Rejection[] = [];
  const lines = text.split('\n');
  const take = (items: ReturnType<NfsiostatReader['read']>) => {
    for (const item of items) {
      if ('sample' in item) samples.push(item.sample);
      else rejections.push(item.rejection);
    }
  };
  lines.forEach((line, i) => take(reader.read(i + 1, line)));
  take(reader.finish());
  return { samples, rejections, reader };
}

const fixture = (name: string) => readFileSync(join(__dirname, 'fixtures', name), 'utf8');

describe('nfsiostat output', () => {
  it('reads the current layout, with the avg queue and errors columns, into samples per report, mount and direction', () => {
    const { samples, rejections, reader } = readAll(fixture('nfsiostat-queue-and-errors.txt'));
    expect(rejections).toEqual([]);
    // 3 reports × 2 mounts × (read, write)
    expect(samples).toHaveLength(12);
    expect(reader.mountPoints).toEqual(['/mnt/data', '/mnt/ckpt']);
    expect(samples[0]).toEqual({
      line: 8,
      mountPoint: '/mnt/data',
      export: 'ote-nfs.example.net:/export/unet3d',
      report: 0,
      direction: 'READ',
      opsPerSecond: 910.23,
      kbPerSecond: 930000.45,
      kbPerOp: 1021.723,
      retrans: 0,
      avgRttMs: 0.512,
      avgExeMs: 0.601,
      avgQueueMs: 0.012,
      errors: 0,
      mountOpsPerSecond: 913.23,
      rpcBacklog: 0,
    });
    const dataReads = samples.filter((s) => s.mountPoint === '/mnt/data' && s.direction === 'READ');
    expect(dataReads.map((s) => s.report)).toEqual([0, 1, 2]);
    expect(dataReads[2]).toMatchObject({ opsPerSecond: 912.23, kbPerSecond: 932000.45, avgRttMs: 0.532 });
    const ckptWrite = samples.find((s) => s.mountPoint === '/mnt/ckpt' && s.direction === 'WRITE' && s.report === 1);
    expect(ckptWrite).toMatchObject({ opsPerSecond: 2, kbPerSecond: 2048, kbPerOp: 1024 });
  });

  it('reads the six-column layout of older versions, leaving queue time and errors unknown', () => {
    const { samples, rejections } = readAll(fixture('nfsiostat-six-columns.txt'));
    expect(rejections).toEqual([]);
    expect(samples).toHaveLength(12);
    expect(samples[0]).toMatchObject({
      report: 0,
      direction: 'READ',
      kbPerSecond: 930000.45,
      avgRttMs: 0.512,
      avgQueueMs: null,
      errors: null,
      retrans: 0,
    });
    expect(samples.find((s) => s.report === 1 && s.mountPoint === '/mnt/data' && s.direction === 'READ')).toMatchObject({ retrans: 1 });
  });

  it('reads the tab-separated layout with "op/s" of the oldest versions', () => {
    const { samples, rejections } = readAll(fixture('nfsiostat-tab-separated.txt'));
    expect(rejections).toEqual([]);
    expect(samples).toHaveLength(12);
    expect(samples[0]).toMatchObject({
      mountPoint: '/mnt/data',
      report: 0,
      opsPerSecond: 910.23,
      kbPerSecond: 930000.45,
      kbPerOp: 1021.723,
      avgExeMs: 0.601,
      mountOpsPerSecond: 913.23,
    });
  });

  it('turns the megabytes of -m back into kilobytes', () => {
    const { samples, rejections } = readAll(fixture('nfsiostat-megabytes.txt'));
    expect(rejections).toEqual([]);
    expect(samples[0].kbPerSecond).toBeCloseTo(930000.45, -1);
    expect(samples[0].kbPerOp).toBeCloseTo(1021.723, -1);
    expect(samples[0].avgQueueMs).toBe(0.012);
  });

  it('numbers reports from firstReport when an output comes in parts', () => {
    const { samples } = readAll(fixture('nfsiostat-queue-and-errors.txt'), 60);
    expect([...new Set(samples.map((s) => s.report))]).toEqual([60, 61, 62]);
  });

  it('refuses a line of values that does not fit its header, naming the line and the column, and keeps the rest', () => {
    const lines = fixture('nfsiostat-queue-and-errors.txt').split('\n');
    lines[7] = lines[7].replace('930000.450', 'lots');
    lines[9] = '                   0.000           0.000';
    const { samples, rejections } = readAll(lines.join('\n'));
    expect(rejections).toEqual([
      { line: 8, field: 'read.kB/s', reason: expect.stringMatching(/non-negative number; got "lots"/) },
      { line: 10, field: 'write', reason: expect.stringMatching(/expected 8 values .* on line 9/) },
    ]);
    expect(samples).toHaveLength(10);
  });

  it('refuses negative figures and sections before any mount line; skips other sections and summaries', () => {
    const text = [
      'read:              ops/s            kB/s           kB/op         retrans    avg RTT (ms)    avg exe (ms)',
      '                   1.000           1.000           1.000        0 (0.0%)           0.100           0.100',
      'srv:/x mounted on /mnt/x:',
      'getattr:           ops/s            kB/s           kB/op         retrans    avg RTT (ms)    avg exe (ms)',
      '                   5.000           0.100           0.020        0 (0.0%)           0.100           0.100',
      '12 VFS opens',
      'read:              ops/s            kB/s           kB/op         retrans    avg RTT (ms)    avg exe (ms)',
      '                  -1.000           1.000           1.000        0 (0.0%)           0.100           0.100',
      'write:             ops/s            kB/s           kB/op         retrans    avg RTT (ms)    avg exe (ms)',
    ].join('\n');
    const { samples, rejections, reader } = readAll(text);
    expect(samples).toEqual([]);
    expect(rejections.map((r) => [r.line, r.field])).toEqual([
      [1, 'mount'],
      [8, 'read.ops/s'],
      [9, 'write'],
    ]);
    // The orphan values line, the -a summary line.
    expect(reader.skipped).toBe(2);
  });
});
