import { evaluateRuns, type EvaluatedRun } from './evaluation';
import { renderReportHtml, renderReportMarkdown, type ReportModel, type ReportRun } from './report';

function reportRun(id: string, label: string, over: Partial<ReportRun> = {}): ReportRun {
  return {
    id,
    label,
    state: 'COMPLETED',
    failureReason: null,
    connection: 'same site',
    design: 'DIRECT',
    securityMeasures: ['NONE'],
    workload: 'UNet3D, 3.8 TB, 5000 steps × 1 epoch',
    gpuSite: 'TAM-GDC',
    storageSite: 'OTE-HQ',
    steps: { recorded: 5000, planned: 5000 },
    times: { read: 2.5, gpu: 354.5, save: 0, preparation: 0, training: 357 },
    perStep: { readP50: 0.0004, readP99: 0.002, gpuP50: 0.0709, gpuP99: 0.0731, saveP50: 0, saveP99: 0 },
    storage: [{ direction: 'read', throughputMBps: 10_645.2, latencyMs: 0.41 }],
    energy: [{ equipment: 'gpu-01', kind: 'GPU_NODE', site: 'TAM-GDC', kwh: 1.012, basis: 'measured' }],
    sites: [{ site: 'TAM-GDC', pue: 1.3, kwh: 1.316 }],
    costs: [{ item: 'gpu-01 (amortised)', usd: 2.75 }],
    logs: { lines: 5012, errors: 0, warnings: 2 },
    prediction: { seconds: 357.0, errorPercent: 0 },
    stepSeries: [0.0714, 0.0713, 0.0716],
    powerSeries: [
      {
        equipment: 'gpu-01',
        points: [
          [0, 10_100],
          [60, 10_250],
          [120, 10_180],
        ],
      },
    ],
    security: { inDataCenter: 'not applied', inMotion: 'not applied: sec=sys over an unencrypted lightpath', atOffice: 'not applied' },
    ...over,
  };
}

const evaluated = (id: string, seconds: number, kind: 'LOCAL' | 'APN'): EvaluatedRun => ({
  id,
  label: id,
  completed: true,
  connection: { kind, distanceKm: kind === 'APN' ? 40 : null, rttMs: null, bandwidthGbps: null },
  design: 'DIRECT',
  securityMeasures: ['NONE'],
  workload: { modelName: 'UNet3D', datasetBytes: '3800000000000', steps: 5000, epochs: 1 },
  gpuSite: { code: 'TAM-GDC', kind: 'GREEN_DC', pue: 1.3 },
  trainingSeconds: seconds,
  energyKwh: 1.3,
});

function model(): ReportModel {
  return {
    title: 'UNet3D over Open APN: PoC report',
    generatedAt: '2026-11-29T20:00:00.000Z',
    runs: [
      reportRun('local', 'local'),
      reportRun('apn-40', 'apn-40', {
        connection: 'Open APN 40 km, 100 Gbps',
        times: { read: 9.5, gpu: 354.5, save: 0, preparation: 0, training: 364 },
      }),
      reportRun('failed', 'crashed <script>alert(1)</script> | run', { state: 'FAILED', failureReason: 'CUDA out of memory at step 812' }),
    ],
    verdicts: evaluateRuns([evaluated('local', 357, 'LOCAL'), evaluated('apn-40', 364, 'APN')]),
  };
}

describe('the PoC report', () => {
  it('follows the PoC Reference §3 in HTML, with the runs’ numbers and the verdicts', () => {
    const html = renderReportHtml(model());
    for (const heading of [
      'Requirements for evaluation',
      'Evaluation method',
      'Metrics collected',
      'Logs collected',
      'Points of verify',
      'Security considerations',
      'Benchmark testing',
      'Power and energy per equipment and per site',
      'Cost per equipment',
    ]) {
      expect(html).toContain(heading);
    }
    expect(html).toContain(
      'KR1.1 (met): KR1.1 met: &quot;apn-40&quot; (apn-40) over Open APN 40 km trained in 364.0 s, +1.96 % against 357.0 s',
    );
    expect(html).toContain('<td>364.0</td>');
    expect(html).toContain('the training did not complete: CUDA out of memory at step 812');
    expect(html).toContain('not applied: sec=sys over an unencrypted lightpath');
    expect(html).toContain('<td>10645.2</td>');
    expect(html).toContain('<td>1.012</td><td>measured</td>');
    expect((html.match(/<svg /g) ?? []).length).toBe(3);
  });

  it('is self-contained and escapes what runs carry', () => {
    const html = renderReportHtml(model());
    expect(html).not.toContain('<script>');
    expect(html).toContain('crashed &lt;script&gt;');
    // No request anywhere: no external reference but the SVG namespace, a CSP that allows none.
    expect(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, '')).not.toMatch(/https?:\/\/|src=|href=/);
    expect(html).toContain("default-src 'none'");
  });

  it('renders the same content as Markdown tables', () => {
    const md = renderReportMarkdown(model());
    expect(md).toMatch(/^# UNet3D over Open APN: PoC report/);
    expect(md).toContain('## 5. Points of verify');
    expect(md).toContain('| apn-40 | 5000 / 5000 | 9.5 | 0.0 | 354.5 | 0.0 | 364.0 |');
    expect(md).toContain('crashed &lt;script&gt;alert(1)&lt;/script&gt; \\| run');
    expect(md).not.toContain('<script>');
    expect(md).toContain('KR1.1 (met)');
  });
});
