import { fiberLatencyMs } from '../topology/pce/optics';
import {
  LINUX_MAX_SESSION_SLOTS,
  MAX_READ_AHEAD_BYTES,
  NFS_MAX_IO_SIZE,
  NFS_MAX_NCONNECT,
  NFS_MIN_IO_SIZE,
  NfsProtocol,
  NfsTuning,
  tuneNfs,
} from './nfs-tuning';

const KiB = 1024;
const MiB = 1024 * KiB;

/** A lightpath over `distanceKm` of fiber: RTT = 2 × distance × 4.9 µs/km. */
const lightpath = (rateGbps: number, distanceKm: number) => ({
  rateGbps,
  distanceKm,
  rttMs: 2 * fiberLatencyMs(distanceKm),
});
const TAMA_KM = 40;
const ISHIKARI_KM = 1115;

/** The in-flight capacity the tuning claims, recomputed from its parts. */
const inFlightOf = (t: NfsTuning) => Math.min(t.sessionSlots * t.rsize, t.connections * t.perConnectionBytes);

function expectToFillThePath(t: NfsTuning) {
  expect(t.inFlightBytes).toBe(inFlightOf(t));
  expect(t.inFlightBytes).toBeGreaterThanOrEqual(t.bdpBytes);
  expect(t.readAheadKb * KiB).toBeGreaterThanOrEqual(t.bdpBytes);
}

describe('tuneNfs, 100 Gbps over TCP', () => {
  const tama = tuneNfs(lightpath(100, TAMA_KM), 'NFS_TCP');
  const ishikari = tuneNfs(lightpath(100, ISHIKARI_KM), 'NFS_TCP');

  it('needs rate × RTT bytes in flight: 4.9 MB to Tama, 136.6 MB to Ishikari', () => {
    expect(tama.bdpBytes).toBe(4_900_000); // 100e9 b/s × 0.392 ms / 8
    expect(ishikari.bdpBytes).toBe(136_587_500); // 100e9 b/s × 10.927 ms / 8
  });

  it('opens more connections on the Ishikari path than on the Tama path', () => {
    // Tama: ceil(100 / 25 Gbps) = 4 connections for throughput; its 4.9 MB fits one 16 MiB window.
    expect(tama.connections).toBe(4);
    // Ishikari: ceil(136.6 MB / 16 MiB) = 9 windows.
    expect(ishikari.connections).toBe(9);
  });

  it('reads further ahead on the Ishikari path: the whole BDP, in whole READs', () => {
    expect(tama.readAheadKb).toBe(5 * 1024); // 4.9 MB → 5 × 1 MiB
    expect(ishikari.readAheadKb).toBe(131 * 1024); // 136.6 MB → 131 × 1 MiB
  });

  it('keeps at least the BDP in flight on both paths, and read-ahead covers it', () => {
    expect(tama.rsize).toBe(NFS_MAX_IO_SIZE);
    expect(ishikari.rsize).toBe(NFS_MAX_IO_SIZE);
    expectToFillThePath(tama);
    expectToFillThePath(ishikari);
  });

  it('raises TCP buffers and session slots only where Linux defaults fall short', () => {
    expect(tama.tcpBufferBytes).toBe(4 * MiB);
    expect(tama.sessionSlots).toBe(64);
    expect(ishikari.tcpBufferBytes).toBe(32 * MiB); // 2 × 15.2 MB per connection, next power of two
    expect(ishikari.perConnectionBytes).toBe(16 * MiB);
    expect(ishikari.sessionSlots).toBe(131); // ceil(136.6 MB / 1 MiB)
  });

  it('explains the rule with the figures of the path', () => {
    expect(ishikari.rule).toContain('BDP = 100 Gbps × 10.927 ms RTT over 1,115 km = 136.6 MB');
    expect(ishikari.rule).toContain('nconnect = 9 = max(ceil(100 Gbps / 25 Gbps per TCP connection) = 4');
    expect(ishikari.rule).toContain('Session slots = 131');
    expect(ishikari.rule).toContain('≥ BDP');
    expect(tama.rule).toContain('0.392 ms RTT over 40 km = 4.9 MB');
    expect(tama.rule).toContain("Linux's default TCP buffers");
  });
});

