import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { requireNumberIn, requireText } from '../core/bounds';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { windowProblem } from '../core/time';
import { AuditService } from '../audit/audit.service';
import { AppError, ErrorCode, PgErrorCode, badInput, conflict, noCapacity, notFound, pgErrorCode } from '../core/errors/app-error';
import { isUuid } from '../core/ids';
import type { Principal } from '../tenancy/principal';
import { Role } from '../tenancy/tenancy.entities';
import { TenancyService } from '../tenancy/tenancy.service';
import { TopologyService } from '../topology/topology.service';
import { capacityLocks, lockCapacity } from '../reservations/capacity';
import { STORAGE_DRIVER, type StorageDriver } from './drivers/storage-driver';
import { INVENTORY_BOUNDS, checkCode, checkDatasetInput, checkGpuClusterInput, checkStorageSystemInput } from './inventory-input';
import { type HeldNode, InventoryRepository, type Page } from './inventory.repository';
import { MountProtection } from './mount-protection.service';
import { MountsRepository } from './mounts.repository';
import { DatasetEntity, GpuAllocationEntity, GpuClusterEntity, GpuNodeEntity, StorageKind, StorageSystemEntity } from './storage.entities';
import type { AllocateGpusInput, CreateDatasetInput, CreateGpuClusterInput, CreateStorageSystemInput } from './storage.models';
import { canSee, visibleTenant } from '../core/visibility';

const MAX_ALLOCATION_ATTEMPTS = 5;

