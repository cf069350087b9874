import { DEFAULT_RATE_CARD } from '../metering/rating';
import { type PowerSeries, type SummaryInput, summarizeRun } from './run-summary';
import { bucketOf } from './step-histogram';

const site = (id: string, pue: number, price: number) => ({ id, code: id.toUpperCase(), pue, carbonKgPerKwh: 0.4, energyUsdPerKwh: price });
const reference = {
  GPU_SERVER: { powerKw: 7.5, capexUsd: 199_000, lifeYears: 4, powerBasis: 'gpu power', priceBasis: 'gpu price' },
  STORAGE_NFS_ARRAY: { powerKw: 1.2, capexUsd: 120_000, lifeYears: 5, powerBasis: 'array power', priceBasis: 'array price' },
  CACHE_OR_REPLICA_NODE: { powerKw: 1, capexUsd: 40_000, lifeYears: 5, powerBasis: 'node power', priceBasis: 'node price' },
  SWITCH_100G: { powerKw: 0.5, capexUsd: 25_000, lifeYears: 5, powerBasis: 'switch power', priceBasis: 'switch price' },
};
const START = Date.UTC(2026, 10, 21, 9);

function input(over: Partial<SummaryInput> = {}): SummaryInput {
  return {
    design: 'DIRECT',
    connection: { kind: 'APN', distanceKm: 40, bandwidthGbps: 100, distanceClass: 'METRO' },
    datasetBytes: 3.8e12,
    epochs: 1,
    stepsPlanned: 5000,
    steps: {
      recorded: 5000,
      readSeconds: 9.5,
      gpuSeconds: 354.5,
      saveSeconds: 0,
      buckets: {
        read: [[bucketOf(0.0019), 5000]],
        gpu: [
          [bucketOf(0.0709), 4900],
          [bucketOf(0.09), 100],
        ],
        save: [[-1, 5000]],
      },
    },
    preparation: { seconds: 0, basis: 'DIRECT: no preparation' },
    window: { startMs: START, endMs: START + 364_000 },
    io: [],
    power: [],
    gpuNodes: [{ name: 'n1', ratedPowerKw: 10.2 }],
    gpuSite: site('tam', 1.3, 0.17),
    storageSite: site('ote', 1.7, 0.22),
    reference,
    rateCard: DEFAULT_RATE_CARD,
    ...over,
  };
}

/** Samples every `every` s from `from` to `to` (ms) at a constant draw. */
function samples(
  equipment: string,
  kind: PowerSeries['kind'],
  siteId: string,
  from: number,
  to: number,
  every: number,
  watts: number,
): PowerSeries {
  const count = Math.floor((to - from) / 1000 / every) + 1;
  const last = from + (count - 1) * every * 1000;
  return {
    equipment,
    kind,
    siteId,
    samples: count,
    firstMs: from,
    lastMs: last,
    maxGapSeconds: every,
    joules: (watts * (last - from)) / 1000,
    firstWatts: watts,
    lastWatts: watts,
  };
}