describe('tuneNfs, 10 Gbps over TCP', () => {
  const tama = tuneNfs(lightpath(10, TAMA_KM), 'NFS_TCP');
  const ishikari = tuneNfs(lightpath(10, ISHIKARI_KM), 'NFS_TCP');

  it('uses READs no larger than a short path holds', () => {
    expect(tama.bdpBytes).toBe(490_000);
    expect(tama.rsize).toBe(256 * KiB); // the largest power of two ≤ 490 kB
    expect(ishikari.rsize).toBe(NFS_MAX_IO_SIZE);
  });

  it('needs one connection, with a window raised for the long path', () => {
    expect(tama.connections).toBe(1);
    expect(ishikari.connections).toBe(1);
    expect(ishikari.tcpBufferBytes).toBe(32 * MiB); // one connection holds 13.7 MB
    expect(ishikari.readAheadKb).toBeGreaterThan(tama.readAheadKb);
  });

  it('fills both paths', () => {
    expectToFillThePath(tama);
    expectToFillThePath(ishikari);
  });
});

describe('tuneNfs over RDMA', () => {
  const tama = tuneNfs(lightpath(100, TAMA_KM), 'NFS_RDMA');
  const ishikari = tuneNfs(lightpath(100, ISHIKARI_KM), 'NFS_RDMA');

  it('uses one connection and sizes its credits to the path', () => {
    expect([tama.connections, ishikari.connections]).toEqual([1, 1]);
    expect(tama.rdmaCredits).toBe(32); // Linux's default is enough for 5 READs
    expect(ishikari.rdmaCredits).toBe(131);
    expect(ishikari.tcpBufferBytes).toBeNull();
    expect(ishikari.rule).toContain('One RDMA connection');
  });

  it('fills both paths', () => {
    expectToFillThePath(tama);
    expectToFillThePath(ishikari);
  });
});

describe('tuneNfs limits', () => {
  const protocols: NfsProtocol[] = ['NFS_TCP', 'NFS_RDMA'];
  const cases = [1, 10, 100, 400].flatMap((rate) =>
    [0, 1, 40, 200, 500, 1000, 1115, 2000].flatMap((km) => protocols.map((p) => [rate, km, p] as const)),
  );

  it.each(cases)('%d Gbps over %d km (%s) stays within Linux limits and fills the path', (rate, km, protocol) => {
    const t = tuneNfs(lightpath(rate, km), protocol);
    expect(t.rsize).toBeGreaterThanOrEqual(NFS_MIN_IO_SIZE);
    expect(t.rsize).toBeLessThanOrEqual(NFS_MAX_IO_SIZE);
    expect(t.rsize % 4096).toBe(0);
    expect(Number.isInteger(Math.log2(t.rsize))).toBe(true);
    expect(t.wsize).toBe(t.rsize);
    expect(t.connections).toBeGreaterThanOrEqual(1);
    expect(t.connections).toBeLessThanOrEqual(NFS_MAX_NCONNECT);
    expect(t.sessionSlots).toBeLessThanOrEqual(LINUX_MAX_SESSION_SLOTS);
    expect(t.inFlightBytes).toBe(inFlightOf(t));
    expect(t.inFlightBytes).toBeGreaterThanOrEqual(t.bdpBytes);
    if (t.bdpBytes <= MAX_READ_AHEAD_BYTES) {
      expect(t.readAheadKb * KiB).toBeGreaterThanOrEqual(t.bdpBytes);
    } else {
      expect(t.readAheadKb * KiB).toBe(MAX_READ_AHEAD_BYTES);
      expect(t.rule).toMatch(/at least \d+ files must be read at once/);
    }
  });

  it('says so when a path holds more than Linux can keep in flight', () => {
    // 400 Gbps × 30 ms holds 1.5 GB; 1024 session slots × 1 MiB is 1.07 GB.
    const t = tuneNfs({ rateGbps: 400, rttMs: 30 }, 'NFS_TCP');
    expect(t.sessionSlots).toBe(LINUX_MAX_SESSION_SLOTS);
    expect(t.inFlightBytes).toBeLessThan(t.bdpBytes);
    expect(t.rule).toContain('the path cannot be filled within Linux limits');
  });

  it('refuses a rate that is not positive and an RTT below zero', () => {
    expect(() => tuneNfs({ rateGbps: 0, rttMs: 1 }, 'NFS_TCP')).toThrow(/rateGbps/);
    expect(() => tuneNfs({ rateGbps: Number.NaN, rttMs: 1 }, 'NFS_TCP')).toThrow(/rateGbps/);
    expect(() => tuneNfs({ rateGbps: 100, rttMs: -1 }, 'NFS_TCP')).toThrow(/rttMs/);
  });
});