export { INVENTORY_BOUNDS };

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
    private readonly inventory: InventoryRepository,
    private readonly mounts: MountsRepository,
    private readonly tenancy: TenancyService,
    private readonly topology: TopologyService,
    private readonly audit: AuditService,
    private readonly mountProtection: MountProtection,
    @Inject(STORAGE_DRIVER) private readonly driver: StorageDriver,
  ) {}

  async createStorageSystem(principal: Principal, input: CreateStorageSystemInput): Promise<StorageSystemEntity> {
    checkCode(input.code);
    const name = requireText('input.name', input.name, INVENTORY_BOUNDS.nameLength);
    const site = (await this.topology.snapshot()).sites.get(input.siteId);
    if (!site) throw badInput('input.siteId', `input.siteId: site ${input.siteId} does not exist; list them with { sites { id code } }.`);
    const { versions, idmapDomain } = checkStorageSystemInput(input, site);
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
      nfsVersions: versions,
      rdma: input.rdma ?? false,
      idmapDomain,
    });
    return this.insertAudited(principal, entity, 'storage-system.created', () =>
      conflict(`A storage system with code ${input.code} exists already; pick another code.`, 'input.code'),
    );
  }

  async createDataset(principal: Principal, input: CreateDatasetInput): Promise<DatasetEntity> {
    await this.requireTenant(input.tenantId);
    const system = await this.inventory.storageSystem(input.storageSystemId);
    if (!system) throw badInput('input.storageSystemId', `input.storageSystemId: storage system ${input.storageSystemId} does not exist.`);
    if (system.kind !== StorageKind.OFFICE_NFS) {
      throw badInput(
        'input.storageSystemId',
        `input.storageSystemId: datasets live on an OFFICE_NFS server; ${system.code} is ${system.kind}.`,
      );
    }
    const name = checkDatasetInput(input, system);
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
    checkCode(input.code);
    const site = (await this.topology.snapshot()).sites.get(input.siteId);
    if (!site) throw badInput('input.siteId', `input.siteId: site ${input.siteId} does not exist.`);
    const clusterName = checkGpuClusterInput(input, site);
    const nodes = await this.enrolledNodes(principal, input);
    const cluster = Object.assign(new GpuClusterEntity(), {
      id: randomUUID(),
      code: input.code,
      name: clusterName,
      siteId: site.id,
      rdma: input.rdma ?? false,
    });
    try {
      await this.inventory.transaction(async (m) => {
        await this.inventory.insertCluster(
          m,
          cluster,
          nodes.map((n) => ({ ...n, clusterId: cluster.id })),
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
    await this.requireTenant(input.tenantId);
    const [cluster] = isUuid(input.clusterId) ? await this.inventory.gpuClusters([input.clusterId]) : [];
    if (!cluster) throw badInput('input.clusterId', `input.clusterId: GPU cluster ${input.clusterId} does not exist.`);
    requireNumberIn('input.nodeCount', input.nodeCount, { min: 1, max: INVENTORY_BOUNDS.maxClusterNodes, integer: true });
    if (!(input.end.getTime() > input.start.getTime())) throw badInput('input.end', 'input.end must be after input.start.');
    const unbounded = windowProblem({ start: 'input.start', end: 'input.end' }, input.start, input.end, this.config);
    if (unbounded) throw badInput(unbounded.field, unbounded.message);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.allocateOnce(principal, input, cluster);
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
    return this.inventory.transaction(async (m) => {
      const allocation = await this.inventory.lockAllocation(m, id);
      if (!allocation) throw notFound('GPU allocation', id);
      if (allocation.state === 'RELEASED') return allocation;
      const n = await this.mounts.liveCount(m, { gpuAllocationId: id });
      if (n > 0) throw new AppError(ErrorCode.INVALID_STATE, `GPU allocation ${id} still has ${n} mount(s); detach them first.`);
      const releasedAt = new Date();
      await this.inventory.release(m, id, releasedAt);
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
    return this.inventory.storageSystems(ids);
  }

  async dataset(principal: Principal, id: string, field = 'id'): Promise<DatasetEntity> {
    const d = await this.inventory.dataset(id);
    if (!d || !canSee(principal, d.tenantId))
      throw new AppError(ErrorCode.NOT_FOUND, `Dataset ${id} does not exist or is not visible to you.`, { field });
    return d;
  }

  /** Datasets by id, without a visibility check: for objects of the same tenant the caller could already see. */
  datasetsByIds(ids: readonly string[]): Promise<DatasetEntity[]> {
    return this.inventory.datasetsByIds(ids);
  }

  /** A page of the datasets the caller may see (one tenant's, for operators who name it), newest first. */
  datasets(principal: Principal, page: { first: number; after?: string | null; tenantId?: string | null }): Promise<Page<DatasetEntity>> {
    return this.inventory.datasetPage({ first: page.first, after: page.after, tenantId: visibleTenant(principal, page.tenantId) });
  }

  gpuClusters(ids?: readonly string[]): Promise<GpuClusterEntity[]> {
    return this.inventory.gpuClusters(ids);
  }

  nodesOfCluster(clusterId: string): Promise<GpuNodeEntity[]> {
    return this.inventory.nodesOfCluster(clusterId);
  }

  async gpuAllocation(principal: Principal, id: string, field = 'id'): Promise<GpuAllocationEntity> {
    const a = await this.inventory.gpuAllocation(id);
    if (!a || !canSee(principal, a.tenantId))
      throw new AppError(ErrorCode.NOT_FOUND, `GPU allocation ${id} does not exist or is not visible to you.`, { field });
    return a;
  }

  /** GPU allocations by id, without a visibility check (see datasetsByIds). */
  gpuAllocationsByIds(ids: readonly string[]): Promise<GpuAllocationEntity[]> {
    return this.inventory.gpuAllocationsByIds(ids);
  }

  /** A page of the GPU allocations the caller may see, by start. */
  gpuAllocations(
    principal: Principal,
    page: { first: number; after?: string | null; tenantId?: string | null },
  ): Promise<Page<GpuAllocationEntity>> {
    return this.inventory.gpuAllocationPage({ first: page.first, after: page.after, tenantId: visibleTenant(principal, page.tenantId) });
  }

  /** The nodes of each cluster, by cluster id: one query for a page of clusters. */
  nodesOfClusters(clusterIds: readonly string[]): Promise<Map<string, GpuNodeEntity[]>> {
    return this.inventory.nodesOfClusters(clusterIds);
  }

  /** The nodes each allocation holds, by allocation id: one query for a page of allocations or mounts. */
  nodesOfAllocations(allocationIds: readonly string[]): Promise<Map<string, HeldNode[]>> {
    return this.inventory.nodesOfAllocations(allocationIds);
  }

  /** The nodes an allocation holds (none once released). */
  nodesOfAllocation(allocationId: string): Promise<HeldNode[]> {
    return this.inventory.nodesOfAllocation(allocationId);
  }

  // ---- internals ---------------------------------------------------------------------------------------

  private async requireTenant(tenantId: string): Promise<void> {
    if (!(await this.tenancy.exists(tenantId))) throw badInput('input.tenantId', `input.tenantId: tenant ${tenantId} does not exist.`);
  }

  /** Each node of a new cluster with its id and attestation key: the operator's, else one its agent enrols with the driver. */
  private async enrolledNodes(
    principal: Principal,
    input: CreateGpuClusterInput,
  ): Promise<Array<Omit<GpuNodeEntity, 'cluster' | 'clusterId'>>> {
    const keys: Array<string | null> = [];
    for (const [i, n] of input.nodes.entries()) {
      keys.push(
        await this.mountProtection.checkedKey(
          principal,
          'createGpuCluster',
          `input.nodes[${i}].attestationPublicKey`,
          n.attestationPublicKey,
        ),
      );
    }
    const ids = input.nodes.map(() => randomUUID());
    for (const [i, id] of ids.entries()) keys[i] ??= await this.driver.enrolAttestationKey(id);
    return input.nodes.map((n, i) => ({
      id: ids[i],
      name: n.name,
      address: n.address,
      gpus: n.gpus,
      ratedPowerKw: n.ratedPowerKw,
      attestationPublicKey: keys[i],
    }));
  }

  /** One attempt at an allocation, in one transaction; an exclusion violation means a concurrent one took a node. */
  private allocateOnce(principal: Principal, input: AllocateGpusInput, cluster: GpuClusterEntity): Promise<GpuAllocationEntity> {
    return this.inventory.transaction(async (m) => {
      const free = await this.inventory.freeNodes(m, cluster.id, input.start, input.end, input.nodeCount);
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
      await lockCapacity(m, capacityLocks({ nodeIds: free }, input.start, input.end));
      await this.inventory.insertAllocation(m, allocation, free);
      await this.audit.append(m, {
        actor: principal.actor,
        action: 'gpu-allocation.created',
        entityType: 'gpu_allocation',
        entityId: allocation.id,
        data: { tenantId: input.tenantId, cluster: cluster.code, nodes: free, start: input.start, end: input.end },
      });
      return allocation;
    });
  }

  private async insertAudited<T extends { id: string }>(
    principal: Principal,
    entity: T,
    action: string,
    onDuplicate: () => AppError,
  ): Promise<T> {
    try {
      await this.inventory.transaction(async (m) => {
        await this.inventory.insert(m, entity);
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
