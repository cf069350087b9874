import { PlannerInputError } from '../vocabulary/domain';
import { CompareInput, ScenarioInput, compareScenarios } from './estimator';
import { POC_REFERENCE, REFERENCE_DEFAULTS } from '../vocabulary/reference';

const poc = POC_REFERENCE;
const measured = (name: string) => poc.measured.find((m) => m.case === name)!.epochSeconds;
const LOCAL_S = measured('local');
const APN_40_S = measured('apn-40km');
const link = poc.referenceLinkWithoutPublishedResult;
const D = poc.workload.datasetBytes;
const STEPS = poc.workload.steps;
const n = REFERENCE_DEFAULTS['model.syncRoundTripsPerStep'].value;
const lanRtt = REFERENCE_DEFAULTS['model.lanRttMs'].value;

const workload = (epochs = 1) => ({ datasetBytes: String(D), steps: STEPS, epochs, localEpochSeconds: LOCAL_S });
const apn = (km: number, design: ScenarioInput['design'] = 'DIRECT'): ScenarioInput => ({
  label: `APN ${km} km ${design}`,
  kind: 'APN',
  design,
  distanceKm: km,
});
const internet = (design: ScenarioInput['design'] = 'DIRECT'): ScenarioInput => ({
  label: `Internet ${design}`,
  kind: 'INTERNET',
  design,
  bandwidthGbps: link.bandwidthGbps,
  rttMs: link.rttMs,
});
const LOCAL: ScenarioInput = { label: 'local', kind: 'LOCAL' };

const compare = (scenarios: ScenarioInput[], extra: Partial<CompareInput> = {}) =>
  compareScenarios({ workload: workload(), scenarios, ...extra });
const within = (actual: number, expected: number, share: number) => expect(Math.abs(actual / expected - 1)).toBeLessThan(share);

describe('compareScenarios: calibration on the PoC', () => {
  it('reproduces both measured epochs within 2%', () => {
    const { scenarios } = compare([LOCAL, apn(40)]);
    within(scenarios[0].epochSeconds, LOCAL_S, 0.02);
    within(scenarios[1].epochSeconds, APN_40_S, 0.02);
    expect(scenarios[1].meetsKr11).toBe(true);
  });

  it('reproduces them from an explicit GPU time as well, and its constants are physically plausible', () => {
    const derived = compare([LOCAL]).calibration;
    // A few synchronous round trips per 760 MB step (file opens and attribute checks), not hundreds.
    expect(n).toBeGreaterThan(1);
    expect(n).toBeLessThan(10);
    // The GPU time is longer than streaming 760 MB over 100G (so loading hides behind compute locally).
    const streamAt100G = D / STEPS / ((REFERENCE_DEFAULTS['model.lanBandwidthGbps'].value * 1e9) / 8);
    expect(derived.gpuSecondsPerStep).toBeGreaterThan(streamAt100G);
    expect(derived.gpuSecondsPerStep).toBeLessThan(LOCAL_S / STEPS);
    const explicit = compareScenarios({
      workload: { datasetBytes: BigInt(D), steps: STEPS, gpuSecondsPerStep: derived.gpuSecondsPerStep },
      scenarios: [LOCAL, apn(40)],
    });
    within(explicit.scenarios[0].totalSeconds, LOCAL_S, 0.02);
    within(explicit.scenarios[1].totalSeconds, APN_40_S, 0.02);
  });
});

