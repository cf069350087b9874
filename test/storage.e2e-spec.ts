import yaml from 'js-yaml';
import { writeFileSync } from 'node:fs';
import { RESERVE, createTenantWithKey, endpointIds, gql, gqlOk, startTestService, waitFor, type TestService } from './support/service';

/**
 * Storage for GPU tenants, end to end over GraphQL: the inventory, attaching a dataset to GPU nodes over a
 * lightpath in each design, the refusals, ordering with the lightpath's own lifecycle, purges and custody.
 */

const TB = 10n ** 12n;
const MOUNT_FIELDS = `id state design protocol reason reservationId
  dataset { id name } storageNode { code } gpuAllocation { id nodes { address } }
  progress { bytesCopied bytesTotal percent rateGbps etaSeconds }
  history { state fromState at reason }`;

describe('storage', () => {
  let t: TestService;
  let ep: Record<string, string>;
  let sites: Record<string, string>;
  let nodes: Record<string, string>;
  let tenant: { tenantId: string; token: string };
  let other: { tenantId: string; token: string };
  const ids: Record<string, string> = {};

  const op = (query: string, variables: Record<string, unknown> = {}) => gqlOk(t.url, t.adminToken, query, variables);
  const asTenant = (query: string, variables: Record<string, unknown> = {}) => gqlOk(t.url, tenant.token, query, variables);

  const createStorage = async (code: string, site: string, kind: string, extra: Record<string, unknown> = {}) =>
    (
      await op('mutation($i: CreateStorageSystemInput!) { createStorageSystem(input: $i) { id } }', {
        i: {
          code,
          name: code,
          kind,
          siteId: sites[site],
          host: extra.host ?? `${code.toLowerCase()}.example.net`,
          capacityBytes: String((extra.capacityBytes as bigint | undefined) ?? 20n * TB),
          throughputGbps: extra.throughputGbps ?? 200,
          rdma: extra.rdma ?? true,
          idmapDomain: 'corp.example.co.jp',
        },
      })
    ).createStorageSystem.id as string;

  const book = async (src: string, dst: string, startInMs: number, lengthMs: number) => {
    const start = Date.now() + startInMs;
    return (
      await asTenant(RESERVE, {
        input: {
          sourceEndpointId: ep[src],
          destinationEndpointId: ep[dst],
          rateGbps: 100,
          autoCommit: true,
          start: new Date(start).toISOString(),
          end: new Date(start + lengthMs).toISOString(),
        },
      })
    ).reserveLightpath as { id: string; start: string; end: string };
  };

  const allocate = async (cluster: string, nodeCount: number, start: Date, end: Date) =>
    (
      await op('mutation($i: AllocateGpusInput!) { allocateGpus(input: $i) { id nodes { name address } } }', {
        i: { tenantId: tenant.tenantId, clusterId: ids[cluster], nodeCount, start: start.toISOString(), end: end.toISOString() },
      })
    ).allocateGpus as { id: string; nodes: Array<{ name: string; address: string }> };

  const attach = (input: Record<string, unknown>, token = tenant.token) =>
    gql(t.url, token, `mutation($i: AttachStorageInput!) { attachStorage(input: $i) { ${MOUNT_FIELDS} } }`, { i: input });

  const mountOf = async (id: string) => (await asTenant(`query($id: ID!) { mount(id: $id) { ${MOUNT_FIELDS} } }`, { id })).mount;
  const settleMount = (id: string, states: string[], what: string, timeoutMs = 30_000) =>
    waitFor(
      async () => {
        const m = await mountOf(id);
        return states.includes(m.state) ? m : null;
      },
      timeoutMs,
      what,
    );
  const reservationOf = async (id: string) =>
    (await asTenant('query($id: ID!) { reservation(id: $id) { state history { state at reason } } }', { id })).reservation;
  const settleReservation = (id: string, states: string[], what: string) =>
    waitFor(
      async () => {
        const r = await reservationOf(id);
        return states.includes(r.state) ? r : null;
      },
      30_000,
      what,
    );
  const countMounts = async () => (await t.sql.query('SELECT count(*)::int AS n FROM mounts')).rows[0].n as number;
  const auditOf = async (action: string, mountId: string) =>
    (await t.sql.query(`SELECT data FROM audit_log WHERE action = $1 AND data->>'mountId' = $2`, [action, mountId])).rows.map(
      (r) => r.data,
    );

  beforeAll(async () => {
    // 3.8 TB at ~12.4 GB/s is about five minutes; a hundredfold speedup makes it three seconds.
    t = await startTestService({
      APN_MIN_DURATION_S: '1',
      APN_EMULATOR_HOP_MS: '10',
      APN_STORAGE_SPEEDUP: '100',
      APN_RECONCILE_INTERVAL_S: '1',
      APN_JOB_ATTEMPTS: '3',
      APN_JOB_BACKOFF_MS: '100',
      ...(process.env.SHOW_SERVICE_OUTPUT ? { LOG_LEVEL: 'info' } : {}),
    });
    ep = await endpointIds(t);
    const topo = await op('{ sites { id code } nodes { id code } }');
    sites = Object.fromEntries(topo.sites.map((s: { id: string; code: string }) => [s.code, s.id]));
    nodes = Object.fromEntries(topo.nodes.map((n: { id: string; code: string }) => [n.code, n.id]));
    tenant = await createTenantWithKey(t, 'Hospital Group');
    other = await createTenantWithKey(t, 'Other Co');

    ids.office = await createStorage('OTE-NFS', 'OTE-HQ', 'OFFICE_NFS');
    ids.sdiOffice = await createStorage('SDI-NFS', 'SDI-LAB', 'OFFICE_NFS', { rdma: false });
    ids.tamReplica = await createStorage('TAM-REPLICA', 'TAM-GDC', 'DC_REPLICA', { throughputGbps: 400 });
    ids.tamCache = await createStorage('TAM-CACHE', 'TAM-GDC', 'DC_CACHE');
    const cluster = (code: string, site: string, rdma: boolean, base: string) =>
      op('mutation($i: CreateGpuClusterInput!) { createGpuCluster(input: $i) { id nodes { name } } }', {
        i: {
          code,
          name: code,
          siteId: sites[site],
          rdma,
          nodes: [1, 2, 3].map((k) => ({ name: `${code.toLowerCase()}-n${k}`, address: `${base}.${k}`, gpus: 8, ratedPowerKw: 10.2 })),
        },
      });
    ids.TAM = (await cluster('TAM-H100', 'TAM-GDC', true, '10.20.0')).createGpuCluster.id;
    ids.ISK = (await cluster('ISK-H100', 'ISK-GDC', false, '10.30.0')).createGpuCluster.id;
    const dataset = (name: string, sensitivity: string, path: string) =>
      op('mutation($i: CreateDatasetInput!) { createDataset(input: $i) { id } }', {
        i: {
          tenantId: tenant.tenantId,
          storageSystemId: ids.office,
          name,
          exportPath: path,
          bytes: String((38n * TB) / 10n),
          fileCount: '28000',
          sensitivity,
        },
      });
    ids.unet = (await dataset('unet3d-kits19', 'INTERNAL', '/export/unet3d')).createDataset.id;
    ids.secret = (await dataset('patient-scans', 'CONFIDENTIAL', '/export/patients')).createDataset.id;
  });
  afterAll(async () => {
    if (process.env.SHOW_SERVICE_OUTPUT) writeFileSync(process.env.SHOW_SERVICE_OUTPUT, t?.output() ?? '');
    await t?.stop();
  });

  describe('inventory', () => {
    it('shows tenants their own datasets and allocations only', async () => {
      const start = new Date(Date.now() + 86_400_000);
      const allocation = await allocate('TAM', 1, start, new Date(start.getTime() + 3_600_000));
      const mine = await asTenant(
        '{ datasets(first: 100) { edges { node { id sensitivity bytes storageSystem { code site { code } } } } } gpuAllocations(first: 100) { edges { node { id } } } }',
      );
      const datasets = mine.datasets.edges.map((e: { node: { id: string } }) => e.node);
      expect(datasets.map((d: { id: string }) => d.id).sort()).toEqual([ids.unet, ids.secret].sort());
      expect(datasets.find((d: { id: string }) => d.id === ids.unet)).toMatchObject({
        bytes: '3800000000000',
        storageSystem: { code: 'OTE-NFS', site: { code: 'OTE-HQ' } },
      });
      expect(mine.gpuAllocations.edges.map((e: { node: { id: string } }) => e.node.id)).toContain(allocation.id);

      const theirs = await gqlOk(t.url, other.token, '{ datasets { edges { node { id } } } gpuAllocations { edges { node { id } } } }');
      expect(theirs).toEqual({ datasets: { edges: [] }, gpuAllocations: { edges: [] } });
      const peek = await gql(t.url, other.token, 'query($id: ID!) { dataset(id: $id) { id } }', { id: ids.unet });
      expect(peek.errors![0].extensions.code).toBe('NOT_FOUND');
      const create = await gql(t.url, tenant.token, 'mutation($i: CreateStorageSystemInput!) { createStorageSystem(input: $i) { id } }', {
        i: { code: 'X', name: 'X', kind: 'OFFICE_NFS', siteId: sites['OTE-HQ'], host: 'x', capacityBytes: '1', throughputGbps: 1 },
      });
      expect(create.errors![0].extensions.code).toBe('FORBIDDEN');
    });

    it('pages datasets newest first and GPU allocations by start, each cursor continuing where its page ended', async () => {
      const pages = async (list: 'datasets' | 'gpuAllocations', first: number) => {
        const seen: string[] = [];
        let after: string | null = null;
        for (;;) {
          const page: { edges: Array<{ node: { id: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } = (
            await asTenant(
              `query($first: Int, $after: String) { ${list}(first: $first, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }`,
              {
                first,
                after,
              },
            )
          )[list];
          expect(page.edges.length).toBeLessThanOrEqual(first);
          seen.push(...page.edges.map((e) => e.node.id));
          if (!page.pageInfo.hasNextPage) return seen;
          after = page.pageInfo.endCursor;
        }
      };
      const start = new Date(Date.now() + 20 * 86_400_000);
      await allocate('ISK', 1, start, new Date(start.getTime() + 3_600_000));
      await allocate('ISK', 1, new Date(start.getTime() - 3_600_000), start);
      for (const list of ['datasets', 'gpuAllocations'] as const) {
        const all = (await asTenant(`{ ${list}(first: 100) { edges { node { id } } } }`))[list].edges.map(
          (e: { node: { id: string } }) => e.node.id,
        );
        expect(all.length).toBeGreaterThanOrEqual(2);
        expect(await pages(list, 1)).toEqual(all);
      }
      expect(await pages('datasets', 1)).toEqual([ids.secret, ids.unet]);
      const bad = await gql(t.url, tenant.token, '{ mounts(after: "not-a-cursor") { edges { node { id } } } }');
      expect(bad.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    });

    it('never allocates a GPU node twice in overlapping windows, and the database enforces it', async () => {
      const start = new Date(Date.now() + 2 * 86_400_000);
      const end = new Date(start.getTime() + 3_600_000);
      const first = await allocate('TAM', 2, start, end);
      const tooMany = await gql(t.url, t.adminToken, 'mutation($i: AllocateGpusInput!) { allocateGpus(input: $i) { id } }', {
        i: {
          tenantId: tenant.tenantId,
          clusterId: ids.TAM,
          nodeCount: 2,
          start: new Date(start.getTime() + 1_800_000).toISOString(),
          end: end.toISOString(),
        },
      });
      expect(tooMany.errors![0].extensions).toMatchObject({ code: 'NO_CAPACITY', field: 'input.nodeCount', free: 1 });
      const afterwards = await allocate('TAM', 2, end, new Date(end.getTime() + 3_600_000));
      expect(afterwards.nodes.map((n) => n.name)).toEqual(first.nodes.map((n) => n.name));
      // Behind the service, the exclusion constraint refuses an overlapping hold on a node.
      const node = (await t.sql.query('SELECT node_id FROM gpu_node_allocations WHERE allocation_id = $1 LIMIT 1', [first.id])).rows[0]
        .node_id;
      await expect(
        t.sql.query(`INSERT INTO gpu_node_allocations (allocation_id, node_id, during) VALUES ($1, $2, tstzrange($3, $4, '[)'))`, [
          afterwards.id,
          node,
          start,
          end,
        ]),
      ).rejects.toMatchObject({ code: '23P01' });
    });

    it('meters a released allocation up to its release, and gives its node back from then on', async () => {
      const one = (
        await op('mutation($i: CreateGpuClusterInput!) { createGpuCluster(input: $i) { id } }', {
          i: {
            code: 'TAM-SOLO',
            name: 'TAM-SOLO',
            siteId: sites['TAM-GDC'],
            rdma: true,
            nodes: [{ name: 'solo-n1', address: '10.21.0.1', gpus: 8, ratedPowerKw: 10.2 }],
          },
        })
      ).createGpuCluster.id as string;
      const hold = (start: Date, end: Date) =>
        op('mutation($i: AllocateGpusInput!) { allocateGpus(input: $i) { id } }', {
          i: { tenantId: tenant.tenantId, clusterId: one, nodeCount: 1, start: start.toISOString(), end: end.toISOString() },
        }).then((r) => r.allocateGpus.id as string);
      const release = (id: string) => op('mutation($id: ID!) { releaseGpuAllocation(id: $id) { state } }', { id });
      const start = new Date(Date.now() + 500);
      const end = new Date(start.getTime() + 3_600_000);
      const used = await hold(start, end);
      const future = await hold(new Date(end.getTime() + 86_400_000), new Date(end.getTime() + 90_000_000));
      await new Promise((r) => setTimeout(r, 2_000));
      const before = Date.now();
      expect((await release(used)).releaseGpuAllocation.state).toBe('RELEASED');
      const after = Date.now();
      expect((await release(future)).releaseGpuAllocation.state).toBe('RELEASED');
      // The node is free for the rest of the window at once.
      const next = await hold(new Date(after + 1_000), end);

      await op('mutation($u: DateTime) { collectUsage(until: $u) }', { u: new Date(Date.now() + 2 * 3_600_000).toISOString() });
      const seconds = async (id: string) =>
        Number(
          (
            await t.sql.query(
              `SELECT coalesce(sum(quantity), 0)::text AS q FROM usage_events WHERE resource_id = $1 AND type = 'gpu.node_seconds' AND NOT superseded`,
              [id],
            )
          ).rows[0].q,
        );
      const held = await seconds(used);
      expect(held).toBeGreaterThanOrEqual((before - start.getTime()) / 1000 - 0.001);
      expect(held).toBeLessThanOrEqual((after - start.getTime()) / 1000 + 0.001);
      expect(await seconds(future)).toBe(0);
      await release(next);
    });

    it('refuses bad inventory input naming the field, and writes nothing', async () => {
      const before = (await t.sql.query('SELECT count(*)::int AS n FROM gpu_nodes')).rows[0].n;
      const bad = await gql(t.url, t.adminToken, 'mutation($i: CreateGpuClusterInput!) { createGpuCluster(input: $i) { id } }', {
        i: {
          code: 'BAD',
          name: 'Bad',
          siteId: sites['TAM-GDC'],
          nodes: [
            { name: 'a', address: '10.9.0.1', gpus: 8, ratedPowerKw: 10 },
            { name: 'b', address: '10.9.0.300', gpus: 8, ratedPowerKw: 10 },
          ],
        },
      });
      expect(bad.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.nodes[1].address' });
      const atOffice = await gql(t.url, t.adminToken, 'mutation($i: CreateGpuClusterInput!) { createGpuCluster(input: $i) { id } }', {
        i: {
          code: 'OFFICE-GPU',
          name: 'x',
          siteId: sites['OTE-HQ'],
          nodes: [{ name: 'a', address: '10.9.0.1', gpus: 8, ratedPowerKw: 10 }],
        },
      });
      expect(atOffice.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.siteId' });
      const badPath = await gql(t.url, t.adminToken, 'mutation($i: CreateDatasetInput!) { createDataset(input: $i) { id } }', {
        i: {
          tenantId: tenant.tenantId,
          storageSystemId: ids.office,
          name: 'x',
          exportPath: 'relative/../path',
          bytes: '1',
          fileCount: '1',
          sensitivity: 'INTERNAL',
        },
      });
      expect(badPath.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.exportPath' });
      const onReplica = await gql(t.url, t.adminToken, 'mutation($i: CreateDatasetInput!) { createDataset(input: $i) { id } }', {
        i: {
          tenantId: tenant.tenantId,
          storageSystemId: ids.tamReplica,
          name: 'x',
          exportPath: '/x',
          bytes: '1',
          fileCount: '1',
          sensitivity: 'INTERNAL',
        },
      });
      expect(onReplica.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.storageSystemId' });
      expect((await t.sql.query('SELECT count(*)::int AS n FROM gpu_nodes')).rows[0].n).toBe(before);
    });
  });

  describe('attachStorage refusals', () => {
    let lightpath: { id: string; start: string; end: string };
    let allocation: { id: string };
    beforeAll(async () => {
      lightpath = await book('OTE-HQ-100G-4', 'TAM-GDC-100G-2', 3 * 86_400_000, 3_600_000);
      allocation = await allocate('TAM', 1, new Date(lightpath.start), new Date(lightpath.end));
    });

    it('refuses a CONFIDENTIAL dataset in any design but DIRECT, naming the policy', async () => {
      const before = await countMounts();
      for (const design of ['REPLICATION', 'CACHE']) {
        const r = await attach({ reservationId: lightpath.id, datasetId: ids.secret, gpuAllocationId: allocation.id, design });
        expect(r.errors![0].extensions).toMatchObject({
          code: 'FORBIDDEN',
          field: 'input.design',
          policy: 'CONFIDENTIAL_DATA_STAYS_IN_OFFICE',
        });
        expect(r.errors![0].message).toMatch(/CONFIDENTIAL.*DIRECT/);
      }
      expect(await countMounts()).toBe(before);
    });

    it('checks sites, windows and RDMA on both ends, naming the field each time, and changes nothing', async () => {
      const before = await countMounts();
      // The dataset lives at OTE-HQ; this lightpath starts at SDI-LAB.
      const fromLab = await book('SDI-LAB-100G-3', 'TAM-GDC-100G-2', 4 * 86_400_000, 3_600_000);
      const labAlloc = await allocate('TAM', 1, new Date(fromLab.start), new Date(fromLab.end));
      const wrongSource = await attach({ reservationId: fromLab.id, datasetId: ids.unet, gpuAllocationId: labAlloc.id, design: 'DIRECT' });
      expect(wrongSource.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.datasetId' });
      expect(wrongSource.errors![0].message).toMatch(/OTE-HQ.*SDI-LAB/);

      // The GPUs are at Ishikari; the lightpath ends at Tama.
      const iskAlloc = await allocate('ISK', 1, new Date(lightpath.start), new Date(lightpath.end));
      const wrongDestination = await attach({
        reservationId: lightpath.id,
        datasetId: ids.unet,
        gpuAllocationId: iskAlloc.id,
        design: 'DIRECT',
      });
      expect(wrongDestination.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.gpuAllocationId' });

      // An allocation that ends before the lightpath starts.
      const early = await allocate(
        'TAM',
        1,
        new Date(Date.parse(lightpath.start) - 7_200_000),
        new Date(Date.parse(lightpath.start) - 3_600_000),
      );
      const noOverlap = await attach({ reservationId: lightpath.id, datasetId: ids.unet, gpuAllocationId: early.id, design: 'DIRECT' });
      expect(noOverlap.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.gpuAllocationId' });
      expect(noOverlap.errors![0].message).toMatch(/does not overlap/);

      // NFS over RDMA to Ishikari, whose cluster has no RDMA NICs.
      const toIsk = await book('OTE-HQ-100G-4', 'ISK-GDC-100G-1', 5 * 86_400_000, 3_600_000);
      const iskLater = await allocate('ISK', 1, new Date(toIsk.start), new Date(toIsk.end));
      const rdma = await attach({
        reservationId: toIsk.id,
        datasetId: ids.unet,
        gpuAllocationId: iskLater.id,
        design: 'DIRECT',
        protocol: 'NFS_RDMA',
      });
      expect(rdma.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.protocol' });
      expect(rdma.errors![0].message).toMatch(/ISK-H100/);

      // REPLICATION to Ishikari: no replica node there.
      const noReplica = await attach({ reservationId: toIsk.id, datasetId: ids.unet, gpuAllocationId: iskLater.id, design: 'REPLICATION' });
      expect(noReplica.errors![0].extensions).toMatchObject({ code: 'NO_CAPACITY', field: 'input.design' });

      // Another tenant's reservation, dataset or allocation is not there for them.
      const intruder = await attach(
        { reservationId: lightpath.id, datasetId: ids.unet, gpuAllocationId: allocation.id, design: 'DIRECT' },
        other.token,
      );
      expect(intruder.errors![0].extensions.code).toBe('NOT_FOUND');
      expect(await countMounts()).toBe(before);
    });
  });

  it('attaches DIRECT only once the lightpath is ACTIVE, detaches before the lightpath goes down, and records that no copy was made', async () => {
    const lightpath = await book('OTE-HQ-100G-1', 'TAM-GDC-100G-1', 1500, 4000);
    const allocation = await allocate('TAM', 2, new Date(lightpath.start), new Date(lightpath.end));
    const attached = await attach({
      reservationId: lightpath.id,
      datasetId: ids.secret,
      gpuAllocationId: allocation.id,
      design: 'DIRECT',
      protocol: 'NFS_RDMA',
    });
    expect(attached.errors).toBeUndefined();
    const mount = attached.data!.attachStorage;
    expect(mount.state).toBe('PENDING');
    expect(mount.storageNode).toBeNull();

    const up = await settleMount(mount.id, ['ATTACHED', 'FAILED'], 'ATTACHED');
    expect(up.state).toBe('ATTACHED');
    const active = (await reservationOf(lightpath.id)).history.find((h: { state: string }) => h.state === 'ACTIVE');
    const attachedAt = up.history.find((h: { state: string }) => h.state === 'ATTACHED').at;
    expect(Date.parse(attachedAt)).toBeGreaterThanOrEqual(Date.parse(active.at));
    const exported = await t.sql.query('SELECT clients FROM emulator_nfs_exports WHERE mount_id = $1', [mount.id]);
    expect(exported.rows[0].clients.sort()).toEqual(allocation.nodes.map((n) => n.address).sort());

    const released = await settleReservation(lightpath.id, ['RELEASED'], 'the lightpath to be released');
    const down = await mountOf(mount.id);
    expect(down.state).toBe('DETACHED');
    const detachedAt = down.history.find((h: { state: string }) => h.state === 'DETACHED').at;
    const releasingAt = released.history.find((h: { state: string }) => h.state === 'RELEASED').at;
    expect(Date.parse(detachedAt)).toBeLessThanOrEqual(Date.parse(releasingAt));
    expect((await t.sql.query('SELECT count(*)::int AS n FROM emulator_nfs_exports WHERE mount_id = $1', [mount.id])).rows[0].n).toBe(0);

    const custody = (
      await asTenant(
        'query($d: ID!) { datasetCustody(datasetId: $d) { clean bytesHeldOutsideOffice origin { code } records { kind mountId copyMade clean purgedAt gpuNodeAddresses location { code } } } }',
        { d: ids.secret },
      )
    ).datasetCustody;
    expect(custody.origin.code).toBe('OTE-NFS');
    expect(custody.clean).toBe(true);
    const record = custody.records.find((r: { mountId: string }) => r.mountId === mount.id);
    expect(record).toMatchObject({ kind: 'DIRECT_READ', copyMade: false, clean: true, location: { code: 'OTE-NFS' } });
    expect(record.gpuNodeAddresses.sort()).toEqual(allocation.nodes.map((n) => n.address).sort());
    const attestations = await auditOf('dataset.no-copy-made', mount.id);
    expect(attestations).toHaveLength(1);
    expect(attestations[0]).toMatchObject({ datasetId: ids.secret, bytesStored: '0' });
  });

  let replicated: { mountId: string; allocationId: string; allocationStart: string; allocationEnd: string };

  it('replicates with progress and an ETA, attaches when the copy completes, and purges the replica on detach with an attestation', async () => {
    const lightpath = await book('OTE-HQ-100G-2', 'TAM-GDC-100G-2', 1000, 120_000);
    const allocation = await allocate('TAM', 1, new Date(lightpath.start), new Date(lightpath.end));
    replicated = { mountId: '', allocationId: allocation.id, allocationStart: lightpath.start, allocationEnd: lightpath.end };
    const r = await attach({ reservationId: lightpath.id, datasetId: ids.unet, gpuAllocationId: allocation.id, design: 'REPLICATION' });
    expect(r.errors).toBeUndefined();
    const mount = r.data!.attachStorage;
    replicated.mountId = mount.id;
    expect(mount.storageNode.code).toBe('TAM-REPLICA');

    const copying = await settleMount(mount.id, ['REPLICATING', 'ATTACHED', 'FAILED'], 'REPLICATING');
    expect(copying.state).toBe('REPLICATING');
    const p = copying.progress;
    expect(BigInt(p.bytesTotal)).toBe((38n * TB) / 10n);
    expect(BigInt(p.bytesCopied)).toBeLessThan(BigInt(p.bytesTotal));
    // min(100 Gbps lightpath goodput with jumbo frames, 200 Gbps office, 400 Gbps replica)
    expect(p.rateGbps).toBeGreaterThan(98);
    expect(p.rateGbps).toBeLessThan(100);
    expect(p.etaSeconds).toBeGreaterThan(0);
    // What is left, at that rate: the ETA is consistent with the figures beside it.
    expect(p.etaSeconds).toBeCloseTo((Number(p.bytesTotal) - Number(p.bytesCopied)) / ((p.rateGbps * 1e9) / 8), 0);

    const done = await settleMount(mount.id, ['ATTACHED', 'FAILED'], 'the copy to complete');
    expect(done.state).toBe('ATTACHED');
    expect(done.progress).toMatchObject({ bytesCopied: '3800000000000', percent: 100, etaSeconds: null });
    expect(done.history.map((h: { state: string }) => h.state)).toEqual(['PENDING', 'REPLICATING', 'ATTACHED']);

    const during = (await asTenant('query($d: ID!) { datasetCustody(datasetId: $d) { clean bytesHeldOutsideOffice } }', { d: ids.unet }))
      .datasetCustody;
    expect(during).toEqual({ clean: false, bytesHeldOutsideOffice: '3800000000000' });

    await asTenant('mutation($id: ID!) { detachStorage(id: $id) { state } }', { id: mount.id });
    const detached = await settleMount(mount.id, ['DETACHED'], 'DETACHED');
    expect(detached.history.map((h: { state: string }) => h.state)).toEqual([
      'PENDING',
      'REPLICATING',
      'ATTACHED',
      'DETACHING',
      'DETACHED',
    ]);
    const custody = (
      await asTenant(
        'query($d: ID!) { datasetCustody(datasetId: $d) { clean bytesHeldOutsideOffice records { kind mountId copyMade bytesPurged purgedAt clean location { code } } } }',
        { d: ids.unet },
      )
    ).datasetCustody;
    expect(custody.clean).toBe(true);
    expect(custody.bytesHeldOutsideOffice).toBe('0');
    expect(custody.records.find((x: { mountId: string }) => x.mountId === mount.id)).toMatchObject({
      kind: 'REPLICA',
      copyMade: true,
      bytesPurged: '3800000000000',
      clean: true,
      location: { code: 'TAM-REPLICA' },
    });
    const attestations = await auditOf('dataset.copy-purged', mount.id);
    expect(attestations).toHaveLength(1);
    expect(attestations[0]).toMatchObject({ datasetId: ids.unet, node: 'TAM-REPLICA', bytesPurged: '3800000000000' });
    expect(Number.isNaN(Date.parse(attestations[0].at))).toBe(false);
    const again = await gql(t.url, tenant.token, 'mutation($id: ID!) { detachStorage(id: $id) { state } }', { id: mount.id });
    expect(again.errors![0].extensions).toMatchObject({ code: 'INVALID_STATE', state: 'DETACHED' });
    await asTenant('mutation($id: ID!) { cancelReservation(id: $id) { state } }', { id: lightpath.id });
  });

  it('meters the mount’s attached time, the replica’s GB-seconds and the GPU node-seconds, with shadow energy', async () => {
    const written = (
      await op('mutation($u: DateTime) { collectUsage(until: $u) }', { u: new Date(Date.now() + 2 * 3_600_000).toISOString() })
    ).collectUsage;
    expect(written).toBeGreaterThan(0);
    const total = async (resourceId: string, type: string) =>
      Number(
        (
          await t.sql.query(
            'SELECT coalesce(sum(quantity), 0)::text AS q FROM usage_events WHERE resource_id = $1 AND type = $2 AND NOT superseded',
            [resourceId, type],
          )
        ).rows[0].q,
      );
    const history = (await mountOf(replicated.mountId)).history as Array<{ state: string; at: string }>;
    const at = (state: string) => Date.parse(history.find((h) => h.state === state)!.at);
    // Attached from ATTACHED until DETACHING, to the millisecond the API shows.
    expect(Math.abs((await total(replicated.mountId, 'mount.seconds')) - (at('DETACHING') - at('ATTACHED')) / 1000)).toBeLessThan(0.005);
    const design = await t.sql.query(
      `SELECT DISTINCT data->>'design' AS d FROM usage_events WHERE resource_id = $1 AND type = 'mount.seconds'`,
      [replicated.mountId],
    );
    expect(design.rows).toEqual([{ d: 'REPLICATION' }]);
    // The replica held (at most) the dataset's 3,800 GB from the custody record's start until its purge.
    const custody = (
      await asTenant('query($d: ID!) { datasetCustody(datasetId: $d) { records { mountId since purgedAt } } }', { d: ids.unet })
    ).datasetCustody.records.find((x: { mountId: string }) => x.mountId === replicated.mountId);
    const heldSeconds = (Date.parse(custody.purgedAt) - Date.parse(custody.since)) / 1000;
    const gbSeconds = await total(replicated.mountId, 'storage.replica_gb_seconds');
    expect(gbSeconds).toBeGreaterThan(0);
    expect(Math.abs(gbSeconds - 3800 * heldSeconds) / (3800 * heldSeconds)).toBeLessThan(0.01);
    // One node, over the part of its booked window that has passed.
    const nodeSeconds = await total(replicated.allocationId, 'gpu.node_seconds');
    expect(nodeSeconds).toBeGreaterThan(0);
    expect(nodeSeconds).toBeLessThanOrEqual((Date.parse(replicated.allocationEnd) - Date.parse(replicated.allocationStart)) / 1000);
    const energy = await t.sql.query(
      `SELECT sum(quantity)::float AS kwh FROM usage_events WHERE resource_id = $1 AND type = 'energy.kwh' AND data->>'appliesTo' = 'gpu.node_seconds' AND NOT superseded`,
      [replicated.allocationId],
    );
    // 10.2 kW rated × the node-seconds × Tama's PUE of 1.3.
    expect(energy.rows[0].kwh).toBeCloseTo((10.2 * nodeSeconds * 1.3) / 3600, 6);
    const carbon = await t.sql.query(
      `SELECT sum(quantity)::float AS kg FROM usage_events WHERE resource_id = $1 AND type = 'carbon.kg' AND data->>'appliesTo' = 'gpu.node_seconds' AND NOT superseded`,
      [replicated.allocationId],
    );
    // Tama's grid carbon intensity, 0.3 kg/kWh.
    expect(carbon.rows[0].kg).toBeCloseTo(energy.rows[0].kwh * 0.3, 6);
  });

  it('warms a cache before attaching it, and purges it when the lightpath is cancelled under it', async () => {
    const lightpath = await book('OTE-HQ-100G-3', 'TAM-GDC-100G-1', 10_000, 120_000);
    const allocation = await allocate('TAM', 1, new Date(lightpath.start), new Date(lightpath.end));
    const r = await attach({ reservationId: lightpath.id, datasetId: ids.unet, gpuAllocationId: allocation.id, design: 'CACHE' });
    const mount = r.data!.attachStorage;
    expect(mount.storageNode.code).toBe('TAM-CACHE');
    const serving = await settleMount(mount.id, ['ATTACHED', 'FAILED'], 'the cache to serve');
    expect(serving.history.map((h: { state: string }) => h.state)).toEqual(['PENDING', 'WARMING', 'ATTACHED']);
    // First epoch cold: the cache serves long before it holds the whole dataset.
    expect(BigInt(serving.progress.bytesCopied)).toBeLessThan(BigInt(serving.progress.bytesTotal));

    await asTenant('mutation($id: ID!) { cancelReservation(id: $id) { state } }', { id: lightpath.id });
    await settleReservation(lightpath.id, ['RELEASED'], 'the cancelled lightpath to come down');
    const after = await mountOf(mount.id);
    expect(after.state).toBe('DETACHED');
    const held = (await t.sql.query('SELECT count(*)::int AS n FROM emulator_storage_copies WHERE copy_id = $1', [mount.id])).rows[0].n;
    expect(held).toBe(0);
    const attestations = await auditOf('dataset.copy-purged', mount.id);
    expect(attestations).toHaveLength(1);
    expect(BigInt(attestations[0].bytesPurged)).toBeGreaterThan(0n);
    // Metered as cache GB-seconds, no more than the whole dataset over the time the cache held it.
    await op('mutation($u: DateTime) { collectUsage(until: $u) }', { u: new Date(Date.now() + 2 * 3_600_000).toISOString() });
    const cached = await t.sql.query(
      `SELECT coalesce(sum(quantity), 0)::float AS q FROM usage_events WHERE resource_id = $1 AND type = 'storage.cache_gb_seconds' AND NOT superseded`,
      [mount.id],
    );
    const record = (
      await asTenant('query($d: ID!) { datasetCustody(datasetId: $d) { records { mountId kind since purgedAt } } }', { d: ids.unet })
    ).datasetCustody.records.find((x: { mountId: string }) => x.mountId === mount.id);
    expect(record.kind).toBe('CACHE');
    expect(cached.rows[0].q).toBeGreaterThan(0);
    expect(cached.rows[0].q).toBeLessThanOrEqual(3800 * ((Date.parse(record.purgedAt) - Date.parse(record.since)) / 1000) * 1.001);
  });

  it('fails an attached mount with the reason when its lightpath fails to come up', async () => {
    const inject = (query: string, variables: Record<string, unknown>) => op(query, variables);
    await inject('mutation($i: InjectFaultInput!) { injectFault(input: $i) { kind } }', {
      i: { kind: 'NODE_FAILS', nodeId: nodes['TAM'], count: 1000 },
    });
    try {
      const lightpath = await book('OTE-HQ-100G-4', 'TAM-GDC-100G-1', 1000, 60_000);
      const allocation = await allocate('TAM', 1, new Date(lightpath.start), new Date(lightpath.end));
      const r = await attach({ reservationId: lightpath.id, datasetId: ids.unet, gpuAllocationId: allocation.id, design: 'REPLICATION' });
      const mount = r.data!.attachStorage;
      const failed = await settleMount(mount.id, ['FAILED', 'ATTACHED', 'REPLICATING'], 'the mount to fail', 60_000);
      expect(failed.state).toBe('FAILED');
      expect(failed.reason).toMatch(/lightpath failed: setup failed after .* attempt/);
      expect((await reservationOf(lightpath.id)).state).toBe('FAILED');
      expect((await t.sql.query('SELECT count(*)::int AS n FROM emulator_storage_copies WHERE copy_id = $1', [mount.id])).rows[0].n).toBe(
        0,
      );
    } finally {
      await inject('mutation($k: FaultKind!, $id: ID!) { clearFault(kind: $k, targetId: $id) }', { k: 'NODE_FAILS', id: nodes['TAM'] });
    }
  });

  it('renders a mount specification tuned to the path: Ishikari (1,115 km) differs from Tama (40 km)', async () => {
    const spec = `mountSpec { command options optionString port exportsLine idmapDomain idmapdConf nftables
      persistentVolumeYaml persistentVolumeClaimYaml tuning { bdpBytes connections readAheadKb inFlightBytes rule } }`;
    const tama = await book('OTE-HQ-100G-1', 'TAM-GDC-100G-1', 6 * 86_400_000, 3_600_000);
    const isk = await book('OTE-HQ-100G-2', 'ISK-GDC-100G-2', 6 * 86_400_000, 3_600_000);
    const tamaAlloc = await allocate('TAM', 2, new Date(tama.start), new Date(tama.end));
    const iskAlloc = await allocate('ISK', 2, new Date(isk.start), new Date(isk.end));
    const a = (await attach({ reservationId: tama.id, datasetId: ids.secret, gpuAllocationId: tamaAlloc.id, design: 'DIRECT' })).data!
      .attachStorage;
    const b = (await attach({ reservationId: isk.id, datasetId: ids.secret, gpuAllocationId: iskAlloc.id, design: 'DIRECT' })).data!
      .attachStorage;
    const specOf = async (id: string) => (await asTenant(`query($id: ID!) { mount(id: $id) { ${spec} } }`, { id })).mount.mountSpec;
    const [near, far] = [await specOf(a.id), await specOf(b.id)];

    for (const [s, alloc] of [
      [near, tamaAlloc],
      [far, iskAlloc],
    ] as const) {
      expect(s.options).toEqual(expect.arrayContaining(['vers=4.2', 'proto=tcp', 'port=2049']));
      expect(s.command).toMatch(/^mount -t nfs4 -o \S+ ote-nfs\.example\.net:\/export\/patients /);
      // The export admits the allocation's nodes and nothing else.
      const admitted = [...s.exportsLine.matchAll(/(\d+\.\d+\.\d+\.\d+)\(/g)].map((m: RegExpMatchArray) => m[1]).sort();
      expect(admitted).toEqual(alloc.nodes.map((n) => n.address).sort());
      expect(s.idmapDomain).toBe('corp.example.co.jp');
      expect(s.idmapdConf).toMatch(/Domain = corp\.example\.co\.jp/);
      for (const n of alloc.nodes) expect(s.nftables).toContain(n.address);
      expect(s.nftables).toMatch(/dport 2049/);
      expect(s.tuning.inFlightBytes).toBeGreaterThanOrEqual(s.tuning.bdpBytes);
      const pv = yaml.load(s.persistentVolumeYaml) as any;
      const pvc = yaml.load(s.persistentVolumeClaimYaml) as any;
      expect(pv.kind).toBe('PersistentVolume');
      expect(pv.spec.csi.driver).toBe('nfs.csi.k8s.io');
      expect(pv.spec.csi.volumeAttributes).toMatchObject({ server: 'ote-nfs.example.net', share: '/export/patients' });
      expect(pv.spec.mountOptions).toEqual(s.options);
      expect(pv.spec.persistentVolumeReclaimPolicy).toBe('Retain');
      expect(pvc.kind).toBe('PersistentVolumeClaim');
      expect(pvc.spec.volumeName).toBe(pv.metadata.name);
    }
    // The far path holds ~28 times the bytes in flight: more connections and a deeper read-ahead.
    expect(far.tuning.bdpBytes).toBeGreaterThan(20 * near.tuning.bdpBytes);
    expect(far.tuning.connections).toBeGreaterThan(near.tuning.connections);
    expect(far.tuning.readAheadKb).toBeGreaterThan(near.tuning.readAheadKb);
    expect(far.optionString).not.toBe(near.optionString);
    expect(far.tuning.rule).toMatch(/BDP/);
  });

  it('pages mounts oldest first, with their lightpaths, each cursor continuing where its page ended', async () => {
    const fields = 'id createdAt reservation { id }';
    const all: Array<{ id: string; createdAt: string; reservation: { id: string } }> = (
      await asTenant(`{ mounts(first: 100) { edges { node { ${fields} } } pageInfo { hasNextPage } } }`)
    ).mounts.edges.map((e: { node: unknown }) => e.node);
    expect(all.length).toBeGreaterThanOrEqual(3);
    const times = all.map((m) => Date.parse(m.createdAt));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(all.every((m) => typeof m.reservation.id === 'string')).toBe(true);
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { edges: Array<{ node: { id: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } = (
        await asTenant(
          'query($after: String) { mounts(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
          {
            after,
          },
        )
      ).mounts;
      expect(page.edges.length).toBeLessThanOrEqual(2);
      seen.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(all.map((m) => m.id));
    const theirs = await gqlOk(t.url, other.token, '{ mounts { edges { node { id } } } }');
    expect(theirs.mounts.edges).toEqual([]);
  });
});
