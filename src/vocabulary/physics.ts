/**
 * The training-time model: how long one epoch takes when the GPUs read their data over a given link from
 * a given store. Physics first, one fitted constant:
 *
 * - Round trip: the fiber's 2 × km × 4.9 µs plus the host-and-LAN round trip that exists at any site.
 * - Goodput: what TCP over Ethernet delivers of the line rate, from the MTU and the per-frame overhead
 *   (Ethernet preamble, header, FCS and inter-frame gap; IP and TCP headers), and what NFS delivers of
 *   that, from its RPC reply header per read of `rsize` bytes.
 * - Stream throughput: the least of the link's goodput, the stores' throughput, and the bytes the client
 *   keeps in flight divided by the round trip (a window-limited transfer cannot go faster).
 * - A step reads datasetBytes / steps. Loading is pipelined with compute, so a step takes the longer of the
 *   GPU time and the streaming time, plus a fixed number of synchronous round trips that cannot be hidden
 *   (opening and checking the next batch's files). That number is the only constant fitted, on the PoC's
 *   40 km case; the GPU time per step comes from the local case. See docs/planner.md.
 */

/** Light in standard single-mode fiber (group index ≈ 1.47) covers a km in ≈ 4.9 µs. */
export const FIBER_LATENCY_US_PER_KM = 4.9;

export interface ModelParameters {
  /** One-way fiber delay, µs per km. */
  fiberUsPerKm: number;
  /** Round trip between hosts at the same site (host stacks and switches), ms. */
  lanRttMs: number;
  /** Ethernet bytes on the wire per frame beyond the MTU: preamble+SFD 8, header 14, FCS 4, gap 12. */
  ethernetOverheadBytes: number;
  /** IP and TCP headers inside the MTU (IPv4 20 + TCP 20 + timestamp option 12). */
  ipTcpHeaderBytes: number;
  /** ONC RPC and NFS READ reply header carried with each read of `rsizeBytes`. */
  rpcHeaderBytes: number;
  /** NFS read size. */
  rsizeBytes: number;
  /** Bytes the NFS client keeps in flight across its connections and readers. */
  bytesInFlight: number;
  /** Synchronous round trips per step that loading cannot overlap with compute (calibrated). */
  syncRoundTripsPerStep: number;
}

export interface LinkSpec {
  bandwidthGbps: number;
  rttMs: number;
  mtuBytes: number;
}

/** Which limit set a throughput or a step time. */
export type StreamBoundKind = 'LINK' | 'STORAGE' | 'WINDOW';
export type StepBoundKind = 'GPU' | StreamBoundKind;

export interface Goodput {
  gbps: number;
  payloadBytesPerFrame: number;
  wireBytesPerFrame: number;
  /** Fraction of TCP payload that is file data once RPC headers are paid. */
  rpcEfficiency: number;
}

export interface StreamThroughput {
  bytesPerSecond: number;
  bound: StreamBoundKind;
  linkBytesPerSecond: number;
  storageBytesPerSecond: number;
  windowBytesPerSecond: number;
  goodput: Goodput;
}

/** A path from the GPUs to the bytes: the link, the stores on the way, and the round trip of each synchronous operation. */
export interface ReadPath {
  link: LinkSpec;
  /** Throughput of every store the bytes pass through (origin array, cache node…), bytes/s. */
  storageBytesPerSecond: readonly number[];
  /** Round trip of one synchronous operation; defaults to the link's. A cache miss pays GPU→cache and cache→origin. */
  syncRttMs?: number;
}

export interface StepWork {
  bytesPerStep: number;
  steps: number;
  gpuSecondsPerStep: number;
}

export interface EpochEstimate {
  epochSeconds: number;
  stepSeconds: number;
  gpuSecondsPerStep: number;
  streamSecondsPerStep: number;
  syncSecondsPerStep: number;
  bound: StepBoundKind;
  stream: StreamThroughput;
}

export const BITS_PER_BYTE = 8;