describe('compareScenarios: physics', () => {
  const distances = [0, 40, 100, 200, 500, 1000, 2000];
  const sweep = compare(distances.map((km) => apn(km))).scenarios;

  it('grows monotonically with distance', () => {
    for (let i = 1; i < sweep.length; i++) expect(sweep[i].epochSeconds).toBeGreaterThan(sweep[i - 1].epochSeconds);
    expect(sweep[distances.indexOf(200)].epochSeconds).toBeGreaterThan(APN_40_S);
    expect(sweep[distances.indexOf(1000)].epochSeconds).toBeGreaterThan(sweep[distances.indexOf(200)].epochSeconds);
  });

  it('derives the APN round trip from the distance at 4.9 µs/km, plus the hosts and LANs', () => {
    for (const [i, km] of distances.entries()) expect(sweep[i].link.rttMs).toBeCloseTo(lanRtt + (2 * km * 4.9) / 1000, 12);
    const measuredRtt = compare([{ ...apn(200), rttMs: 3 }]).scenarios[0];
    expect(measuredRtt.link.rttMs).toBe(3);
    expect(measuredRtt.reasons.join('\n')).toMatch(/as given/);
  });

  it('never beats the physical bounds: GPU time, goodput, bytes in flight per round trip, synchronous round trips', () => {
    const inFlight = REFERENCE_DEFAULTS['model.bytesInFlight'].value;
    const gpu = compare([LOCAL]).calibration.gpuSecondsPerStep;
    for (const r of [...sweep, compare([internet()]).scenarios[0]]) {
      const eps = 1e-9 * r.epochSeconds;
      expect(r.epochSeconds).toBeGreaterThanOrEqual(STEPS * gpu - eps);
      expect(r.epochSeconds).toBeGreaterThanOrEqual((D * 8) / (r.link.goodputGbps * 1e9) - eps);
      expect(r.epochSeconds).toBeGreaterThanOrEqual((D * r.link.rttMs) / 1000 / inFlight - eps);
      expect(r.epochSeconds).toBeGreaterThanOrEqual((STEPS * n * r.link.rttMs) / 1000 - eps);
      expect(r.link.goodputGbps).toBeLessThan(r.link.bandwidthGbps);
    }
  });

  it('makes the Internet reference link bandwidth-bound: hours, not minutes', () => {
    const r = compare([LOCAL, internet()]).scenarios[1];
    expect(r.bound).toBe('LINK');
    expect(r.link.goodputGbps).toBeGreaterThan(0.93);
    expect(r.link.goodputGbps).toBeLessThan(0.95);
    const streaming = (D * 8) / (r.link.goodputGbps * 1e9);
    expect(r.epochSeconds).toBeGreaterThanOrEqual(streaming);
    // Beyond streaming, only the synchronous round trips are added: loading no longer hides behind compute.
    expect(r.epochSeconds).toBeLessThanOrEqual(streaming + (STEPS * n * link.rttMs) / 1000 + 1e-6);
    expect(r.epochSeconds / 3600).toBeGreaterThan(8.5);
    expect(r.slowdownPercent).toBeGreaterThan(1000);
    expect(r.meetsKr11).toBe(false);
  });

  it('becomes window-bound when few bytes are in flight over a long path', () => {
    const inFlight = 16 * 1024 * 1024;
    const r = compare([apn(1000)], { overrides: { 'model.bytesInFlight': inFlight } }).scenarios[0];
    expect(r.bound).toBe('WINDOW');
    expect(r.epochSeconds).toBeGreaterThanOrEqual((D * r.link.rttMs) / 1000 / inFlight);
    expect(r.reasons.join('\n')).toMatch(/window-bound/);
  });

  it('ignores network fields for LOCAL, and says so', () => {
    const plain = compare([LOCAL]).scenarios[0];
    const noisy = compare([{ ...LOCAL, bandwidthGbps: 1, rttMs: 50, distanceKm: 900, design: 'CACHE' }]).scenarios[0];
    expect(noisy.totalSeconds).toBe(plain.totalSeconds);
    expect(noisy.design).toBe('DIRECT');
    expect(noisy.reasons[0]).toMatch(/design, bandwidthGbps, rttMs, distanceKm are ignored/);
  });
});

