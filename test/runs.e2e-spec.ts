import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import request from 'supertest';
import { RESERVE, TestService, createTenantWithKey, endpointIds, gql, gqlOk, startTestService } from './support/service';

/**
 * Measured training runs end to end over HTTP: recording runs of each connection kind and the refusals,
 * their states and listing, and the streaming uploads of step logs, nfsiostat output, power samples and
 * logs, with bad lines, repeats, caps and other tenants.
 */

const TB = 10n ** 12n;
const FIXTURES = join(__dirname, '..', 'src', 'runs', 'ingest', 'fixtures');
const RUN_FIELDS = `id label state failureReason tenant { id } design mountId gpuAllocationId securityMeasures startedAt finishedAt createdAt
  workload { modelName datasetId datasetBytes datasetItems batchSize steps epochs }
  connection { kind reservationId distanceKm rttMs bandwidthGbps }
  gpuSite { code pue } storageSite { code }
  ingested { steps ioSamples powerSamples logLines logLinesKept logLevels { error warn info debug other } }`;
const CREATE = `mutation($input: CreateTrainingRunInput!) { createTrainingRun(input: $input) { ${RUN_FIELDS} } }`;
const RUN = `query($id: ID!) { trainingRun(id: $id) { ${RUN_FIELDS} } }`;
const COMPLETE =
  'mutation($id: ID!, $s: DateTime, $f: DateTime) { completeTrainingRun(id: $id, startedAt: $s, finishedAt: $f) { id state startedAt finishedAt } }';
const FAIL = 'mutation($id: ID!, $r: String!) { failTrainingRun(id: $id, reason: $r) { id state failureReason finishedAt } }';

type Tenant = { tenantId: string; token: string };

