/**
 * Sizing an NFS mount to the path it crosses, so that enough bytes are in flight to fill it.
 *
 * A path of rate R and round-trip time RTT holds BDP = R × RTT / 8 bytes (the bandwidth-delay product);
 * a reader that keeps fewer bytes outstanding waits on the speed of light, not on the link. 100 Gbps over
 * the 40 km Tama path (RTT = 2 × 40 km × 4.9 µs/km = 0.392 ms) holds 4.9 MB; over the 1,115 km Ishikari
 * path (RTT 10.927 ms) it holds 136.6 MB. Every limit on outstanding NFS bytes must reach the BDP:
 *
 * 1. READ/WRITE size. rsize = wsize = the largest power of two not above the BDP, kept between 64 KiB and
 *    1 MiB (Linux's maximum, NFS_MAX_FILE_IO_SIZE; both are multiples of 4096). A READ larger than the
 *    whole path adds no throughput and only delays the replies queued behind it on its connection; on
 *    any path holding 1 MiB or more (100 Gbps beyond ~9 km) it is 1 MiB, the fewest RPCs per byte.
 * 2. Session slots. NFSv4.1+ bounds the RPCs outstanding on a session, which all of a mount's connections
 *    share, so ceil(BDP / rsize) slots are needed. The Linux client asks for 64 (nfs.max_session_slots,
 *    NFS4_DEF_SLOT_TABLE_SIZE; at most 1024) and the spec raises it above that. Linux nfsd used to grant
 *    at most 160 slots per session (NFSD_MAX_SLOTS_PER_SESSION) before it learned to grow the table.
 * 3. Connections over TCP: nconnect = max(ceil(R / 25 Gbps), ceil(BDP / 16 MiB)), at most 16 (Linux's
 *    limit). One TCP connection is handled by one core at each end and tops out around 25 Gbps on
 *    typical hosts (25–40 Gbps is what single streams reach; the low end is assumed). Its window is kept
 *    to 16 MiB because a single flow with a larger window on a long path takes long to recover from one
 *    loss, while N flows lose only 1/N of what is in flight. Each connection then carries BDP / nconnect;
 *    TCP autotuning grows a window to about half the socket-buffer ceiling (tcp_rmem / tcp_wmem max:
 *    6 MiB and 4 MiB by default), so when twice the share exceeds 4 MiB the spec raises both ceilings,
 *    on the client and the server, to the next power of two.
 *    Connections over RDMA: one. Linux's NFSv4 client honours nconnect for TCP only (nfs4_set_client),
 *    and an RDMA connection moves data without the CPU, so it is not the 25 Gbps bottleneck. Its window
 *    is credits × rsize: the server grants 32 credits (svcrdma max_requests) and the client keeps 128
 *    slots (xprtrdma rdma_slot_table_entries) by default; the spec raises whichever is below
 *    ceil(BDP / rsize).
 * 4. Read-ahead. A sequential reader keeps at most read_ahead_kb of a file outstanding, so one reader
 *    fills the path only if read-ahead covers the BDP: it is the BDP rounded up to whole READs, at least
 *    one READ per connection and the kernel's 128 KiB, at most 256 MiB (page cache held for every file
 *    being read; beyond that, several readers must share the path). NFS has no mount option for it:
 *    since Linux 5.4 an NFS mount starts at the VM default of 128 KiB, and the value is written to the
 *    mount's BDI (/sys/class/bdi/<major:minor>/read_ahead_kb) once mounted.
 *
 * In-flight capacity = min(session slots × rsize, connections × per-connection window). It is reported
 * beside the BDP, and `rule` says so when a limit leaves it short of the path.
 */

export type NfsProtocol = 'NFS_TCP' | 'NFS_RDMA';

/** What the tuning needs to know about a network path. */
export interface PathCharacteristics {
  rateGbps: number;
  /** Round-trip time; on a lightpath, 2 × distance × 4.9 µs/km. */
  rttMs: number;
  /** Only quoted in the explanation. */
  distanceKm?: number;
}

export interface NfsTuning {
  /** Bytes the path holds: rate × RTT. */
  bdpBytes: number;
  rsize: number;
  wsize: number;
  /** Transport connections the mount opens: `nconnect` over TCP, one over RDMA. */
  connections: number;
  /** NFSv4.1 session slots the client must ask for (the Linux default is 64). */
  sessionSlots: number;
  /** TCP only: the socket-buffer ceiling each end needs (4 MiB is the smaller Linux default). */
  tcpBufferBytes: number | null;
  /** RDMA only: credits (outstanding RPCs) the one connection needs (the Linux server grants 32). */
  rdmaCredits: number | null;
  /** Bytes one connection can keep in flight. */
  perConnectionBytes: number;
  /** min(sessionSlots × rsize, connections × perConnectionBytes): what the mount can keep in flight. */
  inFlightBytes: number;
  readAheadKb: number;
  /** The rule applied to this path, with its figures. */
  rule: string;
}

