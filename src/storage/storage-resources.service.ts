import { Inject, Injectable } from '@nestjs/common';
import { requireNumberIn, requireText } from '../core/bounds';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { windowProblem } from '../core/time';
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { DataSource, EntityManager, In } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AppError, ErrorCode, PgErrorCode, badInput, conflict, noCapacity, notFound, pgErrorCode } from '../core/errors/app-error';
import { isUuid } from '../core/ids';
import type { Principal } from '../tenancy/principal';
import { Role, TenantEntity } from '../tenancy/tenancy.entities';
import { TopologyService } from '../topology/topology.service';
import { capacityLocks, lockCapacity } from '../reservations/capacity';
import { STORAGE_DRIVER, type StorageDriver } from './drivers/storage-driver';
import { MountProtection } from './mount-protection.service';
import { DatasetEntity, GpuAllocationEntity, GpuClusterEntity, GpuNodeEntity, StorageKind, StorageSystemEntity } from './storage.entities';
import type { AllocateGpusInput, CreateDatasetInput, CreateGpuClusterInput, CreateStorageSystemInput } from './storage.models';
import { canSee, visibleTenant } from '../core/visibility';
import { groupBy } from '../core/group-by';

const CODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const EXPORT_PATH = /^\/[A-Za-z0-9._\-/]{0,1022}$/;
const NFS_VERSIONS = new Set(['3', '4.0', '4.1', '4.2']);
const DC_KINDS = new Set(['GREEN_DC', 'STANDARD_DC']);
const MAX_ALLOCATION_ATTEMPTS = 5;

/**
 * Bounds of the inventory's inputs (documented in the README): far beyond real equipment, tight enough that
 * nothing derived from them (energy, metering, specifications) can overflow or grow without limit.
 */
export const INVENTORY_BOUNDS = {
  nameLength: 200,
  hostLength: 253,
  /** Aggregate throughput of one NFS server: 10 Tbps. */
  maxThroughputGbps: 10_000,
  /** Nodes of one GPU cluster, and of one allocation. */
  maxClusterNodes: 1024,
  /** GPUs in one node. */
  maxGpusPerNode: 64,
  /** Rated power of one GPU node: a DGX B200 draws 14.3 kW; a whole rack stays under 200 kW. */
  maxNodePowerKw: 200,
} as const;

export function assertTenantOrOperator(principal: Principal): void {
  if (principal.role !== Role.OPERATOR && principal.role !== Role.TENANT) {
    throw new AppError(ErrorCode.FORBIDDEN, `This operation needs role OPERATOR or TENANT; your token has role ${principal.role}.`);
  }
}

/**
 * The storage and GPU inventory: NFS storage systems, datasets, GPU clusters with their nodes, and GPU
 * allocations. Operators create them; tenants see their own datasets and allocations only.
 */
