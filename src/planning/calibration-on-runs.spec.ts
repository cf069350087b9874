import { compareScenarios } from './estimator';

const bytes = 3_800_000_000_000;
const steps = 5000;
const lanRttMs = 0.1;

function planWith(local: number, remote: number, remoteKm: number) {
  const rttMs = lanRttMs + remoteKm * 2 * 0.0049;
  return compareScenarios({
    workload: { datasetBytes: String(bytes), steps, epochs: 1 },
    scenarios: [
      { label: 'local', kind: 'LOCAL' },
      { label: 'remote', kind: 'APN', distanceKm: remoteKm },
    ],
    calibration: {
      bytesPerStep: bytes / steps,
      steps,
      local: { label: 'measured local', epochSeconds: local },
      remote: { label: 'measured remote', epochSeconds: remote, rttMs, bandwidthGbps: 100 },
    },
  });
}

const within = (actual: number, expected: number, percent: number) => Math.abs(actual / expected - 1) * 100 <= percent;

describe('calibrating the planner on measured runs', () => {
  it('reproduces both synthetic PoC runs (357 s on site, 364 s at 40 km) within 1 %', () => {
    const result = planWith(357, 364, 40);
    const [local, remote] = result.scenarios;
    expect(within(local.epochSeconds, 357, 1)).toBe(true);
    expect(within(remote.epochSeconds, 364, 1)).toBe(true);
    expect(result.calibration.syncRoundTripsPerStep.basis).toMatch(
      /calibrated on measured runs "measured local" \(357.0 s on site\) and "measured remote" \(364.0 s/,
    );
    expect(result.calibration.gpuSecondsPerStepSource).toMatch(/measured runs/);
  });

  it('follows a tenant’s own runs, not the PoC: 400 s on site and 430 s at 200 km', () => {
    const result = planWith(400, 430, 200);
    const [local, remote] = result.scenarios;
    expect(within(local.epochSeconds, 400, 1)).toBe(true);
    expect(within(remote.epochSeconds, 430, 1)).toBe(true);
    // The PoC's calibration would predict about 392 s at 200 km for a 357 s local run: a different model.
    expect(result.calibration.syncRoundTripsPerStep.value).not.toBeCloseTo(3.571, 1);
  });

  it('refuses runs the model cannot reproduce, naming calibrationRunId', () => {
    expect(() => planWith(400, 390, 200)).toThrow(expect.objectContaining({ field: 'calibrationRunId' }));
  });
});