const KiB = 1024;
const MiB = 1024 * KiB;

export const NFS_MIN_IO_SIZE = 64 * KiB;
export const NFS_MAX_IO_SIZE = MiB;
export const NFS_MAX_NCONNECT = 16;
/** What one TCP connection carries on typical hosts (single streams reach 25–40 Gbps). */
export const TCP_GBPS_PER_CONNECTION = 25;
/** Window one TCP connection is allowed before the load is spread over another connection. */
export const TCP_WINDOW_PER_CONNECTION = 16 * MiB;
/** tcp_wmem's default ceiling (tcp_rmem's is 6 MiB): the smaller of the two bounds a connection. */
export const LINUX_TCP_BUFFER_MAX = 4 * MiB;
export const LINUX_SESSION_SLOTS = 64;
export const LINUX_MAX_SESSION_SLOTS = 1024;
/** Slots per session granted by Linux nfsd before it could grow the table. */
export const LEGACY_NFSD_SESSION_SLOTS = 160;
export const LINUX_RDMA_SERVER_CREDITS = 32;
export const LINUX_RDMA_CLIENT_SLOTS = 128;
export const LINUX_READ_AHEAD_KB = 128;
export const MAX_READ_AHEAD_BYTES = 256 * MiB;

/** What is wrong with a path's figures, or null when they can be tuned for. */
export function pathProblem(path: PathCharacteristics): { field: keyof PathCharacteristics; message: string } | null {
  const atLeastZero = (n: number) => Number.isFinite(n) && n >= 0;
  if (!(atLeastZero(path.rateGbps) && path.rateGbps > 0)) {
    return { field: 'rateGbps', message: `rateGbps must be a positive number, got ${path.rateGbps}` };
  }
  if (!atLeastZero(path.rttMs)) return { field: 'rttMs', message: `rttMs must be zero or more, got ${path.rttMs}` };
  if (path.distanceKm !== undefined && !atLeastZero(path.distanceKm)) {
    return { field: 'distanceKm', message: `distanceKm must be zero or more, got ${path.distanceKm}` };
  }
  return null;
}

/** Tunes a mount over `path`. Throws a RangeError for figures `pathProblem` refuses. */
export function tuneNfs(path: PathCharacteristics, protocol: NfsProtocol): NfsTuning {
  const problem = pathProblem(path);
  if (problem) throw new RangeError(problem.message);
  const bdpBytes = Math.round((path.rateGbps * 1e9 * path.rttMs) / 1e3 / 8);
  const rsize = clamp(floorPowerOfTwo(bdpBytes), NFS_MIN_IO_SIZE, NFS_MAX_IO_SIZE);
  const readsInFlight = Math.ceil(bdpBytes / rsize);
  const sessionSlots = clamp(readsInFlight, LINUX_SESSION_SLOTS, LINUX_MAX_SESSION_SLOTS);

  let connections = 1;
  let tcpBufferBytes: number | null = null;
  let rdmaCredits: number | null = null;
  let perConnectionBytes: number;
  if (protocol === 'NFS_TCP') {
    const forRate = Math.ceil(path.rateGbps / TCP_GBPS_PER_CONNECTION);
    const forWindow = Math.ceil(bdpBytes / TCP_WINDOW_PER_CONNECTION);
    connections = clamp(Math.max(forRate, forWindow), 1, NFS_MAX_NCONNECT);
    tcpBufferBytes = Math.max(LINUX_TCP_BUFFER_MAX, ceilPowerOfTwo(2 * Math.ceil(bdpBytes / connections)));
    perConnectionBytes = tcpBufferBytes / 2;
  } else {
    rdmaCredits = Math.max(LINUX_RDMA_SERVER_CREDITS, readsInFlight);
    perConnectionBytes = rdmaCredits * rsize;
  }
  const inFlightBytes = Math.min(sessionSlots * rsize, connections * perConnectionBytes);
  const readAheadBytes = Math.min(MAX_READ_AHEAD_BYTES, Math.max(readsInFlight * rsize, connections * rsize, LINUX_READ_AHEAD_KB * KiB));

  const tuning = {
    bdpBytes,
    rsize,
    wsize: rsize,
    connections,
    sessionSlots,
    tcpBufferBytes,
    rdmaCredits,
    perConnectionBytes,
    inFlightBytes,
    readAheadKb: readAheadBytes / KiB,
  };
  return { ...tuning, rule: explain(path, tuning) };
}