describe('the summary of a measured run', () => {
  it('totals the phases, reads the percentiles from the histogram and counts training time without initialisation', () => {
    const s = summarizeRun(input());
    expect(s.trainingSeconds).toBe(364);
    expect(s.read.meanSeconds).toBeCloseTo(0.0019, 6);
    expect(Math.abs(s.gpu.p50Seconds! / 0.0709 - 1)).toBeLessThanOrEqual(0.005);
    expect(Math.abs(s.gpu.p99Seconds! / 0.09 - 1)).toBeLessThanOrEqual(0.005);
    expect(s.save).toMatchObject({ totalSeconds: 0, p50Seconds: 0, p99Seconds: 0 });
    expect(s.wallSeconds).toBe(364);
  });

  it('adds a replica copy to Read time and counts the office array for the copy only', () => {
    const s = summarizeRun(input({ design: 'REPLICATION', preparation: { seconds: 120, basis: 'mount history' } }));
    expect(s.trainingSeconds).toBe(484);
    expect(s.readSecondsWithPreparation).toBe(129.5);
    const array = s.energy.find((e) => e.kind === 'STORAGE')!;
    expect(array.seconds).toBe(120);
    expect(s.energy.find((e) => e.kind === 'REPLICA')!.seconds).toBe(484);
  });

  it('uses measured power where samples cover the run and rated power elsewhere, never both, times each site’s PUE', () => {
    const s = summarizeRun(
      input({
        power: [
          samples('n1', 'GPU_NODE', 'tam', START, START + 364_000, 10, 7200),
          samples('sw', 'SWITCH', 'tam', START + 340_000, START + 364_000, 10, 400),
        ],
      }),
    );
    const gpu = s.energy.find((e) => e.equipment === 'n1')!;
    expect(gpu).toMatchObject({ basis: 'measured' });
    expect(gpu.itKwh).toBeCloseTo((7200 * 364) / 3.6e6, 6);
    expect(gpu.kwh).toBeCloseTo(gpu.itKwh * 1.3, 9);
    // The switch's samples begin 340 s into the run: they do not cover it, so its rated power counts.
    const sw = s.energy.find((e) => e.kind === 'SWITCH' && e.siteId === 'tam')!;
    expect(sw).toMatchObject({ basis: 'rated' });
    expect(sw.itKwh).toBeCloseTo((0.5 * 364) / 3600, 9);
    expect(sw.source).toMatch(/do not cover the run/);
    expect(s.energy.filter((e) => e.kind === 'SWITCH')).toHaveLength(2);
    expect(s.energy.filter((e) => e.equipment === 'n1')).toHaveLength(1);
    const tam = s.sites.find((x) => x.siteId === 'tam')!;
    expect(tam.kwh).toBeCloseTo(
      s.energy.filter((e) => e.siteId === 'tam').reduce((n, e) => n + e.kwh, 0),
      9,
    );
    expect(s.energyKwh).toBeCloseTo(
      s.sites.reduce((n, x) => n + x.kwh, 0),
      9,
    );
  });

  it('prices each piece amortised over the run plus its energy, and the lightpath or the Internet egress', () => {
    const apn = summarizeRun(input());
    const node = apn.costs.find((c) => c.item === 'n1')!;
    expect(node.amortisedUsd).toBeCloseTo(((364 / 3600) * 199_000) / (4 * 8760), 6);
    expect(node.usd).toBeCloseTo(node.amortisedUsd! + node.energyUsd!, 9);
    expect(apn.costs.filter((c) => c.item.startsWith('network'))).toHaveLength(2);
    const internet = summarizeRun(input({ connection: { kind: 'INTERNET', distanceKm: null, bandwidthGbps: 1, distanceClass: null } }));
    const egress = internet.costs.filter((c) => c.item.startsWith('network'));
    expect(egress.length).toBeGreaterThan(0);
    expect(egress.reduce((n, c) => n + c.usd, 0)).toBeGreaterThan(100);
    expect(
      summarizeRun(input({ connection: { kind: 'LOCAL', distanceKm: null, bandwidthGbps: null, distanceClass: null } })).costs.some((c) =>
        c.item.startsWith('network'),
      ),
    ).toBe(false);
  });

  it('reads nfsiostat throughput per direction summed over nodes, latency weighted by operations', () => {
    const s = summarizeRun(
      input({
        io: [
          {
            direction: 'READ',
            node: 'a',
            samples: 2,
            seconds: 20,
            kilobytes: 20 * 1_000_000,
            operations: 20 * 1000,
            opsExeMs: 20 * 1000 * 0.5,
            opsRttMs: 20 * 1000 * 0.4,
            retrans: 0,
          },
          {
            direction: 'READ',
            node: 'b',
            samples: 1,
            seconds: 10,
            kilobytes: 10 * 500_000,
            operations: 10 * 3000,
            opsExeMs: 10 * 3000 * 0.7,
            opsRttMs: 10 * 3000 * 0.6,
            retrans: 1,
          },
        ],
      }),
    );
    expect(s.storage).toHaveLength(1);
    expect(s.storage[0].throughputMBps).toBeCloseTo(((1_000_000 + 500_000) * 1024) / 1e6, 6);
    expect(s.storage[0].latencyMs).toBeCloseTo((20_000 * 0.5 + 30_000 * 0.7) / 50_000, 9);
    expect(s.storage[0]).toMatchObject({ nodes: 2, samples: 3, retrans: 1 });
  });
});
