import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import request from 'supertest';
import { RESERVE, TestService, createTenantWithKey, endpointIds, gql, gqlOk, startTestService, waitFor } from './support/service';

/**
 * Evaluating measured runs end to end over HTTP: summaries from what was uploaded (phases and percentiles,
 * preparation, storage, energy measured or rated, cost), the planner's prediction and calibration on a
 * tenant's own runs, compareRuns with the PoC verdicts, and the PoC report, with bad input and other
 * tenants. The synthetic runs follow the PoC facts: 5,000 steps of UNet3D over 3.8e12 bytes, 357 s on site
 * and 364 s over a 40 km lightpath.
 */

const TB = 10n ** 12n;
const FIXTURES = join(__dirname, '..', 'src', 'runs', 'ingest', 'fixtures');
const CREATE =
  'mutation($input: CreateTrainingRunInput!) { createTrainingRun(input: $input) { id label design preparationSeconds connection { distanceKm rttMs } } }';
const COMPLETE =
  'mutation($id: ID!, $s: DateTime, $f: DateTime) { completeTrainingRun(id: $id, startedAt: $s, finishedAt: $f) { state startedAt finishedAt } }';
const SUMMARY_FIELDS = `stepsRecorded stepsPlanned percentileResolutionPercent preparationSeconds preparationBasis readSecondsWithPreparation trainingSeconds wallSeconds energySeconds
  read { totalSeconds meanSeconds p50Seconds p99Seconds } gpu { totalSeconds meanSeconds p50Seconds p99Seconds } save { totalSeconds p50Seconds p99Seconds }
  storage { direction nodes samples throughputMBps opsPerSecond latencyMs rttMs retrans }
  energy { equipment kind site { code } basis source seconds averageKw itKwh kwh co2Kg }
  sites { site { code } pue itKwh kwh co2Kg } energyKwh co2Kg costs { item usd amortisedUsd energyUsd basis } costUsd`;
const SUMMARY = `query($id: ID!) { trainingRun(id: $id) { id summary { ${SUMMARY_FIELDS} } prediction { predictedSeconds measuredSeconds errorPercent bound gpuSecondsPerStepSource reasons } } }`;
const COMPARE = `query($ids: [ID!]!) { compareRuns(runIds: $ids) { runs { id label summary { trainingSeconds energyKwh } } verdicts { kind runId baselineRunId value baselineValue changePercent passed statement } } }`;
const PLAN = `query($input: CompareScenariosInput!) { compareScenarios(input: $input) {
  scenarios { label epochSeconds totalSeconds } calibration { syncRoundTripsPerStep syncRoundTripsBasis gpuSecondsPerStep gpuSecondsPerStepSource } warnings } }`;

type Tenant = { tenantId: string; token: string };
const T0 = Date.parse('2026-11-21T09:00:00Z');
const within = (actual: number, expected: number, percent: number) => Math.abs(actual / expected - 1) * 100 <= percent;