function explain(path: PathCharacteristics, t: Omit<NfsTuning, 'rule'>): string {
  const distance = path.distanceKm === undefined ? '' : ` over ${path.distanceKm.toLocaleString('en-US')} km`;
  const rtt = Number(path.rttMs.toFixed(4));
  const readsInFlight = Math.ceil(t.bdpBytes / t.rsize);
  const lines = [
    `Bytes in flight needed = BDP = ${path.rateGbps} Gbps × ${rtt} ms RTT${distance} = ${megabytes(t.bdpBytes)}.`,
    `rsize = wsize = ${binary(t.rsize)}: the largest power of two not above the BDP, within 64 KiB–1 MiB.`,
  ];
  if (t.tcpBufferBytes !== null) {
    const forRate = Math.ceil(path.rateGbps / TCP_GBPS_PER_CONNECTION);
    const forWindow = Math.ceil(t.bdpBytes / TCP_WINDOW_PER_CONNECTION);
    const window = binary(t.perConnectionBytes);
    lines.push(
      `nconnect = ${t.connections} = max(ceil(${path.rateGbps} Gbps / ${TCP_GBPS_PER_CONNECTION} Gbps per TCP ` +
        `connection) = ${forRate}, ceil(BDP / ${binary(TCP_WINDOW_PER_CONNECTION)} window per connection) = ` +
        `${forWindow}), at most ${NFS_MAX_NCONNECT}; each connection carries ` +
        `${megabytes(Math.ceil(t.bdpBytes / t.connections))}.`,
      t.tcpBufferBytes > LINUX_TCP_BUFFER_MAX
        ? `TCP buffer ceilings raised to ${binary(t.tcpBufferBytes)} on client and server, for a ${window} window.`
        : `Linux's default TCP buffers (${binary(LINUX_TCP_BUFFER_MAX)}) allow a ${window} window: enough.`,
    );
  } else {
    lines.push(
      `One RDMA connection (Linux's NFSv4 client honours nconnect over TCP only) with ${t.rdmaCredits} credits: ` +
        `${readsInFlight} READs of ${binary(t.rsize)} fill the path; Linux grants ${LINUX_RDMA_SERVER_CREDITS}.`,
    );
  }
  lines.push(
    `Session slots = ${t.sessionSlots}: ceil(BDP / rsize) = ${readsInFlight}; the Linux client asks for ` +
      `${LINUX_SESSION_SLOTS} by default, at most ${LINUX_MAX_SESSION_SLOTS}.`,
  );
  if (t.sessionSlots > LEGACY_NFSD_SESSION_SLOTS) {
    lines.push(`The server must grant more than the ${LEGACY_NFSD_SESSION_SLOTS} slots older Linux nfsd allows.`);
  }
  const fills = t.inFlightBytes >= t.bdpBytes;
  lines.push(
    `In flight: min(${t.sessionSlots} slots × ${binary(t.rsize)}, ${t.connections} × ` +
      `${binary(t.perConnectionBytes)}) = ${megabytes(t.inFlightBytes)} ` +
      (fills ? '≥ BDP.' : '< BDP: the path cannot be filled within Linux limits.'),
  );
  const readAhead = `${t.readAheadKb} KiB (${binary(t.readAheadKb * KiB)})`;
  lines.push(
    t.readAheadKb * KiB >= t.bdpBytes
      ? `Read-ahead ${readAhead}: one sequential reader keeps the BDP in flight.`
      : `Read-ahead capped at ${readAhead}: at least ${Math.ceil(t.bdpBytes / (t.readAheadKb * KiB))} ` +
          'files must be read at once to fill the path.',
  );
  return lines.join('\n');
}

const clamp = (value: number, min: number, max: number) => Math.min(max, Math.max(min, value));
/** Largest power of two ≤ n (1 for n < 1); by doubling, since Math.log2 can round up near a power. */
function floorPowerOfTwo(n: number): number {
  let power = 1;
  while (power * 2 <= n) power *= 2;
  return power;
}
function ceilPowerOfTwo(n: number): number {
  let power = 1;
  while (power < n) power *= 2;
  return power;
}
export const megabytes = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const binary = (bytes: number) => (bytes % MiB === 0 ? `${bytes / MiB} MiB` : `${bytes / KiB} KiB`);