@Injectable()
export class StorageResources {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly dataSource: DataSource,
    private readonly topology: TopologyService,
    private readonly audit: AuditService,
    private readonly mountProtection: MountProtection,
    @Inject(STORAGE_DRIVER) private readonly driver: StorageDriver,
  ) {}

  async createStorageSystem(principal: Principal, input: CreateStorageSystemInput): Promise<StorageSystemEntity> {
    if (!CODE.test(input.code)) throw badInput('input.code', 'input.code: use 1–63 letters, digits, ".", "_" or "-".');
    const name = requireText('input.name', input.name, INVENTORY_BOUNDS.nameLength);
    const site = (await this.topology.snapshot()).sites.get(input.siteId);
    if (!site) throw badInput('input.siteId', `input.siteId: site ${input.siteId} does not exist; list them with { sites { id code } }.`);
    const atOffice = site.kind === 'USER_OFFICE';
    if ((input.kind === StorageKind.OFFICE_NFS) !== atOffice) {
      throw badInput(
        'input.kind',
        `input.kind: an ${input.kind} belongs ${input.kind === StorageKind.OFFICE_NFS ? 'at a USER_OFFICE site' : 'at a data-center site'}, and site ${site.code} is ${site.kind}.`,
      );
    }
    if (!input.host.trim() || /\s/.test(input.host) || input.host.trim().length > INVENTORY_BOUNDS.hostLength) {
      throw badInput(
        'input.host',
        `input.host: give the IP address or DNS name clients mount (at most ${INVENTORY_BOUNDS.hostLength} characters).`,
      );
    }
    if (input.capacityBytes <= 0n) throw badInput('input.capacityBytes', 'input.capacityBytes must be positive.');
    requireNumberIn('input.throughputGbps', input.throughputGbps, {
      min: 0,
      exclusiveMin: true,
      max: INVENTORY_BOUNDS.maxThroughputGbps,
      unit: 'Gbps',
    });
    const versions = input.nfsVersions ?? ['4.2'];
    const unknown = versions.filter((v) => !NFS_VERSIONS.has(v));
    if (versions.length === 0 || unknown.length > 0) {
      throw badInput(
        'input.nfsVersions',
        `input.nfsVersions: use some of 3, 4.0, 4.1, 4.2${unknown.length ? `; ${unknown.join(', ')} is not one` : ''}.`,
      );
    }
    const idmapDomain = input.idmapDomain ?? 'localdomain';
    if (!/^[A-Za-z0-9.-]{1,253}$/.test(idmapDomain))
      throw badInput('input.idmapDomain', 'input.idmapDomain: give a DNS domain, e.g. corp.example.co.jp.');
    const given = await this.mountProtection.checkedKey(
      principal,
      'createStorageSystem',
      'input.attestationPublicKey',
      input.attestationPublicKey,
    );
    const id = randomUUID();
    // Without a key from the operator, the driver enrols the system's agent and reports the key it signs with.
    const attestationPublicKey = given ?? (await this.driver.enrolAttestationKey(id));
    const entity = Object.assign(new StorageSystemEntity(), {
      id,
      attestationPublicKey,
      code: input.code,
      name,
      kind: input.kind,
      siteId: site.id,
      host: input.host.trim(),
      capacityBytes: input.capacityBytes.toString(),
      throughputGbps: input.throughputGbps,
      nfsVersions: [...new Set(versions)],
      rdma: input.rdma ?? false,
      idmapDomain,
    });
    return this.insertAudited(principal, entity, 'storage-system.created', () =>
      conflict(`A storage system with code ${input.code} exists already; pick another code.`, 'input.code'),
    );
  }

  async createDataset(principal: Principal, input: CreateDatasetInput): Promise<DatasetEntity> {
    if (!isUuid(input.tenantId) || !(await this.dataSource.getRepository(TenantEntity).existsBy({ id: input.tenantId }))) {
      throw badInput('input.tenantId', `input.tenantId: tenant ${input.tenantId} does not exist.`);
    }
    const system = isUuid(input.storageSystemId)
      ? await this.dataSource.getRepository(StorageSystemEntity).findOneBy({ id: input.storageSystemId })
      : null;
    if (!system) throw badInput('input.storageSystemId', `input.storageSystemId: storage system ${input.storageSystemId} does not exist.`);
    if (system.kind !== StorageKind.OFFICE_NFS) {
      throw badInput(
        'input.storageSystemId',
        `input.storageSystemId: datasets live on an OFFICE_NFS server; ${system.code} is ${system.kind}.`,
      );
    }
    const name = requireText('input.name', input.name, INVENTORY_BOUNDS.nameLength);
    if (!EXPORT_PATH.test(input.exportPath) || input.exportPath.split('/').includes('..')) {
      throw badInput('input.exportPath', 'input.exportPath: give an absolute path without "..", e.g. /export/unet3d.');
    }
    if (input.bytes <= 0n) throw badInput('input.bytes', 'input.bytes must be positive.');
    if (input.fileCount <= 0n) throw badInput('input.fileCount', 'input.fileCount must be positive.');
    if (input.bytes > BigInt(system.capacityBytes)) {
      throw badInput('input.bytes', `input.bytes: ${input.bytes} bytes do not fit on ${system.code} (${system.capacityBytes} bytes).`);
    }
    const entity = Object.assign(new DatasetEntity(), {
      id: randomUUID(),
      tenantId: input.tenantId,
      storageSystemId: system.id,
      name,
      exportPath: input.exportPath,
      bytes: input.bytes.toString(),
      fileCount: input.fileCount.toString(),
      sensitivity: input.sensitivity,
    });
    return this.insertAudited(principal, entity, 'dataset.created', () =>
      conflict(`${system.code} already exports ${input.exportPath} as a dataset.`, 'input.exportPath'),
    );
  }

  async createGpuCluster(principal: Principal, input: CreateGpuClusterInput): Promise<GpuClusterEntity> {
    if (!CODE.test(input.code)) throw badInput('input.code', 'input.code: use 1–63 letters, digits, ".", "_" or "-".');
    const site = (await this.topology.snapshot()).sites.get(input.siteId);
    if (!site) throw badInput('input.siteId', `input.siteId: site ${input.siteId} does not exist.`);
    if (!DC_KINDS.has(site.kind))
      throw badInput('input.siteId', `input.siteId: GPU clusters are at data centers; ${site.code} is ${site.kind}.`);
    const clusterName = requireText('input.name', input.name, INVENTORY_BOUNDS.nameLength, { optional: true });
    if (input.nodes.length === 0) throw badInput('input.nodes', 'input.nodes: give at least one node.');
    if (input.nodes.length > INVENTORY_BOUNDS.maxClusterNodes) {
      throw badInput(
        'input.nodes',
        `input.nodes: ${input.nodes.length} nodes; a cluster has at most ${INVENTORY_BOUNDS.maxClusterNodes}. Register a larger site as several clusters.`,
      );
    }
    const names = new Set<string>();
    const addresses = new Set<string>();
    input.nodes.forEach((n, i) => {
      requireText(`input.nodes[${i}].name`, n.name, INVENTORY_BOUNDS.nameLength);
      if (isIP(n.address) === 0)
        throw badInput(`input.nodes[${i}].address`, `input.nodes[${i}].address: ${n.address} is not an IPv4 or IPv6 address.`);
      requireNumberIn(`input.nodes[${i}].gpus`, n.gpus, { min: 1, max: INVENTORY_BOUNDS.maxGpusPerNode, integer: true });
      requireNumberIn(`input.nodes[${i}].ratedPowerKw`, n.ratedPowerKw, {
        min: 0,
        exclusiveMin: true,
        max: INVENTORY_BOUNDS.maxNodePowerKw,
        unit: 'kW',
      });
      if (names.has(n.name)) throw badInput(`input.nodes[${i}].name`, `input.nodes[${i}].name: ${n.name} appears twice.`);
      if (addresses.has(n.address)) throw badInput(`input.nodes[${i}].address`, `input.nodes[${i}].address: ${n.address} appears twice.`);
      names.add(n.name);
      addresses.add(n.address);
    });
    const nodeKeys: Array<string | null> = [];
    for (const [i, n] of input.nodes.entries()) {
      nodeKeys.push(
        await this.mountProtection.checkedKey(
          principal,
          'createGpuCluster',
          `input.nodes[${i}].attestationPublicKey`,
          n.attestationPublicKey,
        ),
      );
    }
    const nodeIds = input.nodes.map(() => randomUUID());
    for (const [i, id] of nodeIds.entries()) nodeKeys[i] ??= await this.driver.enrolAttestationKey(id);
    const cluster = Object.assign(new GpuClusterEntity(), {
      id: randomUUID(),
      code: input.code,
      name: clusterName || input.code,
      siteId: site.id,
      rdma: input.rdma ?? false,
    });
    try {
      await this.dataSource.transaction(async (m) => {
        await m.getRepository(GpuClusterEntity).insert(cluster);
        await m.getRepository(GpuNodeEntity).insert(
          input.nodes.map((n, i) => ({
            id: nodeIds[i],
            clusterId: cluster.id,
            name: n.name,
            address: n.address,
            gpus: n.gpus,
            ratedPowerKw: n.ratedPowerKw,
            attestationPublicKey: nodeKeys[i],
          })),
        );
        await this.audit.append(m, {
          actor: principal.actor,
          action: 'gpu-cluster.created',
          entityType: 'gpu_cluster',
          entityId: cluster.id,
          data: { code: cluster.code, nodes: input.nodes.length },
        });
      });
    } catch (error) {
      if (pgErrorCode(error) === PgErrorCode.UNIQUE_VIOLATION) {
        throw conflict(`A GPU cluster with code ${input.code}, or a node with one of these addresses, exists already.`, 'input.code');
      }
      throw error;
    }
    return cluster;
  }

  /**
   * Holds `nodeCount` free nodes of a cluster for a tenant over [start, end). The exclusion constraint on
   * gpu_node_allocations is the arbiter: two concurrent allocations that picked the same node cannot both
   * commit, and the loser picks again.
   */
  async allocateGpus(principal: Principal, input: AllocateGpusInput): Promise<GpuAllocationEntity> {
    if (!isUuid(input.tenantId) || !(await this.dataSource.getRepository(TenantEntity).existsBy({ id: input.tenantId }))) {
      throw badInput('input.tenantId', `input.tenantId: tenant ${input.tenantId} does not exist.`);
    }
    const cluster = isUuid(input.clusterId)
      ? await this.dataSource.getRepository(GpuClusterEntity).findOneBy({ id: input.clusterId })
      : null;
    if (!cluster) throw badInput('input.clusterId', `input.clusterId: GPU cluster ${input.clusterId} does not exist.`);
    requireNumberIn('input.nodeCount', input.nodeCount, { min: 1, max: INVENTORY_BOUNDS.maxClusterNodes, integer: true });
    if (!(input.end.getTime() > input.start.getTime())) throw badInput('input.end', 'input.end must be after input.start.');
    const unbounded = windowProblem({ start: 'input.start', end: 'input.end' }, input.start, input.end, this.config);
    if (unbounded) throw badInput(unbounded.field, unbounded.message);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.dataSource.transaction(async (m) => {
          const free: Array<{ id: string }> = await m.query(
            `SELECT n.id FROM gpu_nodes n
              WHERE n.cluster_id = $1
                AND NOT EXISTS (SELECT 1 FROM gpu_node_allocations a WHERE a.node_id = n.id AND a.during && tstzrange($2, $3, '[)'))
              ORDER BY n.name LIMIT $4`,
            [cluster.id, input.start, input.end, input.nodeCount],
          );
          if (free.length < input.nodeCount) {
            throw noCapacity(
              `Cluster ${cluster.code} has ${free.length} node(s) free over that window, not ${input.nodeCount}; ask for fewer or another window.`,
              { field: 'input.nodeCount', free: free.length },
            );
          }
          const allocation = Object.assign(new GpuAllocationEntity(), {
            id: randomUUID(),
            tenantId: input.tenantId,
            clusterId: cluster.id,
            startAt: input.start,
            endAt: input.end,
            state: 'ALLOCATED' as const,
          });
          await lockCapacity(m, capacityLocks({ nodeIds: free.map((f) => f.id) }, input.start, input.end));
          await m.getRepository(GpuAllocationEntity).insert(allocation);
          await m.query(
            `INSERT INTO gpu_node_allocations (allocation_id, node_id, during)
             SELECT $1, node_id, tstzrange($2, $3, '[)') FROM unnest($4::uuid[]) AS node_id`,
            [allocation.id, input.start, input.end, free.map((f) => f.id)],
          );
          await this.audit.append(m, {
            actor: principal.actor,
            action: 'gpu-allocation.created',
            entityType: 'gpu_allocation',
            entityId: allocation.id,
            data: { tenantId: input.tenantId, cluster: cluster.code, nodes: free.map((f) => f.id), start: input.start, end: input.end },
          });
          return allocation;
        });
      } catch (error) {
        if (pgErrorCode(error) === PgErrorCode.EXCLUSION_VIOLATION && attempt < MAX_ALLOCATION_ATTEMPTS) continue;
        if (pgErrorCode(error) === PgErrorCode.EXCLUSION_VIOLATION) {
          throw noCapacity(`Concurrent allocations took cluster ${cluster.code}'s free nodes; try again.`, { field: 'input.nodeCount' });
        }
        throw error;
      }
    }
  }

  /**
   * Gives the nodes back from now on; refused while a mount still uses the allocation. The time already
   * held is kept (and metered); an allocation released before its start leaves nothing.
   */
  async releaseGpuAllocation(principal: Principal, id: string): Promise<GpuAllocationEntity> {
    return this.dataSource.transaction(async (m) => {
      const rows = isUuid(id)
        ? await m.getRepository(GpuAllocationEntity).find({ where: { id }, lock: { mode: 'pessimistic_write' } })
        : [];
      const allocation = rows[0];
      if (!allocation) throw notFound('GPU allocation', id);
      if (allocation.state === 'RELEASED') return allocation;
      const [{ n }] = await m.query<Array<{ n: number }>>(
        `SELECT count(*)::int AS n FROM mounts WHERE gpu_allocation_id = $1 AND state NOT IN ('DETACHED', 'FAILED')`,
        [id],
      );
      if (n > 0) throw new AppError(ErrorCode.INVALID_STATE, `GPU allocation ${id} still has ${n} mount(s); detach them first.`);
      // The part of the window already held stays on record, for metering; the rest is given back. A hold
      // that has not begun is removed.
      const releasedAt = new Date();
      await m.query('DELETE FROM gpu_node_allocations WHERE allocation_id = $1 AND lower(during) >= $2', [id, releasedAt]);
      await m.query(
        `UPDATE gpu_node_allocations SET during = tstzrange(lower(during), $2, '[)')
          WHERE allocation_id = $1 AND upper(during) > $2`,
        [id, releasedAt],
      );
      await m.query(`UPDATE gpu_allocations SET state = 'RELEASED' WHERE id = $1`, [id]);
      await this.audit.append(m, {
        actor: principal.actor,
        action: 'gpu-allocation.released',
        entityType: 'gpu_allocation',
        entityId: id,
        data: { releasedAt: releasedAt.toISOString() },
      });
      return Object.assign(allocation, { state: 'RELEASED' as const });
    });
  }

  // ---- reads -------------------------------------------------------------------------------------------

  storageSystems(ids?: readonly string[]): Promise<StorageSystemEntity[]> {
    const repo = this.dataSource.getRepository(StorageSystemEntity);
    return ids ? repo.findBy({ id: In([...ids]) }) : repo.find({ order: { code: 'ASC' } });
  }

  async dataset(principal: Principal, id: string, field = 'id'): Promise<DatasetEntity> {
    const d = isUuid(id) ? await this.dataSource.getRepository(DatasetEntity).findOneBy({ id }) : null;
    if (!d || !canSee(principal, d.tenantId))
      throw new AppError(ErrorCode.NOT_FOUND, `Dataset ${id} does not exist or is not visible to you.`, { field });
    return d;
  }

  /** Datasets by id, without a visibility check: for objects of the same tenant the caller could already see. */
  datasetsByIds(ids: readonly string[]): Promise<DatasetEntity[]> {
    return this.dataSource.getRepository(DatasetEntity).findBy({ id: In(ids.filter(isUuid)) });
  }

  datasets(principal: Principal, tenantId?: string | null): Promise<DatasetEntity[]> {
    const tenant = visibleTenant(principal, tenantId);
    return this.dataSource
      .getRepository(DatasetEntity)
      .find({ where: tenant ? { tenantId: tenant } : {}, order: { createdAt: 'DESC', id: 'ASC' } });
  }

  gpuClusters(ids?: readonly string[]): Promise<GpuClusterEntity[]> {
    const repo = this.dataSource.getRepository(GpuClusterEntity);
    return ids ? repo.findBy({ id: In([...ids]) }) : repo.find({ order: { code: 'ASC' } });
  }

  nodesOfCluster(clusterId: string): Promise<GpuNodeEntity[]> {
    return this.dataSource.getRepository(GpuNodeEntity).find({ where: { clusterId }, order: { name: 'ASC' } });
  }

  async gpuAllocation(principal: Principal, id: string, field = 'id'): Promise<GpuAllocationEntity> {
    const a = isUuid(id) ? await this.dataSource.getRepository(GpuAllocationEntity).findOneBy({ id }) : null;
    if (!a || !canSee(principal, a.tenantId))
      throw new AppError(ErrorCode.NOT_FOUND, `GPU allocation ${id} does not exist or is not visible to you.`, { field });
    return a;
  }

  /** GPU allocations by id, without a visibility check (see datasetsByIds). */
  gpuAllocationsByIds(ids: readonly string[]): Promise<GpuAllocationEntity[]> {
    return this.dataSource.getRepository(GpuAllocationEntity).findBy({ id: In(ids.filter(isUuid)) });
  }

  gpuAllocations(principal: Principal, tenantId?: string | null): Promise<GpuAllocationEntity[]> {
    const tenant = visibleTenant(principal, tenantId);
    return this.dataSource
      .getRepository(GpuAllocationEntity)
      .find({ where: tenant ? { tenantId: tenant } : {}, order: { startAt: 'ASC', id: 'ASC' } });
  }

  /** The nodes of each cluster, by cluster id: one query for a page of clusters. */
  async nodesOfClusters(clusterIds: readonly string[]): Promise<Map<string, GpuNodeEntity[]>> {
    const rows = await this.dataSource
      .getRepository(GpuNodeEntity)
      .find({ where: { clusterId: In([...clusterIds]) }, order: { name: 'ASC' } });
    return groupBy(clusterIds, rows, (n) => n.clusterId);
  }

  /** The nodes each allocation holds, by allocation id: one query for a page of allocations or mounts. */
  async nodesOfAllocations(allocationIds: readonly string[]): Promise<Map<string, GpuNodeEntity[]>> {
    const rows: Array<GpuNodeEntity & { allocationId: string }> = await this.dataSource.query(
      `SELECT a.allocation_id AS "allocationId", n.id, n.cluster_id AS "clusterId", n.name, n.address, n.gpus, n.rated_power_kw AS "ratedPowerKw"
         FROM gpu_node_allocations a JOIN gpu_nodes n ON n.id = a.node_id
        WHERE a.allocation_id = ANY($1::uuid[]) ORDER BY n.name`,
      [allocationIds.filter(isUuid)],
    );
    return groupBy(allocationIds, rows, (n) => n.allocationId);
  }

  /** The nodes an allocation holds (none once released). */
  async nodesOfAllocation(allocationId: string, manager: EntityManager = this.dataSource.manager): Promise<GpuNodeEntity[]> {
    return manager.query(
      `SELECT n.id, n.cluster_id AS "clusterId", n.name, n.address, n.gpus, n.rated_power_kw AS "ratedPowerKw"
         FROM gpu_node_allocations a JOIN gpu_nodes n ON n.id = a.node_id
        WHERE a.allocation_id = $1 ORDER BY n.name`,
      [allocationId],
    );
  }

  private async insertAudited<T extends { id: string }>(
    principal: Principal,
    entity: T,
    action: string,
    onDuplicate: () => AppError,
  ): Promise<T> {
    try {
      await this.dataSource.transaction(async (m) => {
        await m.getRepository(entity.constructor).insert(entity);
        await this.audit.append(m, {
          actor: principal.actor,
          action,
          entityType: action.split('.')[0].replace('-', '_'),
          entityId: entity.id,
          data: {},
        });
      });
    } catch (error) {
      if (pgErrorCode(error) === PgErrorCode.UNIQUE_VIOLATION) throw onDuplicate();
      throw error;
    }
    return entity;
  }
}