describe('evaluating measured runs', () => {
  let t: TestService;
  let ep: Record<string, string>;
  let sites: Record<string, string>;
  let a: Tenant;
  let b: Tenant;
  let billing: string;
  const ids: Record<string, string> = {};
  const runs: Record<string, string> = {};

  const op = (query: string, variables: Record<string, unknown> = {}) => gqlOk(t.url, t.adminToken, query, variables);
  const asA = (query: string, variables: Record<string, unknown> = {}) => gqlOk(t.url, a.token, query, variables);
  const upload = (kind: string, runId: string, body: string, query: Record<string, string> = {}, token = a.token) =>
    request(t.url)
      .post(`/runs/${runId}/${kind}`)
      .query(query)
      .set('authorization', `Bearer ${token}`)
      .set('content-type', 'application/x-ndjson')
      .send(body);
  const durations = (count: number, read: (i: number) => number, gpu: number, save = (_i: number) => 0) =>
    Array.from({ length: count }, (_, i) => JSON.stringify({ step: i + 1, read: read(i), gpu, save: save(i) })).join('\n') + '\n';
  const unet = { modelName: 'UNet3D', datasetBytes: '3800000000000', datasetItems: '28000', batchSize: 56, steps: 5000 };
  const summaryOf = async (id: string, token = a.token) => (await gqlOk(t.url, token, SUMMARY, { id })).trainingRun;
  const create = async (input: Record<string, unknown>, token = a.token) =>
    (await gqlOk(t.url, token, CREATE, { input })).createTrainingRun;
  const counts = async () =>
    (await t.sql.query('SELECT (SELECT count(*)::int FROM training_runs) AS runs, (SELECT count(*)::int FROM training_run_steps) AS steps'))
      .rows[0];

  beforeAll(async () => {
    t = await startTestService({
      APN_MIN_DURATION_S: '1',
      APN_EMULATOR_HOP_MS: '10',
      APN_STORAGE_SPEEDUP: '100',
      APN_RECONCILE_INTERVAL_S: '1',
    });
    ep = await endpointIds(t);
    sites = Object.fromEntries((await op('{ sites { id code } }')).sites.map((s: { id: string; code: string }) => [s.code, s.id]));
    a = await createTenantWithKey(t, 'Eval A');
    b = await createTenantWithKey(t, 'Eval B');
    billing = (await op('mutation { createApiKey(role: BILLING) { secret } }')).createApiKey.secret;
    const storage = (code: string, site: string, kind: string) =>
      op('mutation($i: CreateStorageSystemInput!) { createStorageSystem(input: $i) { id } }', {
        i: {
          code,
          name: code,
          kind,
          siteId: sites[site],
          host: `${code.toLowerCase()}.example.net`,
          capacityBytes: String(20n * TB),
          throughputGbps: 200,
        },
      }).then((r) => r.createStorageSystem.id as string);
    ids.office = await storage('EVAL-OTE-NFS', 'OTE-HQ', 'OFFICE_NFS');
    await storage('EVAL-TAM-REPLICA', 'TAM-GDC', 'DC_REPLICA');
    ids.small = (
      await op('mutation($i: CreateDatasetInput!) { createDataset(input: $i) { id } }', {
        i: {
          tenantId: a.tenantId,
          storageSystemId: ids.office,
          name: 'small',
          exportPath: '/export/a/small',
          bytes: String(20n * 10n ** 9n),
          fileCount: '100',
          sensitivity: 'INTERNAL',
        },
      })
    ).createDataset.id;
    ids.cluster = (
      await op('mutation($i: CreateGpuClusterInput!) { createGpuCluster(input: $i) { id } }', {
        i: {
          code: 'EVAL-TAM',
          name: 'EVAL-TAM',
          siteId: sites['TAM-GDC'],
          nodes: [{ name: 'eval-n1', address: '10.41.0.1', gpus: 8, ratedPowerKw: 10.2 }],
        },
      })
    ).createGpuCluster.id;
    const start = new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 24 * 3_600_000);
    const end = new Date(start.getTime() + 3_600_000);
    ids.reservation = (
      await gqlOk(t.url, a.token, RESERVE, {
        input: {
          sourceEndpointId: ep['OTE-HQ-100G-1'],
          destinationEndpointId: ep['TAM-GDC-100G-1'],
          rateGbps: 100,
          autoCommit: true,
          start: start.toISOString(),
          end: end.toISOString(),
        },
      })
    ).reserveLightpath.id;
    ids.allocation = (
      await op('mutation($i: AllocateGpusInput!) { allocateGpus(input: $i) { id } }', {
        i: { tenantId: a.tenantId, clusterId: ids.cluster, nodeCount: 1, start: start.toISOString(), end: end.toISOString() },
      })
    ).allocateGpus.id;

    // The PoC's pair: 357 s on site and 364 s over the 40 km lightpath, 5,000 steps each.
    runs.local = (
      await create({ label: 'unet3d same site', workload: unet, connection: { kind: 'LOCAL' }, gpuSiteId: sites['TAM-GDC'] })
    ).id;
    expect(
      (
        await upload(
          'steps',
          runs.local,
          durations(5000, (i) => 0.0003 + (i % 5) * 0.00005, 0.071),
        )
      ).body,
    ).toMatchObject({ accepted: 5000 });
    await asA(COMPLETE, { id: runs.local });
    runs.apn = (
      await create({
        label: 'unet3d over APN 40 km',
        workload: unet,
        connection: { kind: 'APN', reservationId: ids.reservation },
        gpuAllocationId: ids.allocation,
      })
    ).id;
    expect(
      (
        await upload(
          'steps',
          runs.apn,
          durations(5000, () => 0.0019, 0.0709),
        )
      ).body,
    ).toMatchObject({ accepted: 5000 });
    // Power of the GPU node every 10 s over the run, and of the GPU site's switch over its last minute only.
    const power = [
      ...Array.from({ length: 37 }, (_, i) => ({
        equipment: 'eval-n1',
        kind: 'GPU_NODE',
        site: 'TAM-GDC',
        time: new Date(T0 + i * 10_000).toISOString(),
        watts: 7000,
      })),
      { equipment: 'eval-n1', kind: 'GPU_NODE', site: 'TAM-GDC', time: new Date(T0 + 364_000).toISOString(), watts: 7000 },
      ...Array.from({ length: 6 }, (_, i) => ({
        equipment: 'tam-sw1',
        kind: 'SWITCH',
        site: 'TAM-GDC',
        time: new Date(T0 + 310_000 + i * 10_000).toISOString(),
        watts: 450,
      })),
    ];
    expect((await upload('power', runs.apn, power.map((p) => JSON.stringify(p)).join('\n') + '\n')).body).toMatchObject({
      rejectedCount: 0,
    });
    const nfs = readFileSync(join(FIXTURES, 'nfsiostat-queue-and-errors.txt'), 'utf8');
    expect(
      (await upload('nfsiostat', runs.apn, nfs, { node: 'eval-n1', interval: '10', start: new Date(T0).toISOString() })).body,
    ).toMatchObject({ rejectedCount: 0 });
    await asA(COMPLETE, { id: runs.apn, s: new Date(T0).toISOString(), f: new Date(T0 + 364_000).toISOString() });
    // Replication over Open APN and over the Internet, the copy given with each run.
    runs.apnReplication = (
      await create({
        label: 'unet3d replication over APN',
        workload: unet,
        connection: { kind: 'APN', reservationId: ids.reservation },
        design: 'REPLICATION',
        preparationSeconds: 390,
      })
    ).id;
    runs.internetReplication = (
      await create({
        label: 'unet3d replication over the Internet',
        workload: unet,
        connection: { kind: 'INTERNET', bandwidthGbps: 1, rttMs: 10 },
        design: 'REPLICATION',
        gpuSiteId: sites['TAM-GDC'],
        storageSiteId: sites['OTE-HQ'],
        preparationSeconds: 32_400,
      })
    ).id;
    for (const id of [runs.apnReplication, runs.internetReplication]) {
      await upload(
        'steps',
        id,
        durations(5000, () => 0.0003, 0.0711),
      );
      await asA(COMPLETE, { id });
    }
  }, 120_000);
  afterAll(async () => {
    await t?.stop();
  });

  describe('summaries', () => {
    it('totals the phases and reads p50 and p99 within half a bucket of the stored steps, training time without initialisation', async () => {
      const { summary } = await summaryOf(runs.local);
      expect(summary).toMatchObject({ stepsRecorded: 5000, stepsPlanned: 5000, percentileResolutionPercent: 1, preparationSeconds: 0 });
      expect(summary.trainingSeconds).toBeCloseTo(357, 6);
      expect(summary.read.totalSeconds).toBeCloseTo(2, 6);
      const exact = (
        await t.sql.query(
          `SELECT percentile_disc(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY read_s) AS read, percentile_disc(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY gpu_s) AS gpu,
                sum(read_s + gpu_s + save_s) AS total FROM training_run_steps WHERE run_id = $1`,
          [runs.local],
        )
      ).rows[0];
      expect(within(summary.read.p50Seconds, exact.read[0], 0.5)).toBe(true);
      expect(within(summary.read.p99Seconds, exact.read[1], 0.5)).toBe(true);
      expect(within(summary.gpu.p99Seconds, exact.gpu[1], 0.5)).toBe(true);
      expect(summary.save).toEqual({ totalSeconds: 0, p50Seconds: 0, p99Seconds: 0 });
      expect(summary.trainingSeconds).toBeCloseTo(exact.total, 6);
    });

    it('is not skewed by a repeated upload or a conflicting step', async () => {
      const before = (await summaryOf(runs.local)).summary;
      const run = (await create({ label: 'repeats', workload: unet, connection: { kind: 'LOCAL' }, gpuSiteId: sites['TAM-GDC'] })).id;
      const log = durations(300, (i) => 0.001 * (1 + (i % 7)), 0.07);
      expect((await upload('steps', run, log)).body).toMatchObject({ accepted: 300 });
      const once = (await summaryOf(run)).summary;
      const again = await upload(
        'steps',
        run,
        log + JSON.stringify({ step: 5, read: 9, gpu: 9 }) + '\n' + JSON.stringify({ step: 301, read: 0.002, gpu: 0.07 }) + '\n',
      );
      expect(again.body).toMatchObject({ accepted: 1, duplicates: 300, rejectedCount: 1, rejected: [{ line: 301, field: 'step' }] });
      const after = (await summaryOf(run)).summary;
      expect(after.stepsRecorded).toBe(301);
      expect(after.read.totalSeconds).toBeCloseTo(once.read.totalSeconds + 0.002, 9);
      expect(after.read.p99Seconds).toBe(once.read.p99Seconds);
      const buckets = (
        await t.sql.query(
          'SELECT phase, sum(steps)::int AS n FROM training_run_step_buckets WHERE run_id = $1 GROUP BY phase ORDER BY phase',
          [run],
        )
      ).rows;
      expect(buckets).toEqual([
        { phase: 0, n: 301 },
        { phase: 1, n: 301 },
        { phase: 2, n: 301 },
      ]);
      const sums = (await t.sql.query('SELECT sum(read_s) AS r, sum(gpu_s) AS g FROM training_run_steps WHERE run_id = $1', [run])).rows[0];
      expect(after.read.totalSeconds).toBeCloseTo(sums.r, 9);
      expect(after.gpu.totalSeconds).toBeCloseTo(sums.g, 9);
      expect((await summaryOf(runs.local)).summary).toEqual(before);
    });

    it('measures energy where samples cover the run and rates it elsewhere, never both, per site with its PUE', async () => {
      const { summary } = await summaryOf(runs.apn);
      expect(summary.wallSeconds).toBe(364);
      const node = summary.energy.filter((e: { equipment: string }) => e.equipment === 'eval-n1');
      expect(node).toHaveLength(1);
      expect(node[0]).toMatchObject({ kind: 'GPU_NODE', basis: 'MEASURED', site: { code: 'TAM-GDC' } });
      expect(node[0].itKwh).toBeCloseTo((7000 * 364) / 3.6e6, 9);
      expect(node[0].kwh).toBeCloseTo(node[0].itKwh * 1.3, 9);
      // The switch was sampled over its last minute only: its rated power counts, and its samples do not.
      const tamSwitch = summary.energy.filter(
        (e: { kind: string; site: { code: string } }) => e.kind === 'SWITCH' && e.site.code === 'TAM-GDC',
      );
      expect(tamSwitch).toHaveLength(1);
      expect(tamSwitch[0]).toMatchObject({ basis: 'RATED', source: expect.stringMatching(/do not cover the run/) });
      expect(tamSwitch[0].itKwh).toBeCloseTo((0.5 * 364) / 3600, 9);
      const array = summary.energy.find((e: { kind: string }) => e.kind === 'STORAGE');
      expect(array).toMatchObject({ basis: 'RATED', site: { code: 'OTE-HQ' } });
      expect(array.kwh).toBeCloseTo(((1.2 * 364) / 3600) * 1.7, 9);
      const tam = summary.sites.find((s: { site: { code: string } }) => s.site.code === 'TAM-GDC');
      expect(tam.pue).toBe(1.3);
      expect(tam.kwh).toBeCloseTo((node[0].itKwh + tamSwitch[0].itKwh) * 1.3, 9);
      expect(summary.energyKwh).toBeCloseTo(
        summary.sites.reduce((n: number, s: { kwh: number }) => n + s.kwh, 0),
        9,
      );
      // Cost: each piece amortised and its energy at the site's price, and the lightpath at the rate card's price.
      const gpuCost = summary.costs.find((c: { item: string }) => c.item === 'eval-n1');
      expect(gpuCost.amortisedUsd).toBeCloseTo((364 / 3600) * (199_000 / (4 * 8760)), 6);
      expect(gpuCost.energyUsd).toBeCloseTo(node[0].kwh * 0.17, 9);
      const network = summary.costs.filter((c: { item: string }) => c.item.startsWith('network'));
      expect(network.map((c: { item: string }) => c.item).join()).toMatch(/100G/);
      expect(summary.costUsd).toBeCloseTo(
        summary.costs.reduce((n: number, c: { usd: number }) => n + c.usd, 0),
        9,
      );
      // The finished run's samples were reduced once and kept: the next summary reads the same figures from there.
      const kept = (
        await t.sql.query('SELECT equipment, samples FROM training_run_power_totals WHERE run_id = $1 ORDER BY equipment', [runs.apn])
      ).rows;
      expect(kept).toEqual([
        { equipment: 'eval-n1', samples: 38 },
        { equipment: 'tam-sw1', samples: 6 },
      ]);
      expect((await summaryOf(runs.apn)).summary).toEqual(summary);
    });

    it('reads storage throughput and latency per direction from nfsiostat, without the totals since mount', async () => {
      const { summary } = await summaryOf(runs.apn);
      const expected = (
        await t.sql.query(
          `SELECT direction, sum(kb_per_s * interval_s) / sum(interval_s) * 1024 / 1e6 AS mbps, sum(ops_per_s * interval_s * avg_exe_ms) / sum(ops_per_s * interval_s) AS latency
           FROM training_run_io_samples WHERE run_id = $1 AND NOT since_mount GROUP BY direction ORDER BY direction`,
          [runs.apn],
        )
      ).rows;
      expect(summary.storage.map((s: { direction: string }) => s.direction)).toEqual(expected.map((e) => e.direction));
      summary.storage.forEach((s: { throughputMBps: number; latencyMs: number }, i: number) => {
        expect(s.throughputMBps).toBeCloseTo(expected[i].mbps, 6);
        expect(s.latencyMs).toBeCloseTo(expected[i].latency, 9);
      });
    });

    it('adds the copy of a replica to Read time: as given for a run without a mount, from the mount’s history otherwise', async () => {
      const given = (await summaryOf(runs.internetReplication)).summary;
      expect(given).toMatchObject({ preparationSeconds: 32_400, preparationBasis: expect.stringMatching(/as given with the run/) });
      expect(given.trainingSeconds).toBeCloseTo(32_400 + 5000 * 0.0714, 6);
      expect(given.readSecondsWithPreparation).toBeCloseTo(32_400 + 1.5, 6);
      expect(given.costs.some((c: { item: string }) => /egress/i.test(c.item))).toBe(true);

      // A lightpath now, a REPLICATION mount over it, and a run that names the mount.
      const startMs = Date.now() + 1000;
      const lightpath = (
        await gqlOk(t.url, a.token, RESERVE, {
          input: {
            sourceEndpointId: ep['OTE-HQ-100G-2'],
            destinationEndpointId: ep['TAM-GDC-100G-2'],
            rateGbps: 100,
            autoCommit: true,
            start: new Date(startMs).toISOString(),
            end: new Date(startMs + 120_000).toISOString(),
          },
        })
      ).reserveLightpath;
      const allocation = (
        await op('mutation($i: AllocateGpusInput!) { allocateGpus(input: $i) { id } }', {
          i: {
            tenantId: a.tenantId,
            clusterId: ids.cluster,
            nodeCount: 1,
            start: new Date(startMs).toISOString(),
            end: new Date(startMs + 120_000).toISOString(),
          },
        })
      ).allocateGpus.id;
      const mount = (
        await asA('mutation($i: AttachStorageInput!) { attachStorage(input: $i) { id } }', {
          i: { reservationId: lightpath.id, datasetId: ids.small, gpuAllocationId: allocation, design: 'REPLICATION' },
        })
      ).attachStorage.id;
      const attached = await waitFor(
        async () => {
          const m = (await asA('query($id: ID!) { mount(id: $id) { state history { state at } } }', { id: mount })).mount;
          return m.state === 'ATTACHED' ? m : null;
        },
        30_000,
        'the replica to be ATTACHED',
      );
      const at = (state: string) => Date.parse(attached.history.find((h: { state: string }) => h.state === state).at);
      const copySeconds = (at('ATTACHED') - at('REPLICATING')) / 1000;
      const run = (
        await create({
          label: 'replica via mount',
          workload: { modelName: 'm', batchSize: 1, steps: 10 },
          connection: { kind: 'APN', reservationId: lightpath.id },
          mountId: mount,
        })
      ).id;
      await upload(
        'steps',
        run,
        durations(10, () => 0.01, 0.1),
      );
      const viaMount = (await summaryOf(run)).summary;
      expect(viaMount.preparationSeconds).toBeCloseTo(copySeconds, 3);
      expect(viaMount.preparationBasis).toMatch(/history of mount .*REPLICATING .* → ATTACHED/);
      expect(viaMount.trainingSeconds).toBeCloseTo(copySeconds + 1.1, 3);
      expect(viaMount.energy.some((e: { kind: string }) => e.kind === 'REPLICA')).toBe(true);
    }, 60_000);
  });

  describe('comparisons and verdicts', () => {
    it('lines the runs up and judges KR1.1 and KR2.1, naming the runs and the numbers', async () => {
      const { compareRuns } = await asA(COMPARE, { ids: [runs.local, runs.apn, runs.apnReplication, runs.internetReplication] });
      expect(compareRuns.runs.map((r: { id: string }) => r.id)).toEqual([
        runs.local,
        runs.apn,
        runs.apnReplication,
        runs.internetReplication,
      ]);
      expect(compareRuns.runs[1].summary.trainingSeconds).toBeCloseTo(364, 6);
      const kr11 = compareRuns.verdicts.find((v: { kind: string }) => v.kind === 'KR1_1');
      expect(kr11).toMatchObject({ runId: runs.apn, baselineRunId: runs.local, passed: true });
      expect(kr11.changePercent).toBeCloseTo(1.96, 2);
      expect(kr11.statement).toBe(
        `KR1.1 met: "unet3d over APN 40 km" (${runs.apn}) over Open APN 40 km trained in 364.0 s, +1.96 % against 357.0 s for the same-site run "unet3d same site" (${runs.local}) (limit +10 %).`,
      );
      const kr21 = compareRuns.verdicts.find((v: { kind: string }) => v.kind === 'KR2_1');
      expect(kr21).toMatchObject({ runId: runs.apnReplication, baselineRunId: runs.internetReplication, passed: true });
      expect(kr21.statement).toMatch(/the replication counted as Read time; Open APN is faster/);
    });

    it('lets a tenant compare its own runs only; an operator any; bounds the list', async () => {
      const theirs = await gql(t.url, b.token, COMPARE, { ids: [runs.local] });
      expect(theirs.errors![0].extensions).toMatchObject({ code: 'NOT_FOUND' });
      const none = await gql(t.url, b.token, COMPARE, { ids: ['00000000-0000-4000-8000-000000000000'] });
      expect(theirs.errors![0].message.replace(runs.local, 'ID')).toBe(
        none.errors![0].message.replace('00000000-0000-4000-8000-000000000000', 'ID'),
      );
      expect((await op(COMPARE, { ids: [runs.local, runs.apn] })).compareRuns.verdicts).toHaveLength(1);
      expect((await gql(t.url, billing, COMPARE, { ids: [runs.local] })).errors![0].extensions.code).toBe('FORBIDDEN');
      const many = Array.from({ length: 17 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
      for (const [list, message] of [
        [many, /at most 16/],
        [[runs.local, runs.local], /each run once/],
        [[], /at least one/],
      ] as const) {
        const r = await gql(t.url, a.token, COMPARE, { ids: list });
        expect(r.errors![0]).toMatchObject({
          message: expect.stringMatching(message),
          extensions: { code: 'BAD_USER_INPUT', field: 'runIds' },
        });
      }
      expect((await gql(t.url, a.token, COMPARE, { ids: ['run-1'] })).errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    });
  });

  describe('prediction and calibration', () => {
    it('sets the planner’s prediction for the same scenario beside each run, with its error', async () => {
      const { prediction } = await summaryOf(runs.apn);
      expect(prediction.measuredSeconds).toBeCloseTo(364, 6);
      expect(prediction.gpuSecondsPerStepSource).toMatch(/same-site run "unet3d same site"/);
      expect(Math.abs(prediction.errorPercent)).toBeLessThan(2);
      expect(prediction.errorPercent).toBeCloseTo(((prediction.predictedSeconds - 364) / 364) * 100, 9);
      const internet = (await summaryOf(runs.internetReplication)).prediction;
      expect(internet.bound).toBe('LINK');
      expect(internet.predictedSeconds).toBeGreaterThan(30_000);
    });

    it('calibrates on the tenant’s own pair of runs and reproduces both within 1 %', async () => {
      const input = (extra: Record<string, unknown>) => ({
        workload: { datasetBytes: '3800000000000', steps: 5000, epochs: 1 },
        scenarios: [
          { label: 'local', kind: 'LOCAL' },
          { label: 'apn', kind: 'APN', distanceKm: 40 },
        ],
        ...extra,
      });
      const { compareScenarios } = await asA(PLAN, { input: input({ calibrationRunId: runs.apn }) });
      const [local, apn] = compareScenarios.scenarios;
      expect(within(local.totalSeconds, 357, 1)).toBe(true);
      expect(within(apn.totalSeconds, 364, 1)).toBe(true);
      expect(compareScenarios.calibration.syncRoundTripsBasis).toMatch(
        /calibrated on measured runs "unet3d same site" \(357.0 s on site\) and "unet3d over APN 40 km" \(364.0 s/,
      );
      expect(compareScenarios.calibration.gpuSecondsPerStepSource).toMatch(/measured runs/);
      expect(compareScenarios.warnings[0]).toMatch(/the only completed LOCAL DIRECT run of this workload/);

      // A second same-site run makes the choice ambiguous: the newest is taken and said so; naming one takes it.
      const second = (
        await create({ label: 'unet3d same site again', workload: unet, connection: { kind: 'LOCAL' }, gpuSiteId: sites['TAM-GDC'] })
      ).id;
      await upload(
        'steps',
        second,
        durations(5000, () => 0.0006, 0.0714),
      );
      await asA(COMPLETE, { id: second });
      const ambiguous = (await asA(PLAN, { input: input({ calibrationRunId: runs.apn }) })).compareScenarios;
      expect(ambiguous.warnings[0]).toMatch(
        /"unet3d same site again" .*the newest of 2 completed LOCAL DIRECT runs.*calibrationBaselineRunId/,
      );
      expect(within(ambiguous.scenarios[0].totalSeconds, 360, 1)).toBe(true);
      const named = (await asA(PLAN, { input: input({ calibrationRunId: runs.apn, calibrationBaselineRunId: runs.local }) }))
        .compareScenarios;
      expect(named.warnings[0]).toMatch(/as named/);
      expect(within(named.scenarios[0].totalSeconds, 357, 1)).toBe(true);
      expect(within(named.scenarios[1].totalSeconds, 364, 1)).toBe(true);
    });

    it('refuses to calibrate on runs it cannot use or the caller may not see', async () => {
      const input = (extra: Record<string, unknown>) => ({
        workload: { datasetBytes: '3800000000000', steps: 5000, epochs: 1 },
        scenarios: [{ label: 'apn', kind: 'APN', distanceKm: 40 }],
        ...extra,
      });
      const cases: Array<[string, Record<string, unknown>, string, string]> = [
        [b.token, { calibrationRunId: runs.apn }, 'NOT_FOUND', 'input.calibrationRunId'],
        [a.token, { calibrationRunId: runs.local }, 'BAD_USER_INPUT', 'input.calibrationRunId'],
        [a.token, { calibrationRunId: runs.apnReplication }, 'BAD_USER_INPUT', 'input.calibrationRunId'],
        [
          a.token,
          { calibrationRunId: runs.apn, calibrationBaselineRunId: runs.internetReplication },
          'BAD_USER_INPUT',
          'input.calibrationBaselineRunId',
        ],
        [a.token, { calibrationBaselineRunId: runs.local }, 'BAD_USER_INPUT', 'input.calibrationRunId'],
      ];
      for (const [token, extra, code, field] of cases) {
        const r = await gql(t.url, token, PLAN, { input: input(extra) });
        expect({ extra, extensions: r.errors?.[0].extensions }).toEqual({ extra, extensions: expect.objectContaining({ code, field }) });
      }
      expect((await gql(t.url, billing, PLAN, { input: input({ calibrationRunId: runs.apn }) })).errors![0].extensions.code).toBe(
        'FORBIDDEN',
      );
      // Without calibration, BILLING keys still plan.
      expect(
        (
          await gql(t.url, billing, PLAN, {
            input: { ...input({}), workload: { datasetBytes: '3800000000000', steps: 5000, epochs: 1, localEpochSeconds: 357 } },
          })
        ).errors,
      ).toBeUndefined();
    });
  });

  describe('the PoC report', () => {
    const four = () => [runs.local, runs.apn, runs.apnReplication, runs.internetReplication];
    const report = (query: Record<string, string>, token: string | null = a.token) => {
      const req = request(t.url).get('/runs/report').query(query);
      return token ? req.set('authorization', `Bearer ${token}`) : req;
    };

    it('renders Markdown with the sections of the PoC Reference and the runs’ numbers, the same document as runsReport', async () => {
      const res = await report({ ids: four().join(','), format: 'md' });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/markdown/);
      const md = res.text;
      for (const heading of [
        '## 1. Requirements for evaluation',
        '## 2. Evaluation method',
        '## 3. Metrics collected',
        '## 4. Logs collected',
        '## 5. Points of verify',
        '## 6. Security considerations',
        '## 7. Benchmark testing',
        '## 7.1 Power and energy per equipment and per site',
        '## 7.2 Cost per equipment',
      ]) {
        expect(md).toContain(heading);
      }
      expect(md).toContain(
        `KR1.1 (met): KR1.1 met: "unet3d over APN 40 km" (${runs.apn}) over Open APN 40 km trained in 364.0 s, +1.96 % against 357.0 s`,
      );
      expect(md).toContain('| unet3d over APN 40 km | 5000 / 5000 | 9.5 | 0.0 | 354.5 | 0.0 | 364.0 |');
      expect(md).toContain('| unet3d replication over the Internet | 5000 / 5000 | 32401.5 | 32400.0 | 355.5 | 0.0 | 32757.0 |');
      expect(md).toMatch(/\| unet3d over APN 40 km \| eval-n1 \| GPU_NODE \| TAM-GDC \| 0\.708 \| measured \|/);
      expect(md).toMatch(/unet3d over APN 40 km: the planner predicted 3\d\d\.\d s; measured 364\.0 s/);
      expect(md).toContain('not applied: sec=sys over an unencrypted lightpath');
      const viaGraphql = (await asA('query($ids: [ID!]!) { runsReport(ids: $ids, format: MARKDOWN) }', { ids: four() }))
        .runsReport as string;
      const body = (text: string) => text.replace(/^Generated .*$/m, '');
      expect(body(viaGraphql)).toBe(body(md));
    });

    it('renders self-contained HTML with its charts', async () => {
      const res = await report({ ids: four().join(','), format: 'html' });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toContain('<h2>1. Requirements for evaluation</h2>');
      expect((res.text.match(/<svg /g) ?? []).length).toBe(3);
      expect(res.text.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, '')).not.toMatch(/https?:\/\/|src=|href=/);
      expect((await report({ ids: runs.local })).headers['content-type']).toMatch(/^text\/html/);
    });

    it('shows a tenant its own runs only and refuses bad parameters, naming them', async () => {
      const theirs = await report({ ids: runs.local }, b.token);
      expect(theirs.status).toBe(404);
      expect(theirs.body.error.code).toBe('NOT_FOUND');
      expect((await report({ ids: runs.local }, t.adminToken)).status).toBe(200);
      expect((await report({ ids: runs.local }, billing)).status).toBe(403);
      expect((await report({ ids: runs.local }, null)).status).toBe(401);
      const bad: Array<[Record<string, string>, string]> = [
        [{ ids: runs.local, format: 'pdf' }, 'format'],
        [{ ids: Array.from({ length: 17 }, () => runs.local).join(',') }, 'ids'],
        [{ ids: `${runs.local},${runs.local}` }, 'ids'],
        [{ ids: '' }, 'ids'],
        [{ ids: 'run-1' }, 'ids'],
        [{ ids: runs.local, extra: '1' }, 'extra'],
      ];
      for (const [query, field] of bad) {
        const res = await report(query);
        expect({ query, status: res.status, error: res.body.error }).toEqual({
          query,
          status: 400,
          error: expect.objectContaining({ code: 'BAD_USER_INPUT', field }),
        });
      }
      const many = await gql(t.url, a.token, 'query($ids: [ID!]!) { runsReport(ids: $ids) }', {
        ids: Array.from({ length: 17 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`),
      });
      expect(many.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'ids' });
    });
  });

  describe('bad input when recording', () => {
    it('refuses preparationSeconds where it does not apply or beyond its bounds, and writes nothing', async () => {
      const before = await counts();
      const base = {
        label: 'x',
        workload: unet,
        connection: { kind: 'INTERNET', bandwidthGbps: 1, rttMs: 10 },
        gpuSiteId: sites['TAM-GDC'],
        storageSiteId: sites['OTE-HQ'],
      };
      const cases: Array<Record<string, unknown>> = [
        { ...base, preparationSeconds: 10 },
        { ...base, design: 'REPLICATION', preparationSeconds: -1 },
        { ...base, design: 'CACHE', preparationSeconds: 31_622_401 },
      ];
      for (const input of cases) {
        const r = await gql(t.url, a.token, CREATE, { input });
        expect(r.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.preparationSeconds' });
      }
      expect(await counts()).toEqual(before);
    });
  });
});
