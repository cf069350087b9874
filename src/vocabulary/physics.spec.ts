import {
  CalibrationError,
  ModelParameters,
  ReadPath,
  calibrate,
  estimateEpoch,
  fiberRttMs,
  goodput,
  gpuTimeFromLocalEpoch,
  streamThroughput,
} from './physics';

const p: ModelParameters = {
  fiberUsPerKm: 4.9,
  lanRttMs: 0.1,
  ethernetOverheadBytes: 38,
  ipTcpHeaderBytes: 52,
  rpcHeaderBytes: 132,
  rsizeBytes: 1_048_576,
  bytesInFlight: 268_435_456,
  syncRoundTripsPerStep: 3,
};
const path = (bandwidthGbps: number, rttMs: number, mtuBytes = 9000, storage = 20e9): ReadPath => ({
  link: { bandwidthGbps, rttMs, mtuBytes },
  storageBytesPerSecond: [storage],
});

describe('physics', () => {
  it('takes 4.9 µs per km each way', () => {
    expect(fiberRttMs(40, p)).toBeCloseTo(0.392, 12);
    expect(fiberRttMs(1000, p)).toBeCloseTo(9.8, 12);
  });

  it('derives goodput from the MTU and the headers', () => {
    // 1500-byte MTU: 1448 payload bytes per 1538 on the wire, the classic ~941 Mbit/s of TCP on gigabit Ethernet.
    const internet = goodput({ bandwidthGbps: 1, rttMs: 10, mtuBytes: 1500 }, p);
    expect(internet.payloadBytesPerFrame).toBe(1448);
    expect(internet.wireBytesPerFrame).toBe(1538);
    expect(internet.gbps).toBeGreaterThan(0.94);
    expect(internet.gbps).toBeLessThan(1448 / 1538);
    const jumbo = goodput({ bandwidthGbps: 100, rttMs: 0.1, mtuBytes: 9000 }, p);
    expect(jumbo.gbps).toBeGreaterThan(98.9);
    expect(jumbo.gbps).toBeLessThan(99);
  });

  it('bounds throughput by link, storage, and bytes in flight over the round trip', () => {
    expect(streamThroughput(path(100, 0.5), p).bound).toBe('LINK');
    expect(streamThroughput(path(100, 0.5, 9000, 5e9), p)).toMatchObject({ bound: 'STORAGE', bytesPerSecond: 5e9 });
    const far = streamThroughput(path(400, 30), p);
    expect(far.bound).toBe('WINDOW');
    expect(far.bytesPerSecond).toBeCloseTo(p.bytesInFlight / 0.03, 3);
  });

  it('overlaps loading with compute and adds the synchronous round trips', () => {
    const work = { bytesPerStep: 760e6, steps: 5000, gpuSecondsPerStep: 0.07 };
    const near = estimateEpoch(work, path(100, 0.1), p);
    expect(near.bound).toBe('GPU');
    expect(near.stepSeconds).toBeCloseTo(0.07 + 3 * 0.0001, 12);
    const slow = estimateEpoch(work, path(10, 0.1), p);
    expect(slow.bound).toBe('LINK');
    expect(slow.stepSeconds).toBeCloseTo(slow.streamSecondsPerStep + 3 * 0.0001, 12);
    expect(slow.epochSeconds).toBeCloseTo(5000 * slow.stepSeconds, 9);
  });

  it('derives GPU time from a local epoch, and says when the local run was read-bound', () => {
    const work = { bytesPerStep: 760e6, steps: 5000 };
    const local = gpuTimeFromLocalEpoch(357, work, path(100, 0.1), p);
    expect(local.readBound).toBe(false);
    expect(local.gpuSecondsPerStep).toBeCloseTo(357 / 5000 - 3 * 0.0001, 12);
    expect(local.modelEpochSeconds).toBeCloseTo(357, 9);
    const tooFast = gpuTimeFromLocalEpoch(200, work, path(100, 0.1), p);
    expect(tooFast.readBound).toBe(true);
    expect(tooFast.modelEpochSeconds).toBeGreaterThan(200);
  });

  describe('calibrate', () => {
    const work = { bytesPerStep: 760e6, steps: 5000 };
    const local = { epochSeconds: 357, path: path(100, 0.1) };
    const remote = { epochSeconds: 364, path: path(100, 0.1 + fiberRttMs(40, p)) };

    it('fits the round trips on the extra RTT when the GPU hides streaming in both cases', () => {
      const fit = calibrate(work, local, remote, p);
      expect(fit.regime).toBe('GPU_BOUND_BOTH');
      expect(fit.syncRoundTripsPerStep).toBeCloseTo(7 / (5000 * 0.000392), 9);
      const params = { ...p, syncRoundTripsPerStep: fit.syncRoundTripsPerStep };
      const step = { ...work, gpuSecondsPerStep: fit.gpuSecondsPerStep };
      expect(estimateEpoch(step, local.path, params).epochSeconds).toBeCloseTo(357, 9);
      expect(estimateEpoch(step, remote.path, params).epochSeconds).toBeCloseTo(364, 9);
    });

    it('fits on the remote case first when it is streaming-bound', () => {
      const narrow = { epochSeconds: 500, path: path(100, 30) }; // window-bound: 256 MiB / 30 ms ≈ 8.9 GB/s, 425 s of streaming
      const fit = calibrate(work, local, narrow, p);
      expect(fit.regime).toBe('GPU_BOUND_LOCAL_STREAM_BOUND_REMOTE');
      const params = { ...p, syncRoundTripsPerStep: fit.syncRoundTripsPerStep };
      const step = { ...work, gpuSecondsPerStep: fit.gpuSecondsPerStep };
      expect(estimateEpoch(step, local.path, params).epochSeconds).toBeCloseTo(357, 9);
      expect(estimateEpoch(step, narrow.path, params).epochSeconds).toBeCloseTo(500, 9);
    });

    it('refuses measurements the model cannot reproduce', () => {
      expect(() => calibrate(work, local, { ...remote, epochSeconds: 300 }, p)).toThrow(CalibrationError);
      expect(() => calibrate(work, local, { ...remote, path: local.path }, p)).toThrow(/longer round trip/);
    });
  });
});
