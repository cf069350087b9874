import { evaluateRuns, type EvaluatedRun } from './evaluation';

const unet = { modelName: 'UNet3D', datasetBytes: '3800000000000', steps: 5000, epochs: 1 };
const green = { code: 'TAM-GDC', kind: 'GREEN_DC' as const, pue: 1.3 };

function run(id: string, over: Partial<EvaluatedRun> = {}): EvaluatedRun {
  return {
    id,
    label: id,
    completed: true,
    connection: { kind: 'LOCAL', distanceKm: null, rttMs: null, bandwidthGbps: null },
    design: 'DIRECT',
    securityMeasures: ['NONE'],
    workload: unet,
    gpuSite: green,
    trainingSeconds: 357,
    energyKwh: 10,
    ...over,
  };
}
const apn = (km: number) => ({ kind: 'APN' as const, distanceKm: km, rttMs: km * 0.0098, bandwidthGbps: 100 });
const internet = { kind: 'INTERNET' as const, distanceKm: null, rttMs: 10, bandwidthGbps: 1 };

describe('evaluateRuns', () => {
  it('judges KR1.1 on the PoC figures: 364 s over 40 km against 357 s on site is +1.96 %, met', () => {
    const [verdict] = evaluateRuns([run('apn-40', { connection: apn(40), trainingSeconds: 364 }), run('local')]);
    expect(verdict).toMatchObject({ kind: 'KR1.1', runId: 'apn-40', baselineRunId: 'local', value: 364, baselineValue: 357, passed: true });
    expect(verdict.changePercent).toBeCloseTo(1.96, 2);
    expect(verdict.statement).toMatch(/KR1.1 met: "apn-40" \(apn-40\) over Open APN 40 km trained in 364.0 s, \+1.96 % against 357.0 s/);
  });

  it('fails KR1.1 beyond +10 %, and gives no verdict without a same-site run of the same workload', () => {
    const far = evaluateRuns([run('apn-1000', { connection: apn(1000), trainingSeconds: 532 }), run('local')]);
    expect(far[0]).toMatchObject({ kind: 'KR1.1', passed: false });
    expect(far[0].changePercent).toBeCloseTo(49.02, 2);
    const edge = evaluateRuns([run('apn', { connection: apn(200), trainingSeconds: 392.8 }), run('local')]);
    expect(edge[0].passed).toBe(false);
    expect(evaluateRuns([run('apn', { connection: apn(40) }), run('local', { workload: { ...unet, epochs: 2 } })])).toEqual([]);
    expect(evaluateRuns([run('apn', { connection: apn(40), completed: false }), run('local')])).toEqual([]);
  });

  it('compares REPLICATION and CACHE runs over APN with the Internet as KR2.1 and KR3.1', () => {
    const verdicts = evaluateRuns([
      run('rep-apn', { connection: apn(40), design: 'REPLICATION', trainingSeconds: 420 }),
      run('rep-net', { connection: internet, design: 'REPLICATION', trainingSeconds: 32_000 }),
      run('cache-apn', { connection: apn(40), design: 'CACHE', trainingSeconds: 500 }),
      run('cache-net', { connection: internet, design: 'CACHE', trainingSeconds: 400 }),
    ]);
    expect(verdicts.map((v) => [v.kind, v.runId, v.baselineRunId, v.passed])).toEqual([
      ['KR2.1', 'rep-apn', 'rep-net', true],
      ['KR3.1', 'cache-apn', 'cache-net', false],
    ]);
    expect(verdicts[0].statement).toMatch(/the replication counted as Read time; Open APN is faster/);
    expect(verdicts[1].statement).toMatch(/the cache fill counted as Read time; Open APN is not faster/);
  });

  it('states the cost of security measures between runs that differ only in them, and prefers like-for-like baselines', () => {
    const verdicts = evaluateRuns([
      run('krb5p', { connection: apn(40), securityMeasures: ['NFS_KRB5P'], trainingSeconds: 380 }),
      run('plain', { connection: apn(40), trainingSeconds: 364 }),
      run('local-krb5p', { securityMeasures: ['NFS_KRB5P'], trainingSeconds: 370 }),
      run('local'),
    ]);
    const kr = verdicts.filter((v) => v.kind === 'KR1.1');
    expect(kr.map((v) => [v.runId, v.baselineRunId])).toEqual([
      ['krb5p', 'local-krb5p'],
      ['plain', 'local'],
    ]);
    const security = verdicts.find((v) => v.kind === 'SECURITY' && v.runId === 'krb5p')!;
    expect(security).toMatchObject({ baselineRunId: 'plain', passed: null });
    expect(security.changePercent).toBeCloseTo(4.4, 1);
    expect(security.statement).toMatch(/With NFS_KRB5P/);
  });

  it('compares the energy of a green and a standard data center for the same run', () => {
    const verdicts = evaluateRuns([
      run('green', { energyKwh: 13 }),
      run('standard', { gpuSite: { code: 'STD-DC', kind: 'STANDARD_DC', pue: 1.7 }, energyKwh: 17 }),
    ]);
    const site = verdicts.find((v) => v.kind === 'SITE')!;
    expect(site).toMatchObject({ runId: 'green', baselineRunId: 'standard', value: 13, baselineValue: 17 });
    expect(site.changePercent).toBeCloseTo(-23.53, 2);
    expect(site.statement).toMatch(/PUE 1.3.*PUE 1.7/);
  });
});