describe('compareScenarios: storage designs', () => {
  it('counts replication as read time, then reads locally', () => {
    const { scenarios } = compareScenarios({ workload: workload(3), scenarios: [LOCAL, apn(200, 'REPLICATION')] });
    const [local, replication] = scenarios;
    const goodputBytes = (replication.link.goodputGbps * 1e9) / 8;
    const storage = Math.min(REFERENCE_DEFAULTS['storage.arrayReadGBps'].value, REFERENCE_DEFAULTS['storage.nodeGBps'].value) * 1e9;
    expect(replication.replicationSeconds).toBeCloseTo(D / Math.min(goodputBytes, storage), 6);
    expect(replication.epochSeconds).toBeCloseTo(local.epochSeconds, 9);
    expect(replication.totalSeconds).toBeCloseTo(replication.replicationSeconds + 3 * local.epochSeconds, 6);
    expect(replication.firstEpochSeconds).toBeCloseTo(replication.replicationSeconds + local.epochSeconds, 6);
  });

  it('runs the first epoch cold through the cache and the rest like local', () => {
    const { scenarios } = compareScenarios({ workload: workload(4), scenarios: [LOCAL, apn(1000), apn(1000, 'CACHE')] });
    const [local, direct, cache] = scenarios;
    expect(cache.firstEpochSeconds).toBeGreaterThanOrEqual(direct.epochSeconds);
    expect(cache.firstEpochSeconds).toBeLessThan(direct.epochSeconds * 1.01);
    expect(cache.epochSeconds).toBeCloseTo(local.epochSeconds, 9);
    expect(cache.totalSeconds).toBeCloseTo(cache.firstEpochSeconds + 3 * local.epochSeconds, 6);
    expect(cache.totalSeconds).toBeLessThan(direct.totalSeconds);
  });

  it('judges KR1.1 as less than 10% slower than local in total', () => {
    const { scenarios } = compare([LOCAL, apn(40), apn(1000)]);
    expect(scenarios.map((r) => r.meetsKr11)).toEqual([true, true, false]);
    expect(scenarios[1].slowdownPercent).toBeCloseTo((scenarios[1].totalSeconds / scenarios[0].totalSeconds - 1) * 100, 9);
    expect(scenarios[2].reasons.join('\n')).toMatch(/misses KR1\.1/);
  });

  it('compares with the model at the GPU site LAN when no LOCAL scenario is given', () => {
    const result = compare([apn(40)]);
    expect(result.baseline.label).toBeNull();
    within(result.baseline.totalSeconds, LOCAL_S, 0.02);
  });
});

describe('compareScenarios: recommendation', () => {
  const designs = (km: number) => [apn(km, 'DIRECT'), apn(km, 'REPLICATION'), apn(km, 'CACHE')];

  it('picks the lowest total among the allowed designs', () => {
    const result = compareScenarios({ workload: workload(10), scenarios: [LOCAL, ...designs(1000)] });
    const remote = result.scenarios.filter((r) => r.kind !== 'LOCAL');
    const fastest = remote.reduce((a, b) => (a.totalSeconds <= b.totalSeconds ? a : b));
    expect(result.recommended?.label).toBe(fastest.label);
    expect(result.recommended?.design).not.toBe('DIRECT');
    expect(result.recommended?.reasons.join('\n')).toMatch(/LOCAL scenarios are the baseline/);
  });

  it('allows DIRECT only for CONFIDENTIAL data, and says why', () => {
    const result = compareScenarios({ workload: workload(10), scenarios: designs(1000), confidential: true });
    expect(result.recommended?.design).toBe('DIRECT');
    expect(result.scenarios.map((r) => r.allowed)).toEqual([true, false, false]);
    expect(result.recommended?.reasons[0]).toMatch(/CONFIDENTIAL.*DIRECT only.*not considered: APN 1000 km REPLICATION, APN 1000 km CACHE/);
    expect(result.scenarios[2].reasons.join('\n')).toMatch(/not allowed for CONFIDENTIAL data/);
  });

  it('breaks a tie on time by cost', () => {
    const result = compare(
      [
        { ...apn(40), label: 'dear', gpuSiteId: 'dear' },
        { ...apn(40), label: 'cheap', gpuSiteId: 'cheap' },
      ],
      {
        sites: { dear: { energyUsdPerKwh: 0.4 }, cheap: { energyUsdPerKwh: 0.05 } },
      },
    );
    expect(result.scenarios[0].totalSeconds).toBe(result.scenarios[1].totalSeconds);
    expect(result.recommended?.label).toBe('cheap');
    expect(result.recommended?.reasons.join('\n')).toMatch(/the cheapest is chosen/);
  });
});