describe('measured training runs', () => {
  let t: TestService;
  let ep: Record<string, string>;
  let sites: Record<string, string>;
  let a: Tenant;
  let b: Tenant;
  let billing: string;
  const ids: Record<string, string> = {};

  const op = (query: string, variables: Record<string, unknown> = {}) => gqlOk(t.url, t.adminToken, query, variables);
  const create = (input: Record<string, unknown>, token = a.token) => gql(t.url, token, CREATE, { input });
  const created = async (input: Record<string, unknown>, token = a.token) => {
    const r = await create(input, token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data!.createTrainingRun;
  };
  const runOf = async (id: string, token = a.token) => (await gqlOk(t.url, token, RUN, { id })).trainingRun;
  const upload = (
    kind: string,
    runId: string,
    body: string | Buffer,
    options: { token?: string; type?: string; query?: Record<string, string> } = {},
  ) =>
    request(t.url)
      .post(`/runs/${runId}/${kind}`)
      .query(options.query ?? {})
      .set('authorization', `Bearer ${options.token ?? a.token}`)
      .set('content-type', options.type ?? 'application/x-ndjson')
      .send(body);
  const localRun = (label: string, token = a.token) =>
    created(
      {
        label,
        workload: { modelName: 'UNet3D', datasetBytes: '3800000000000', datasetItems: '28000', batchSize: 56, steps: 5000 },
        connection: { kind: 'LOCAL' },
        gpuSiteId: sites['TAM-GDC'],
      },
      token,
    );
  const counts = async () => {
    const r = await t.sql.query(
      `SELECT (SELECT count(*)::int FROM training_runs) AS runs, (SELECT count(*)::int FROM audit_log WHERE action LIKE 'training-run.%') AS audit`,
    );
    return r.rows[0] as { runs: number; audit: number };
  };
  const ndjson = (records: unknown[]) => records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

  beforeAll(async () => {
    // Uploads of up to 1 GiB, so that the large upload below can dwarf what the service holds anyway.
    t = await startTestService({ APN_RUN_UPLOAD_MAX_BYTES: String(1 << 30) });
    ep = await endpointIds(t);
    sites = Object.fromEntries((await op('{ sites { id code } }')).sites.map((s: { id: string; code: string }) => [s.code, s.id]));
    a = await createTenantWithKey(t, 'Runs A');
    b = await createTenantWithKey(t, 'Runs B');
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
    ids.office = await storage('RUN-OTE-NFS', 'OTE-HQ', 'OFFICE_NFS');
    await storage('RUN-TAM-REPLICA', 'TAM-GDC', 'DC_REPLICA');
    const dataset = (tenantId: string, name: string, path: string) =>
      op('mutation($i: CreateDatasetInput!) { createDataset(input: $i) { id } }', {
        i: {
          tenantId,
          storageSystemId: ids.office,
          name,
          exportPath: path,
          bytes: String((38n * TB) / 10n),
          fileCount: '28000',
          sensitivity: 'INTERNAL',
        },
      }).then((r) => r.createDataset.id as string);
    ids.datasetA = await dataset(a.tenantId, 'kits19', '/export/a/kits19');
    ids.datasetB = await dataset(b.tenantId, 'other', '/export/b/other');
    ids.cluster = (
      await op('mutation($i: CreateGpuClusterInput!) { createGpuCluster(input: $i) { id } }', {
        i: {
          code: 'RUN-TAM',
          name: 'RUN-TAM',
          siteId: sites['TAM-GDC'],
          nodes: [1, 2, 3, 4].map((k) => ({ name: `run-n${k}`, address: `10.40.0.${k}`, gpus: 8, ratedPowerKw: 10.2 })),
        },
      })
    ).createGpuCluster.id;

    const book = async (tenant: Tenant, src: string, dst: string, startInH: number) => {
      const start = new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + startInH * 3_600_000);
      const end = new Date(start.getTime() + 3_600_000);
      const r = (
        await gqlOk(t.url, tenant.token, RESERVE, {
          input: {
            sourceEndpointId: ep[src],
            destinationEndpointId: ep[dst],
            rateGbps: 100,
            autoCommit: true,
            start: start.toISOString(),
            end: end.toISOString(),
          },
        })
      ).reserveLightpath;
      return { id: r.id as string, start, end };
    };
    const allocate = (tenantId: string, start: Date, end: Date) =>
      op('mutation($i: AllocateGpusInput!) { allocateGpus(input: $i) { id } }', {
        i: { tenantId, clusterId: ids.cluster, nodeCount: 1, start: start.toISOString(), end: end.toISOString() },
      }).then((r) => r.allocateGpus.id as string);
    const lightpath = await book(a, 'OTE-HQ-100G-1', 'TAM-GDC-100G-1', 24);
    ids.reservationA = lightpath.id;
    ids.allocationA = await allocate(a.tenantId, lightpath.start, lightpath.end);
    ids.mountA = (
      await gqlOk(t.url, a.token, 'mutation($i: AttachStorageInput!) { attachStorage(input: $i) { id state } }', {
        i: {
          reservationId: ids.reservationA,
          datasetId: ids.datasetA,
          gpuAllocationId: ids.allocationA,
          design: 'REPLICATION',
          protection: { inMotion: ['NFS_KRB5P'], atRest: 'ENCRYPTED' },
        },
      })
    ).attachStorage.id;
    ids.reservationA2 = (await book(a, 'OTE-HQ-100G-2', 'TAM-GDC-100G-2', 26)).id;
    const other = await book(b, 'OTE-HQ-100G-3', 'TAM-GDC-100G-1', 28);
    ids.reservationB = other.id;
    ids.allocationB = await allocate(b.tenantId, other.start, other.end);
  });
  afterAll(async () => {
    await t?.stop();
  });

  describe('recording a run', () => {
    it('records an APN run over a mount: design, dataset and allocation from the mount, distance, round trip and rate from the lightpath', async () => {
      const before = await counts();
      const run = await created({
        label: 'unet3d over APN',
        workload: { modelName: 'UNet3D', batchSize: 56, steps: 5000, epochs: 2 },
        connection: { kind: 'APN', reservationId: ids.reservationA },
        mountId: ids.mountA,
        securityMeasures: ['NFS_KRB5P', 'AT_REST_ENCRYPTION'],
      });
      expect(run).toMatchObject({
        label: 'unet3d over APN',
        state: 'RECORDING',
        tenant: { id: a.tenantId },
        design: 'REPLICATION',
        mountId: ids.mountA,
        gpuAllocationId: ids.allocationA,
        securityMeasures: ['NFS_KRB5P', 'AT_REST_ENCRYPTION'],
        startedAt: null,
        finishedAt: null,
        workload: {
          modelName: 'UNet3D',
          datasetId: ids.datasetA,
          datasetBytes: '3800000000000',
          datasetItems: '28000',
          batchSize: 56,
          steps: 5000,
          epochs: 2,
        },
        connection: { kind: 'APN', reservationId: ids.reservationA, bandwidthGbps: 100 },
        gpuSite: { code: 'TAM-GDC' },
        storageSite: { code: 'OTE-HQ' },
        ingested: {
          steps: 0,
          ioSamples: 0,
          powerSamples: 0,
          logLines: 0,
          logLinesKept: 0,
          logLevels: { error: 0, warn: 0, info: 0, debug: 0, other: 0 },
        },
      });
      const reservation = (
        await gqlOk(t.url, a.token, 'query($id: ID!) { reservation(id: $id) { distanceKm rttMs } }', { id: ids.reservationA })
      ).reservation;
      expect(run.connection).toMatchObject({ distanceKm: reservation.distanceKm, rttMs: reservation.rttMs });
      // Its relations, loaded per request.
      const nested = (
        await gqlOk(
          t.url,
          a.token,
          'query($id: ID!) { trainingRun(id: $id) { reservation { id path { code } } dataset { id name } mount { id design } gpuAllocation { id } } }',
          { id: run.id },
        )
      ).trainingRun;
      expect(nested).toMatchObject({
        reservation: { id: ids.reservationA },
        dataset: { id: ids.datasetA, name: 'kits19' },
        mount: { id: ids.mountA, design: 'REPLICATION' },
        gpuAllocation: { id: ids.allocationA },
      });
      expect(await counts()).toEqual({ runs: before.runs + 1, audit: before.audit + 1 });
      const audit = await t.sql.query(`SELECT actor, data FROM audit_log WHERE action = 'training-run.created' AND entity_id = $1`, [
        run.id,
      ]);
      expect(audit.rows[0].data).toMatchObject({ tenantId: a.tenantId, kind: 'APN', design: 'REPLICATION' });
    });

    it('records an APN run by its reservation alone, an INTERNET run and a LOCAL run, each with its sites', async () => {
      const apn = await created({
        label: 'apn direct',
        workload: { modelName: 'UNet3D', datasetBytes: '1000', datasetItems: '10', batchSize: 1, steps: 10 },
        connection: { kind: 'APN', reservationId: ids.reservationA2 },
      });
      expect(apn).toMatchObject({
        design: 'DIRECT',
        mountId: null,
        securityMeasures: ['NONE'],
        gpuSite: { code: 'TAM-GDC' },
        storageSite: { code: 'OTE-HQ' },
        workload: { datasetId: null, datasetBytes: '1000', epochs: 1 },
      });
      expect(apn.connection.distanceKm).toBeGreaterThan(0);

      const internet = await created({
        label: 'internet replication',
        workload: { modelName: 'UNet3D', datasetId: ids.datasetA, batchSize: 56, steps: 5000 },
        connection: { kind: 'INTERNET', bandwidthGbps: 1, rttMs: 10 },
        design: 'REPLICATION',
        gpuAllocationId: ids.allocationA,
      });
      expect(internet).toMatchObject({
        design: 'REPLICATION',
        gpuAllocationId: ids.allocationA,
        gpuSite: { code: 'TAM-GDC' },
        storageSite: { code: 'OTE-HQ' },
        connection: { kind: 'INTERNET', reservationId: null, distanceKm: null, bandwidthGbps: 1, rttMs: 10 },
        workload: { datasetId: ids.datasetA, datasetBytes: '3800000000000', datasetItems: '28000' },
      });

      const local = await localRun('local baseline');
      expect(local).toMatchObject({
        connection: { kind: 'LOCAL', reservationId: null, rttMs: null },
        gpuSite: { code: 'TAM-GDC' },
        storageSite: { code: 'TAM-GDC' },
      });

      // Operators record runs for a tenant.
      const forB = await created(
        {
          tenantId: b.tenantId,
          label: 'by the operator',
          workload: { modelName: 'm', datasetBytes: '1', datasetItems: '1', batchSize: 1, steps: 1 },
          connection: { kind: 'APN', reservationId: ids.reservationB },
        },
        t.adminToken,
      );
      expect(forB.tenant.id).toBe(b.tenantId);
    });

    it('refuses another tenant’s reservation, dataset, allocation or mount, naming the field, and writes nothing', async () => {
      const before = await counts();
      const base = {
        label: 'x',
        workload: { modelName: 'm', datasetBytes: '1', datasetItems: '1', batchSize: 1, steps: 1 },
        connection: { kind: 'LOCAL' },
        gpuSiteId: sites['TAM-GDC'],
      };
      const cases: Array<[Record<string, unknown>, string, string, string?]> = [
        [{ ...base, connection: { kind: 'APN', reservationId: ids.reservationB } }, 'NOT_FOUND', 'input.connection.reservationId'],
        [
          { ...base, workload: { modelName: 'm', datasetId: ids.datasetB, batchSize: 1, steps: 1 } },
          'NOT_FOUND',
          'input.workload.datasetId',
        ],
        [{ ...base, gpuAllocationId: ids.allocationB }, 'NOT_FOUND', 'input.gpuAllocationId'],
        [
          { ...base, connection: { kind: 'APN', reservationId: ids.reservationB }, mountId: ids.mountA },
          'NOT_FOUND',
          'input.mountId',
          b.token,
        ],
        // An operator recording for A cannot give A a run over B's lightpath.
        [
          { ...base, tenantId: a.tenantId, connection: { kind: 'APN', reservationId: ids.reservationB } },
          'BAD_USER_INPUT',
          'input.connection.reservationId',
          t.adminToken,
        ],
        [
          { ...base, tenantId: a.tenantId, workload: { modelName: 'm', datasetId: ids.datasetB, batchSize: 1, steps: 1 } },
          'BAD_USER_INPUT',
          'input.workload.datasetId',
          t.adminToken,
        ],
      ];
      for (const [input, code, field, token] of cases) {
        const r = await create(input, token ?? a.token);
        expect({ field, extensions: r.errors?.[0].extensions }).toEqual({ field, extensions: expect.objectContaining({ code, field }) });
      }
      // A NOT_FOUND for another tenant's object reads exactly as for one that does not exist.
      const theirs = await create({ ...base, connection: { kind: 'APN', reservationId: ids.reservationB } });
      const none = await create({ ...base, connection: { kind: 'APN', reservationId: '00000000-0000-4000-8000-000000000000' } });
      expect(theirs.errors![0].message.replace(ids.reservationB, 'ID')).toBe(
        none.errors![0].message.replace('00000000-0000-4000-8000-000000000000', 'ID'),
      );
      expect((await create({ ...base, tenantId: b.tenantId })).errors![0].extensions.code).toBe('FORBIDDEN');
      expect((await create(base, billing)).errors![0].extensions.code).toBe('FORBIDDEN');
      expect(await counts()).toEqual(before);
    });

    it('refuses a mount on another lightpath, a design or dataset that disagrees with the mount, and inconsistent sites', async () => {
      const before = await counts();
      const apn = {
        label: 'x',
        workload: { modelName: 'm', batchSize: 1, steps: 1 },
        connection: { kind: 'APN', reservationId: ids.reservationA },
      };
      const cases: Array<[Record<string, unknown>, string, RegExp]> = [
        [
          { ...apn, connection: { kind: 'APN', reservationId: ids.reservationA2 }, mountId: ids.mountA },
          'input.mountId',
          /runs over reservation/,
        ],
        [{ ...apn, mountId: ids.mountA, design: 'DIRECT' }, 'input.design', /REPLICATION/],
        [
          { ...apn, mountId: ids.mountA, workload: { modelName: 'm', datasetBytes: '5', datasetItems: '1', batchSize: 1, steps: 1 } },
          'input.workload.datasetBytes',
          /taken from dataset/,
        ],
        [
          {
            ...apn,
            workload: { modelName: 'm', datasetBytes: '5', datasetItems: '1', batchSize: 1, steps: 1 },
            gpuSiteId: sites['ISK-GDC'],
          },
          'input.gpuSiteId',
          /ends at TAM-GDC/,
        ],
        [
          {
            ...apn,
            workload: { modelName: 'm', datasetBytes: '5', datasetItems: '1', batchSize: 1, steps: 1 },
            connection: { kind: 'APN', reservationId: ids.reservationA, rttMs: 1 },
          },
          'input.connection.rttMs',
          /from the reservation/,
        ],
        [
          {
            ...apn,
            workload: { modelName: 'm', datasetBytes: '5', datasetItems: '1', batchSize: 1, steps: 1 },
            connection: { kind: 'LOCAL' },
            gpuSiteId: sites['TAM-GDC'],
            storageSiteId: sites['OTE-HQ'],
          },
          'input.storageSiteId',
          /LOCAL/,
        ],
        [
          {
            ...apn,
            workload: { modelName: 'm', datasetBytes: '5', datasetItems: '1', batchSize: 1, steps: 1 },
            connection: { kind: 'INTERNET', bandwidthGbps: 1, rttMs: 10 },
            mountId: ids.mountA,
            gpuSiteId: sites['TAM-GDC'],
            storageSiteId: sites['OTE-HQ'],
          },
          'input.mountId',
          /lightpath/,
        ],
        [
          {
            ...apn,
            workload: { modelName: 'm', datasetBytes: '5', datasetItems: '1', batchSize: 1, steps: 1 },
            connection: { kind: 'INTERNET', rttMs: 10 },
            gpuSiteId: sites['TAM-GDC'],
            storageSiteId: sites['OTE-HQ'],
          },
          'input.connection.bandwidthGbps',
          /bandwidth/,
        ],
        [
          {
            ...apn,
            workload: { modelName: 'm', datasetBytes: '5', datasetItems: '1', batchSize: 1, steps: 1 },
            connection: { kind: 'INTERNET', bandwidthGbps: 1, rttMs: 10, reservationId: ids.reservationA },
            gpuSiteId: sites['TAM-GDC'],
            storageSiteId: sites['OTE-HQ'],
          },
          'input.connection.reservationId',
          /only APN/,
        ],
      ];
      for (const [input, field, message] of cases) {
        const r = await create(input);
        expect({ field, error: r.errors?.[0] }).toEqual({
          field,
          error: expect.objectContaining({
            message: expect.stringMatching(message),
            extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field }),
          }),
        });
      }
      expect(await counts()).toEqual(before);
    });

    it('bounds every value, naming the field, and writes nothing', async () => {
      const before = await counts();
      const base = {
        label: 'bounded',
        workload: { modelName: 'm', datasetBytes: '1', datasetItems: '1', batchSize: 1, steps: 1, epochs: 1 },
        connection: { kind: 'INTERNET', bandwidthGbps: 1, rttMs: 10 },
        gpuSiteId: sites['TAM-GDC'],
        storageSiteId: sites['OTE-HQ'],
      };
      const w = base.workload;
      const cases: Array<[Record<string, unknown>, string]> = [
        [{ ...base, label: '  ' }, 'input.label'],
        [{ ...base, label: 'x'.repeat(201) }, 'input.label'],
        [{ ...base, workload: { ...w, modelName: 'm'.repeat(201) } }, 'input.workload.modelName'],
        [{ ...base, workload: { ...w, batchSize: 0 } }, 'input.workload.batchSize'],
        [{ ...base, workload: { ...w, steps: 1_000_000_001 } }, 'input.workload.steps'],
        [{ ...base, workload: { ...w, epochs: 100_001 } }, 'input.workload.epochs'],
        [{ ...base, workload: { ...w, datasetBytes: '0' } }, 'input.workload.datasetBytes'],
        [{ ...base, workload: { ...w, datasetItems: '-3' } }, 'input.workload.datasetItems'],
        [{ ...base, workload: { ...w, datasetBytes: '9223372036854775808' } }, 'input.workload.datasetBytes'],
        [{ ...base, connection: { kind: 'INTERNET', bandwidthGbps: 0, rttMs: 10 } }, 'input.connection.bandwidthGbps'],
        [{ ...base, connection: { kind: 'INTERNET', bandwidthGbps: 1, rttMs: 100_001 } }, 'input.connection.rttMs'],
        [{ ...base, securityMeasures: [] }, 'input.securityMeasures'],
        [{ ...base, securityMeasures: ['NONE', 'NFS_TLS'] }, 'input.securityMeasures'],
        [{ ...base, securityMeasures: ['NFS_TLS', 'NFS_TLS'] }, 'input.securityMeasures'],
        [{ ...base, gpuSiteId: 'not-a-site' }, 'input.gpuSiteId'],
        [{ ...base, gpuSiteId: '00000000-0000-4000-8000-000000000000' }, 'input.gpuSiteId'],
      ];
      for (const [input, field] of cases) {
        const r = await create(input);
        expect({ field, extensions: r.errors?.[0].extensions }).toEqual({
          field,
          extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field }),
        });
        expect(JSON.stringify(r.errors)).not.toMatch(/INTERNAL|SQLSTATE|violates|out of range/i);
      }
      expect(await counts()).toEqual(before);
    });
  });

  describe('states and listing', () => {
    it('completes a run with the start and finish of its steps, refuses a second outcome, and takes no more data', async () => {
      const run = await localRun('completes');
      const steps = [
        { step: 1, start: '2026-11-21T09:00:00Z', readEnd: '2026-11-21T09:00:00.010Z', gpuEnd: '2026-11-21T09:00:00.080Z' },
        { step: 2, readEnd: '2026-11-21T09:00:00.092Z', gpuEnd: '2026-11-21T09:00:00.160Z', saveEnd: '2026-11-21T09:00:01.160Z' },
      ];
      expect((await upload('steps', run.id, ndjson(steps))).body).toMatchObject({ accepted: 2, rejectedCount: 0 });
      expect((await runOf(run.id)).startedAt).toBe('2026-11-21T09:00:00.000Z');
      const done = (await gqlOk(t.url, a.token, COMPLETE, { id: run.id })).completeTrainingRun;
      expect(done).toEqual({
        id: run.id,
        state: 'COMPLETED',
        startedAt: '2026-11-21T09:00:00.000Z',
        finishedAt: '2026-11-21T09:00:01.160Z',
      });
      const again = await gql(t.url, a.token, COMPLETE, { id: run.id });
      expect(again.errors![0].extensions).toMatchObject({ code: 'INVALID_STATE', state: 'COMPLETED' });
      expect((await gql(t.url, a.token, FAIL, { id: run.id, r: 'late' })).errors![0].extensions.code).toBe('INVALID_STATE');
      for (const kind of ['steps', 'nfsiostat', 'power', 'logs']) {
        const refused = await upload(kind, run.id, '{"step":3,"read":0.1,"gpu":0.1}\n');
        expect({ kind, status: refused.status, body: refused.body }).toEqual({
          kind,
          status: 409,
          body: { error: expect.objectContaining({ code: 'INVALID_STATE', state: 'COMPLETED' }) },
        });
      }
      expect((await runOf(run.id)).ingested.steps).toBe(2);
      expect(
        (await t.sql.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'training-run.completed' AND entity_id = $1`, [run.id]))
          .rows[0].n,
      ).toBe(1);
    });

    it('fails a run with its reason, and refuses a finish before the start', async () => {
      const run = await localRun('fails');
      const badTimes = await gql(t.url, a.token, COMPLETE, { id: run.id, s: '2026-11-21T10:00:00Z', f: '2026-11-21T09:00:00Z' });
      expect(badTimes.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'finishedAt' });
      expect((await gql(t.url, a.token, FAIL, { id: run.id, r: ' ' })).errors![0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'reason',
      });
      const failed = (await gqlOk(t.url, a.token, FAIL, { id: run.id, r: 'NCCL timeout at step 4121' })).failTrainingRun;
      expect(failed).toMatchObject({ state: 'FAILED', failureReason: 'NCCL timeout at step 4121' });
      expect(failed.finishedAt).not.toBeNull();
      expect((await gql(t.url, b.token, FAIL, { id: run.id, r: 'x' })).errors![0].extensions.code).toBe('NOT_FOUND');
    });

    it('lists runs newest first in pages, each tenant its own; another tenant’s run is NOT_FOUND', async () => {
      const mine = [await localRun('page 1'), await localRun('page 2'), await localRun('page 3')];
      const theirs = await localRun('b run', b.token);
      const LIST =
        'query($f: Int, $a: String, $t: ID, $s: TrainingRunState) { trainingRuns(first: $f, after: $a, tenantId: $t, state: $s) { edges { cursor node { id label tenant { id } } } pageInfo { hasNextPage endCursor } } }';
      const first = (await gqlOk(t.url, a.token, LIST, { f: 2 })).trainingRuns;
      expect(first.edges.map((e: { node: { id: string } }) => e.node.id)).toEqual([mine[2].id, mine[1].id]);
      expect(first.pageInfo.hasNextPage).toBe(true);
      const second = (await gqlOk(t.url, a.token, LIST, { f: 2, a: first.pageInfo.endCursor })).trainingRuns;
      expect(second.edges[0].node.id).toBe(mine[0].id);
      const all: Array<{ tenant: { id: string } }> = [];
      for (let after: string | null = null; ;) {
        const page: { edges: Array<{ node: { tenant: { id: string } } }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } = (
          await gqlOk(t.url, a.token, LIST, { f: 100, a: after })
        ).trainingRuns;
        all.push(...page.edges.map((e) => e.node));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      expect(all.every((n) => n.tenant.id === a.tenantId)).toBe(true);
      expect((await gqlOk(t.url, b.token, LIST, { f: 100 })).trainingRuns.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(
        theirs.id,
      );
      expect(
        (await gqlOk(t.url, b.token, LIST, { f: 100 })).trainingRuns.edges.some(
          (e: { node: { tenant: { id: string } } }) => e.node.tenant.id !== b.tenantId,
        ),
      ).toBe(false);
      expect((await gql(t.url, a.token, LIST, { t: b.tenantId })).errors![0].extensions.code).toBe('FORBIDDEN');
      const operatorView = (await op(LIST, { f: 100, t: b.tenantId })).trainingRuns.edges.map((e: { node: { id: string } }) => e.node.id);
      expect(operatorView).toContain(theirs.id);
      expect(operatorView).not.toContain(mine[0].id);
      const completed = (await gqlOk(t.url, a.token, LIST, { f: 100, s: 'COMPLETED' })).trainingRuns.edges;
      expect(completed.length).toBeGreaterThan(0);
      expect((await gql(t.url, a.token, RUN, { id: theirs.id })).errors![0].extensions.code).toBe('NOT_FOUND');
      expect((await gql(t.url, a.token, LIST, { f: 101 })).errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
      expect((await gql(t.url, a.token, LIST, { a: 'forged' })).errors![0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'after',
      });
      expect((await gql(t.url, billing, LIST, {})).errors![0].extensions.code).toBe('FORBIDDEN');
    });
  });

  describe('uploads', () => {
    it('keeps the good lines of a step log and refuses each bad one by line and field', async () => {
      const run = await localRun('mixed steps');
      const body = ndjson([
        { step: 1, read: 0.012, gpu: 0.071 },
        'not json',
        { step: 2, read: 0.011, gpu: 0.07, save: 0.5, loss: 0.3 },
        { step: 3, read: -1, gpu: 0.07 },
        { read: 0.01, gpu: 0.07 },
        '',
        { step: 4, read: 0.01, gpu: 0.07, readEnd: '2026-11-21T09:00:00Z' },
        { step: 5, epoch: 0, readEnd: '2026-11-21T09:00:00Z', gpuEnd: '2026-11-21T09:00:01Z' },
        { step: 6, readEnd: '2026-11-31T09:00:00Z', gpuEnd: '2026-11-21T09:00:01Z', start: '2026-11-21T08:59:59Z' },
      ]);
      const res = await upload('steps', run.id, body);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ accepted: 2, duplicates: 0, rejectedCount: 6, lines: 9, run: { steps: 2 } });
      expect(res.body.rejected.map((r: { line: number; field: string | null }) => [r.line, r.field])).toEqual([
        [2, null],
        [4, 'read'],
        [5, 'step'],
        [7, 'read'],
        [8, 'start'],
        [9, 'readEnd'],
      ]);
      expect(res.body.rejected[4].reason).toMatch(/step 5 has no start/);
      const stored = await t.sql.query('SELECT step, read_s, gpu_s, save_s FROM training_run_steps WHERE run_id = $1 ORDER BY step', [
        run.id,
      ]);
      expect(stored.rows).toEqual([
        { step: 1, read_s: 0.012, gpu_s: 0.071, save_s: 0 },
        { step: 2, read_s: 0.011, gpu_s: 0.07, save_s: 0.5 },
      ]);
    });

    it('takes steps out of order and split across uploads; a repeat with the same values is a duplicate, with others a conflict', async () => {
      const run = await localRun('split steps');
      const at = (ms: number) => new Date(Date.UTC(2026, 10, 21, 9, 0, 0) + ms).toISOString();
      // Step k starts at k·100 ms; its readEnd 10 ms later, its gpuEnd 80 ms later; the first gives its start.
      const step = (k: number) => ({
        step: k,
        readEnd: at(k * 100 + 10),
        gpuEnd: at(k * 100 + 80),
        ...(k === 1 ? { start: at(100) } : {}),
      });
      const firstPart = await upload('steps', run.id, ndjson([step(3), step(1), step(2)]));
      expect(firstPart.body).toMatchObject({ accepted: 3, duplicates: 0, rejectedCount: 0 });
      // Step 4 starts where step 3 ended, stored by the first upload; step 6 waits for step 5, later in this one.
      const secondPart = await upload('steps', run.id, ndjson([step(4), step(6), step(5), step(2), { ...step(3), gpuEnd: at(390) }]));
      expect(secondPart.body).toMatchObject({ accepted: 3, duplicates: 1, rejectedCount: 1, run: { steps: 6 } });
      expect(secondPart.body.rejected).toEqual([
        { line: 5, field: 'step', reason: expect.stringMatching(/step 3 was stored before with other values/) },
      ]);
      const stored = await t.sql.query('SELECT step, read_s, gpu_s FROM training_run_steps WHERE run_id = $1 ORDER BY step', [run.id]);
      expect(stored.rows.map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6]);
      // Step 1 read 10 ms; every later step started when the one before ended (its gpuEnd), 20 ms before its own start + 10 ms.
      expect(stored.rows.map((r) => Math.round(r.read_s * 1e6))).toEqual([10_000, 30_000, 30_000, 30_000, 30_000, 30_000]);
      expect(stored.rows.every((r) => Math.round(r.gpu_s * 1e6) === 70_000)).toBe(true);
      // Uploading the whole log again changes nothing.
      const again = await upload('steps', run.id, ndjson([1, 2, 3, 4, 5, 6].map(step)));
      expect(again.body).toMatchObject({ accepted: 0, duplicates: 6, rejectedCount: 0 });
    });

    it('reads a CSV step log by its header, and the step log the documented hook writes', async () => {
      const run = await localRun('csv and hook');
      const csv = 'step,epoch,read,gpu,save,loss\n1,0,0.012,0.071,,0.9\n2,0,0.013,0.070,0.5,0.8\n3,0,x,0.07,,\n';
      const res = await upload('steps', run.id, csv, { type: 'text/csv' });
      expect(res.body).toMatchObject({ accepted: 2, rejectedCount: 1, format: 'csv', rejected: [{ line: 4, field: 'read' }] });
      const header = await upload('steps', run.id, 'read,gpu\n0.1,0.1\n', { type: 'text/csv' });
      expect(header.status).toBe(400);
      expect(header.body.error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'header' });

      const docs = readFileSync(join(__dirname, '..', 'docs', 'measured-runs.md'), 'utf8');
      const sample = /<!-- step-log-sample:begin -->\n```ndjson\n([\s\S]*?)```\n<!-- step-log-sample:end -->/.exec(docs)![1];
      const hookRun = await localRun('hook');
      const fed = await upload('steps', hookRun.id, sample);
      expect(fed.body).toMatchObject({ accepted: 5, duplicates: 0, rejectedCount: 0 });
      const first = (await t.sql.query('SELECT read_s, gpu_s, save_s FROM training_run_steps WHERE run_id = $1 AND step = 1', [hookRun.id]))
        .rows[0];
      expect(first).toEqual({ read_s: 0.012691, gpu_s: 0.071169, save_s: 0 });
      const fifth = (await t.sql.query('SELECT save_s FROM training_run_steps WHERE run_id = $1 AND step = 5', [hookRun.id])).rows[0];
      expect(fifth.save_s).toBeCloseTo(0.050182, 6);
    });

    it('reads nfsiostat output in the old and the new layouts, per node, placing reports in time', async () => {
      const run = await localRun('nfsiostat');
      const current = readFileSync(join(FIXTURES, 'nfsiostat-queue-and-errors.txt'), 'utf8');
      const oldest = readFileSync(join(FIXTURES, 'nfsiostat-tab-separated.txt'), 'utf8');
      const res = await upload('nfsiostat', run.id, current, {
        type: 'text/plain',
        query: { node: 'gpu-n1', interval: '10', start: '2026-11-21T09:00:00Z' },
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        accepted: 12,
        duplicates: 0,
        rejectedCount: 0,
        node: 'gpu-n1',
        mountPoints: ['/mnt/data', '/mnt/ckpt'],
        run: { ioSamples: 12 },
      });
      const oldRes = await upload('nfsiostat', run.id, oldest, { type: 'text/plain', query: { node: 'gpu-n2' } });
      expect(oldRes.body).toMatchObject({ accepted: 12, rejectedCount: 0 });
      const rows = await t.sql.query(
        `SELECT node, report, since_mount, at, interval_s, kb_per_s, avg_rtt_ms, avg_queue_ms, errors FROM training_run_io_samples
          WHERE run_id = $1 AND mount_point = '/mnt/data' AND direction = 'READ' ORDER BY node, report`,
        [run.id],
      );
      expect(rows.rows.map((r) => [r.node, r.report, r.since_mount, r.at?.toISOString() ?? null, r.interval_s])).toEqual([
        ['gpu-n1', 0, true, '2026-11-21T09:00:00.000Z', null],
        ['gpu-n1', 1, false, '2026-11-21T09:00:10.000Z', 10],
        ['gpu-n1', 2, false, '2026-11-21T09:00:20.000Z', 10],
        ['gpu-n2', 0, true, null, null],
        ['gpu-n2', 1, false, null, null],
        ['gpu-n2', 2, false, null, null],
      ]);
      expect(rows.rows[0]).toMatchObject({ kb_per_s: 930000.45, avg_rtt_ms: 0.512, avg_queue_ms: 0.012, errors: '0' });
      expect(rows.rows[3]).toMatchObject({ kb_per_s: 930000.45, avg_queue_ms: null, errors: null });
      // The same output again: duplicates. Altered figures: a conflict naming the line.
      const lines = current.split('\n');
      lines[7] = lines[7].replace('0.512', '0.999');
      lines[9] = lines[9].replace(/0\.000(\s+)0\.000/, '0.000$1zero!');
      const altered = await upload('nfsiostat', run.id, lines.join('\n'), {
        type: 'text/plain',
        query: { node: 'gpu-n1', interval: '10', start: '2026-11-21T09:00:00Z' },
      });
      expect(altered.body).toMatchObject({ accepted: 0, duplicates: 10, rejectedCount: 2 });
      expect(altered.body.rejected.map((r: { line: number; field: string }) => [r.line, r.field])).toEqual([
        [8, 'read'],
        [10, 'write.kB/s'],
      ]);
      const badQuery = await upload('nfsiostat', run.id, current, { type: 'text/plain', query: { start: '2026-11-21T09:00:00Z' } });
      expect(badQuery.status).toBe(400);
      expect(badQuery.body.error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'interval' });
    });

    it('takes power samples by site code or id, refusing bad ones by line and field', async () => {
      const run = await localRun('power');
      const sample = (equipment: string, second: number, watts: number, extra: Record<string, unknown> = {}) => ({
        equipment,
        kind: 'GPU_NODE',
        site: 'TAM-GDC',
        time: `2026-11-21T09:00:${String(second).padStart(2, '0')}Z`,
        watts,
        ...extra,
      });
      const res = await upload(
        'power',
        run.id,
        ndjson([
          sample('n1', 0, 5200),
          sample('n1', 1, 5210),
          sample('sw1', 0, 350, { kind: 'SWITCH', site: sites['TAM-GDC'] }),
          sample('n1', 2, 5220, { site: 'MARS' }),
          sample('n1', 3, -5),
          sample('n1', 4, 100, { kind: 'FRIDGE' }),
          sample('n1', 0, 5200),
          sample('n1', 1, 9999),
        ]),
      );
      expect(res.body).toMatchObject({ accepted: 3, duplicates: 1, rejectedCount: 4, equipment: ['n1', 'sw1'], run: { powerSamples: 3 } });
      expect(res.body.rejected.map((r: { line: number; field: string }) => [r.line, r.field])).toEqual([
        [4, 'site'],
        [5, 'watts'],
        [6, 'kind'],
        [8, 'watts'],
      ]);
      expect(res.body.rejected[3].reason).toMatch(/stored before with other values/);
    });

    it('counts log lines by level and keeps the first and the last of a long log', async () => {
      const run = await localRun('logs');
      const lines = [
        '2026-11-21 09:00:00,001 - trainer - INFO - starting',
        'WARNING:trainer:slow loader',
        '2026-11-21 09:00:00,003 - trainer - ERROR - checkpoint failed',
        'Traceback (most recent call last):',
        '2026-11-21 09:00:00,004 - trainer - DEBUG - detail',
        'bad \u0000 line',
      ];
      const res = await upload('logs', run.id, lines.join('\n'), { type: 'text/plain' });
      expect(res.body).toMatchObject({
        accepted: 5,
        rejectedCount: 1,
        rejected: [{ line: 6, field: 'text' }],
        levels: { ERROR: 1, WARN: 1, INFO: 1, DEBUG: 1, OTHER: 1 },
      });
      const long = Array.from({ length: 12_000 }, (_, i) => `2026-11-21 09:00:00,000 - trainer - INFO - line ${i + 1}`).join('\n');
      expect((await upload('logs', run.id, long, { type: 'text/plain' })).body).toMatchObject({
        accepted: 12_000,
        run: { logLines: 12_005 },
      });
      const view = await runOf(run.id);
      expect(view.ingested).toMatchObject({
        logLines: 12_005,
        logLinesKept: 10_000,
        logLevels: { error: 1, warn: 1, info: 12_001, debug: 1, other: 1 },
      });
      const kept = await t.sql.query(
        'SELECT min(seq)::int AS first, max(seq)::int AS last, count(*)::int AS n FROM training_run_log_lines WHERE run_id = $1',
        [run.id],
      );
      expect(kept.rows[0]).toEqual({ first: 1, last: 12_005, n: 10_000 });
      const edges = await t.sql.query(
        'SELECT seq::int AS seq, level, text FROM training_run_log_lines WHERE run_id = $1 AND seq IN (3, 5000, 5001, 7005, 7006, 12005) ORDER BY seq',
        [run.id],
      );
      expect(edges.rows.map((r) => r.seq)).toEqual([3, 5000, 7006, 12005]);
      expect(edges.rows[0]).toMatchObject({ level: 'ERROR', text: lines[2] });
      expect(edges.rows[3].text).toMatch(/line 12000$/);
    });

    it('answers another tenant’s run exactly like a run that does not exist, and refuses billing keys', async () => {
      const theirs = await localRun('b secrets', b.token);
      const missing = '00000000-0000-4000-8000-000000000000';
      for (const kind of ['steps', 'nfsiostat', 'power', 'logs']) {
        const other = await upload(kind, theirs.id, '{"step":1,"read":0.1,"gpu":0.1}\n');
        const none = await upload(kind, missing, '{"step":1,"read":0.1,"gpu":0.1}\n');
        expect(other.status).toBe(404);
        expect(other.body).toEqual({ error: { code: 'NOT_FOUND', message: none.body.error.message.replace(missing, theirs.id) } });
        expect((await upload(kind, theirs.id, '{}\n', { token: billing })).body.error.code).toBe('FORBIDDEN');
      }
      expect((await runOf(theirs.id, b.token)).ingested.steps).toBe(0);
      const noToken = await request(t.url).post(`/runs/${theirs.id}/steps`).set('content-type', 'application/x-ndjson').send('{}\n');
      expect(noToken.status).toBe(401);
      const badId = await upload('steps', 'run-42', '{}\n');
      expect(badId.status).toBe(400);
      expect(badId.body.error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
    });

    it('streams a large step log in batches without holding it in memory', async () => {
      const run = await localRun('large');
      const lines = 200_000;
      // Padded to about 500 MB: more than the service's heap and the embedded database's growth from 200,000
      // rows, so that buffering it would show, however the garbage collector runs.
      const pad = 'x'.repeat(2430);
      let bytes = 0;
      const body = Readable.from(
        (function* () {
          for (let start = 1; start <= lines; start += 1000) {
            let chunk = '';
            for (let step = start; step < start + 1000; step++)
              chunk += `{"step":${step},"epoch":${Math.floor((step - 1) / 5000)},"read":0.0${step % 10}1,"gpu":0.071,"save":0,"note":"${pad}"}\n`;
            bytes += chunk.length;
            yield chunk;
          }
        })(),
      );
      const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${t.process.pid}/status`, 'utf8'))![1]) * 1024;
      const before = rss();
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rss())), 50);
      const started = Date.now();
      const answer = await new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
        const url = new URL(`${t.url}/runs/${run.id}/steps`);
        const req = httpRequest(
          {
            hostname: url.hostname,
            port: url.port,
            path: url.pathname,
            method: 'POST',
            headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/x-ndjson' },
          },
          (res) => {
            let text = '';
            res.on('data', (d: Buffer) => (text += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          },
        );
        req.on('error', reject);
        body.pipe(req);
      });
      clearInterval(sampler);
      const seconds = (Date.now() - started) / 1000;
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ accepted: lines, duplicates: 0, rejectedCount: 0, lines, run: { steps: lines } });
      const growth = peak - before;
      process.stdout.write(
        `large upload on ${t.backend}: ${lines} steps, ${(bytes / 1e6).toFixed(1)} MB in ${seconds.toFixed(1)} s (${Math.round(lines / seconds)} steps/s); service RSS ${(before / 1e6).toFixed(0)} MB before, peak growth ${(growth / 1e6).toFixed(1)} MB\n`,
      );
      // Buffered whole, the upload alone would grow the service by its size.
      expect(growth).toBeLessThan(bytes);
      const summary = await t.sql.query(
        `SELECT count(*)::int AS n, percentile_cont(0.5) WITHIN GROUP (ORDER BY gpu_s) AS gpu_p50 FROM training_run_steps WHERE run_id = $1`,
        [run.id],
      );
      expect(summary.rows[0]).toEqual({ n: lines, gpu_p50: 0.071 });
    }, 600_000);
  });
});