/** Fiber round trip over `distanceKm`, ms. */
export function fiberRttMs(distanceKm: number, p: Pick<ModelParameters, 'fiberUsPerKm'>): number {
  return (2 * distanceKm * p.fiberUsPerKm) / 1000;
}

export function goodput(link: LinkSpec, p: ModelParameters): Goodput {
  const payloadBytesPerFrame = link.mtuBytes - p.ipTcpHeaderBytes;
  const wireBytesPerFrame = link.mtuBytes + p.ethernetOverheadBytes;
  const rpcEfficiency = p.rsizeBytes / (p.rsizeBytes + p.rpcHeaderBytes);
  const gbps = (link.bandwidthGbps * payloadBytesPerFrame * rpcEfficiency) / wireBytesPerFrame;
  return { gbps, payloadBytesPerFrame, wireBytesPerFrame, rpcEfficiency };
}

/** The least of link goodput, store throughput and bytes-in-flight / RTT; ties go to the link. */
export function streamThroughput(path: ReadPath, p: ModelParameters): StreamThroughput {
  const good = goodput(path.link, p);
  const linkBytesPerSecond = (good.gbps * 1e9) / BITS_PER_BYTE;
  const storageBytesPerSecond = Math.min(...path.storageBytesPerSecond);
  const windowBytesPerSecond = path.link.rttMs > 0 ? p.bytesInFlight / (path.link.rttMs / 1000) : Infinity;
  let bound: StreamBoundKind = 'LINK';
  let bytesPerSecond = linkBytesPerSecond;
  if (storageBytesPerSecond < bytesPerSecond) {
    bound = 'STORAGE';
    bytesPerSecond = storageBytesPerSecond;
  }
  if (windowBytesPerSecond < bytesPerSecond) {
    bound = 'WINDOW';
    bytesPerSecond = windowBytesPerSecond;
  }
  return { bytesPerSecond, bound, linkBytesPerSecond, storageBytesPerSecond, windowBytesPerSecond, goodput: good };
}

/** Per step: max(GPU, streaming) + synchronous round trips; an epoch is `steps` of them. */
export function estimateEpoch(work: StepWork, path: ReadPath, p: ModelParameters): EpochEstimate {
  const stream = streamThroughput(path, p);
  const streamSecondsPerStep = work.bytesPerStep / stream.bytesPerSecond;
  const syncSecondsPerStep = (p.syncRoundTripsPerStep * (path.syncRttMs ?? path.link.rttMs)) / 1000;
  const gpuBound = work.gpuSecondsPerStep >= streamSecondsPerStep;
  const stepSeconds = Math.max(work.gpuSecondsPerStep, streamSecondsPerStep) + syncSecondsPerStep;
  return {
    epochSeconds: work.steps * stepSeconds,
    stepSeconds,
    gpuSecondsPerStep: work.gpuSecondsPerStep,
    streamSecondsPerStep,
    syncSecondsPerStep,
    bound: gpuBound ? 'GPU' : stream.bound,
    stream,
  };
}

/** Bulk copy of `bytes` over a path (replication): streaming only, at the path's throughput. */
export function transferSeconds(bytes: number, path: ReadPath, p: ModelParameters): { seconds: number; stream: StreamThroughput } {
  const stream = streamThroughput(path, p);
  return { seconds: bytes / stream.bytesPerSecond, stream };
}

export interface LocalGpuTime {
  gpuSecondsPerStep: number;
  /** True when the local epoch is shorter than streaming plus round trips allow: GPU time is then only an upper bound. */
  readBound: boolean;
  /** The model's local epoch with that GPU time (equals the measured one unless readBound). */
  modelEpochSeconds: number;
}

/**
 * GPU time per step from a measured local epoch: the step time minus the round trips that are not hidden.
 * When that is below the streaming time, loading was the bottleneck locally and the GPU time is only known
 * to be at most that; the streaming time is returned, since any smaller value gives the same predictions.
 */