describe('compareScenarios: energy, carbon and cost', () => {
  const v = REFERENCE_DEFAULTS;
  const power = (kind: string) => v[`equipment.${kind}.powerKw` as 'equipment.GPU_SERVER.powerKw'].value;

  it('sums power × time held × PUE per site, carbon at the grid intensity', () => {
    const r = compare([apn(40)]).scenarios[0];
    const hours = r.totalSeconds / 3600;
    const gpuSiteIt = (power('GPU_SERVER') + power('SWITCH_100G') + power('APN_TRANSPONDER')) * hours;
    const officeIt = (power('STORAGE_NFS_ARRAY') + power('SWITCH_100G') + power('APN_TRANSPONDER')) * hours;
    const kwh = gpuSiteIt * v['pue.green'].value + officeIt * v['pue.standard'].value;
    expect(r.energyKwh).toBeCloseTo(kwh, 9);
    expect(r.co2Kg).toBeCloseTo(kwh * v['carbon.kgPerKwh'].value, 9);
  });

  it('prices the lightpath by the hour, rate and distance class, plus the setup fee', () => {
    const { scenarios } = compare([apn(40), apn(200), apn(1000)]);
    for (const [r, cls] of [
      [scenarios[0], 'METRO'],
      [scenarios[1], 'REGIONAL'],
      [scenarios[2], 'LONG_HAUL'],
    ] as const) {
      expect(r.link.distanceClass).toBe(cls);
      const hours = r.totalSeconds / 3600;
      const expected = hours * v['network.apnWavelengthHourUsd.100'].value * v[`network.apnDistanceMultiplier.${cls}`].value;
      const lightpath = r.cost.items.find((i) => i.item.includes('Lightpath 100G'))!;
      expect(lightpath.usd).toBeCloseTo(expected, 5);
      expect(r.cost.items.find((i) => i.item.includes('Lightpath setup'))!.usd).toBe(v['network.apnSetupFeeUsd'].value);
    }
  });

  it('adds up the items, amortisation at capex / life over the hours held', () => {
    const r = compare([apn(40)]).scenarios[0];
    expect(r.costUsd).toBeCloseTo(
      r.cost.items.reduce((s, i) => s + i.usd, 0),
      5,
    );
    const gpu = r.cost.items.find((i) => i.item.startsWith('GPU_SERVER'))!;
    const hours = r.totalSeconds / 3600;
    const perHour = v['equipment.GPU_SERVER.capexUsd'].value / (v['equipment.GPU_SERVER.lifeYears'].value * 8760);
    expect(gpu.usd).toBeCloseTo(perHour * hours, 5);
  });

  it('prices Internet egress by its tiers, and GPU-hours when asked', () => {
    const r = compare([internet()], { gpuPricing: 'HOURLY' }).scenarios[0];
    const egress = r.cost.items.filter((i) => i.item.includes('Internet egress'));
    expect(egress).toHaveLength(1);
    expect(egress[0].usd).toBeCloseTo((D / 1e9) * v['network.internetEgressTiers'].value[0].usdPerGb, 6);
    const gpuHours = r.cost.items.find((i) => i.item.startsWith('GPU-hours'))!;
    expect(gpuHours.usd).toBeCloseTo((r.totalSeconds / 3600) * v['gpu.perServer'].value * v['gpu.hourUsd'].value, 5);
  });

  it('takes site figures and overrides, and shows the basis of every value used', () => {
    const base = compare([{ ...apn(40), gpuSiteId: 'hokkaido' }], { sites: { hokkaido: { pue: 1.1, carbonKgPerKwh: 0.2 } } });
    const hotter = compare([{ ...apn(40), gpuSiteId: 'hokkaido' }], {
      sites: { hokkaido: { pue: 1.1, carbonKgPerKwh: 0.2 } },
      overrides: { 'equipment.GPU_SERVER.powerKw': { value: 10.2, basis: 'rated power' }, 'energy.usdPerKwh': 0.3 },
    });
    expect(hotter.scenarios[0].energyKwh).toBeGreaterThan(base.scenarios[0].energyKwh);
    expect(hotter.scenarios[0].costUsd).toBeGreaterThan(base.scenarios[0].costUsd);
    const basis = Object.fromEntries(hotter.basis.map((b) => [b.key, b]));
    expect(basis['equipment.GPU_SERVER.powerKw']).toMatchObject({ value: 10.2, basis: 'operator override: rated power' });
    expect(basis['energy.usdPerKwh'].basis).toBe('operator override');
    expect(basis['pue.standard'].basis).toMatch(/^cited/);
    expect(basis['model.syncRoundTripsPerStep'].basis).toMatch(/^calibrated/);
    expect(hotter.basis.every((b) => b.basis.length > 0)).toBe(true);
    expect(base.scenarios[0].cost.energy.find((e) => e.site === 'GPU')).toMatchObject({ siteId: 'hokkaido', pue: 1.1 });
    expect(base.scenarios[0].sites.GPU.pue).toEqual({ value: 1.1, basis: 'site hokkaido: operator figure' });
    expect(base.scenarios[0].sites.GPU.energyUsdPerKwh).toBe(v['energy.usdPerKwh']);
    expect(base.scenarios[0].sites.STORAGE.pue).toBe(v['pue.standard']);
  });

  it('is deterministic', () => {
    const input = { workload: workload(2), scenarios: [LOCAL, apn(200, 'CACHE'), internet('REPLICATION')] };
    expect(compareScenarios(input)).toEqual(compareScenarios(input));
  });
});