describe('measured-run upload caps', () => {
  let t: TestService;
  let token: string;
  let site: string;

  beforeAll(async () => {
    t = await startTestService({ APN_RUN_UPLOAD_MAX_BYTES: '4096', APN_RUN_UPLOAD_MAX_LINES: '50', APN_RUN_MAX_RECORDS: '60' });
    token = (await createTenantWithKey(t, 'Capped')).token;
    site = (await gqlOk(t.url, t.adminToken, '{ sites { id code } }')).sites.find((s: { code: string }) => s.code === 'TAM-GDC').id;
  });
  afterAll(async () => {
    await t?.stop();
  });

  const newRun = async () =>
    (
      await gqlOk(t.url, token, CREATE, {
        input: {
          label: 'capped',
          workload: { modelName: 'm', datasetBytes: '1', datasetItems: '1', batchSize: 1, steps: 1 },
          connection: { kind: 'LOCAL' },
          gpuSiteId: site,
        },
      })
    ).createTrainingRun.id as string;
  const steps = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => `{"step":${from + i},"read":0.1,"gpu":0.1}`).join('\n') + '\n';
  const post = (runId: string, body: string) =>
    request(t.url)
      .post(`/runs/${runId}/steps`)
      .set('authorization', `Bearer ${token}`)
      .set('content-type', 'application/x-ndjson')
      .send(body);

  it('stops an upload past its line cap, keeping and reporting the lines before it', async () => {
    const run = await newRun();
    const res = await post(run, steps(1, 51));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      error: { code: 'BAD_USER_INPUT', field: 'body', message: expect.stringMatching(/more than 50 lines \(APN_RUN_UPLOAD_MAX_LINES\)/) },
      accepted: 50,
      lines: 50,
    });
    expect((await t.sql.query('SELECT count(*)::int AS n FROM training_run_steps')).rows[0].n).toBe(50);
  });

  it('refuses an upload that announces more bytes than the cap before reading it, and stops a stream that grows past it', async () => {
    const run = await newRun();
    const answer = await new Promise<{ status: number; body: Record<string, any> }>((resolve, reject) => {
      const url = new URL(`${t.url}/runs/${run}/steps`);
      const req = httpRequest(
        {
          hostname: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson', 'content-length': '100000' },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      req.write('{"step":1,"read":0.1,"gpu":0.1}\n');
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'body',
      message: expect.stringMatching(/announces 100000 bytes; at most 4096/),
    });

    // 40 lines of 120 bytes: the cap (4096 bytes) falls in line 35.
    const padded =
      Array.from(
        { length: 40 },
        (_, i) => `{"step":${i + 1},"read":0.1,"gpu":0.1,"note":"${'y'.repeat(120 - 40 - String(i + 1).length - 1)}"}`,
      ).join('\n') + '\n';
    const streamed = await new Promise<{ status: number; body: Record<string, any> }>((resolve, reject) => {
      const url = new URL(`${t.url}/runs/${run}/steps`);
      const req = httpRequest(
        {
          hostname: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        },
      );
      req.on('error', reject);
      Readable.from(padded.match(/[\s\S]{1,500}/g)!).pipe(req);
    });
    expect(streamed.status).toBe(400);
    expect(streamed.body).toMatchObject({
      error: {
        code: 'BAD_USER_INPUT',
        field: 'body',
        message: expect.stringMatching(/larger than 4096 bytes \(APN_RUN_UPLOAD_MAX_BYTES\); its first 34 lines were read/),
      },
      accepted: 34,
    });
  });

  it('stops when a run would hold more records than its cap, keeping what fit', async () => {
    const run = await newRun();
    expect((await post(run, steps(1, 40))).body).toMatchObject({ accepted: 40 });
    const over = await post(run, steps(41, 70));
    expect(over.status).toBe(400);
    expect(over.body).toMatchObject({
      error: {
        code: 'BAD_USER_INPUT',
        field: 'body',
        message: expect.stringMatching(/more than 60 steps \(APN_RUN_MAX_RECORDS; it holds 40\)/),
      },
      accepted: 0,
    });
    expect((await post(run, steps(41, 60))).body).toMatchObject({ accepted: 20, run: { steps: 60 } });
    expect((await post(run, steps(1, 10))).body).toMatchObject({ accepted: 0, duplicates: 10 });
  });
});