export function gpuTimeFromLocalEpoch(
  localEpochSeconds: number,
  work: Omit<StepWork, 'gpuSecondsPerStep'>,
  localPath: ReadPath,
  p: ModelParameters,
): LocalGpuTime {
  const stream = streamThroughput(localPath, p);
  const streamSecondsPerStep = work.bytesPerStep / stream.bytesPerSecond;
  const syncSecondsPerStep = (p.syncRoundTripsPerStep * (localPath.syncRttMs ?? localPath.link.rttMs)) / 1000;
  const derived = localEpochSeconds / work.steps - syncSecondsPerStep;
  const readBound = derived < streamSecondsPerStep;
  const gpuSecondsPerStep = readBound ? streamSecondsPerStep : derived;
  return {
    gpuSecondsPerStep,
    readBound,
    modelEpochSeconds: estimateEpoch({ ...work, gpuSecondsPerStep }, localPath, p).epochSeconds,
  };
}

export interface CalibrationCase {
  epochSeconds: number;
  path: ReadPath;
}

export interface Calibration {
  syncRoundTripsPerStep: number;
  gpuSecondsPerStep: number;
  /** Which regime the two measurements put the model in. */
  regime: 'GPU_BOUND_BOTH' | 'GPU_BOUND_LOCAL_STREAM_BOUND_REMOTE';
}

export class CalibrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CalibrationError';
  }
}

/**
 * Fits the synchronous round trips per step and the GPU time per step to two measured epochs of one
 * workload: local (short RTT) and remote (longer RTT). Closed form. If the GPU hides streaming in both
 * cases, only round trips differ between them, so n = Δepoch / (steps × ΔRTT) and the GPU time is the
 * local step minus n local round trips. If streaming is longer than that GPU time in the remote case, the
 * remote step is streaming + n RTTs instead, which fixes n first.
 */
export function calibrate(
  work: Omit<StepWork, 'gpuSecondsPerStep'>,
  local: CalibrationCase,
  remote: CalibrationCase,
  p: Omit<ModelParameters, 'syncRoundTripsPerStep'>,
): Calibration {
  const params: ModelParameters = { ...p, syncRoundTripsPerStep: 0 };
  const streamStep = (path: ReadPath) => work.bytesPerStep / streamThroughput(path, params).bytesPerSecond;
  const syncRtt = (path: ReadPath) => (path.syncRttMs ?? path.link.rttMs) / 1000;
  const localStep = local.epochSeconds / work.steps;
  const remoteStep = remote.epochSeconds / work.steps;
  const localStream = streamStep(local.path);
  const remoteStream = streamStep(remote.path);
  const deltaRtt = syncRtt(remote.path) - syncRtt(local.path);
  if (!(deltaRtt > 0)) throw new CalibrationError('the remote case must have a longer round trip than the local one');

  let n = (remoteStep - localStep) / deltaRtt;
  let gpu = localStep - n * syncRtt(local.path);
  if (n >= 0 && gpu >= Math.max(localStream, remoteStream)) {
    return { syncRoundTripsPerStep: n, gpuSecondsPerStep: gpu, regime: 'GPU_BOUND_BOTH' };
  }
  n = (remoteStep - remoteStream) / syncRtt(remote.path);
  gpu = localStep - n * syncRtt(local.path);
  if (n >= 0 && gpu >= localStream && gpu <= remoteStream) {
    return { syncRoundTripsPerStep: n, gpuSecondsPerStep: gpu, regime: 'GPU_BOUND_LOCAL_STREAM_BOUND_REMOTE' };
  }
  throw new CalibrationError(
    `no non-negative round-trip count reproduces local ${local.epochSeconds} s and remote ${remote.epochSeconds} s: ` +
      `streaming alone takes ${(localStream * work.steps).toFixed(1)} s locally ` +
      `and ${(remoteStream * work.steps).toFixed(1)} s remotely; ` +
      'check the link, storage and bytes-in-flight values',
  );
}