describe('compareScenarios: input errors name the field', () => {
  const fieldOf = (input: unknown) => {
    try {
      compareScenarios(input as CompareInput);
    } catch (error) {
      expect(error).toBeInstanceOf(PlannerInputError);
      return (error as PlannerInputError).field;
    }
    throw new Error('expected a PlannerInputError');
  };
  const ok = { workload: workload(), scenarios: [apn(40)] };

  it.each([
    ['workload.datasetBytes', { ...ok, workload: { ...workload(), datasetBytes: '3.8e12' } }],
    ['workload.datasetBytes', { ...ok, workload: { ...workload(), datasetBytes: 0 } }],
    ['workload.steps', { ...ok, workload: { ...workload(), steps: 0 } }],
    ['workload.epochs', { ...ok, workload: { ...workload(), epochs: 1.5 } }],
    ['workload.gpuSecondsPerStep', { ...ok, workload: { datasetBytes: '1000', steps: 10 } }],
    ['workload.localEpochSeconds', { ...ok, workload: { ...workload(), localEpochSeconds: -1 } }],
    ['scenarios', { ...ok, scenarios: [] }],
    ['scenarios[0].kind', { ...ok, scenarios: [{ label: 'x', kind: 'SATELLITE' }] }],
    ['scenarios[0].design', { ...ok, scenarios: [{ ...apn(40), design: 'MIRROR' }] }],
    ['scenarios[0].label', { ...ok, scenarios: [{ ...apn(40), label: ' ' }] }],
    ['scenarios[1].label', { ...ok, scenarios: [apn(40), apn(40)] }],
    ['scenarios[0].distanceKm', { ...ok, scenarios: [{ label: 'x', kind: 'APN' }] }],
    ['scenarios[0].distanceKm', { ...ok, scenarios: [{ ...apn(40), distanceKm: -3 }] }],
    ['scenarios[0].bandwidthGbps', { ...ok, scenarios: [{ ...apn(40), bandwidthGbps: 0 }] }],
    ['scenarios[0].gpuSiteId', { ...ok, scenarios: [{ ...apn(40), gpuSiteId: 'nowhere' }] }],
    ['storageSiteId', { ...ok, storageSiteId: 'nowhere' }],
    ['sites.a.pue', { ...ok, sites: { a: { pue: 0.9 } } }],
    ['equipment.gpuServers', { ...ok, equipment: { gpuServers: 0 } }],
    ['equipment.racks', { ...ok, equipment: { racks: 2 } }],
    ['confidential', { ...ok, confidential: 'yes' }],
    ['gpuPricing', { ...ok, gpuPricing: 'FREE' }],
    ['overrides.pue.greenish', { ...ok, overrides: { 'pue.greenish': 1.2 } }],
    ['overrides.pue.green', { ...ok, overrides: { 'pue.green': 0.9 } }],
    ['overrides.model.mtuBytes.APN', { ...ok, overrides: { 'model.mtuBytes.APN': 100 } }],
    [
      'overrides.network.internetEgressTiers[0].upToGb',
      { ...ok, overrides: { 'network.internetEgressTiers': [{ upToGb: 10, usdPerGb: 0.1 }] } },
    ],
  ])('%s', (field, input) => {
    expect(fieldOf(input)).toBe(field);
  });

  it('warns when a local epoch is shorter than streaming allows', () => {
    const result = compareScenarios({ workload: { ...workload(), localEpochSeconds: 100 }, scenarios: [LOCAL] });
    expect(result.warnings[0]).toMatch(/read-bound/);
  });
});
