import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In, type ObjectLiteral } from 'typeorm';
import { groupBy } from '../core/group-by';
import { isUuid } from '../core/ids';
import { keysetPage, type Page } from './keyset-page';
import { DatasetEntity, GpuAllocationEntity, GpuClusterEntity, GpuNodeEntity, StorageKind, StorageSystemEntity } from './storage.entities';

export type { Page };

/** A page request: at most `first` rows after the row the `after` cursor names. */
export interface PageRequest {
  first: number;
  after?: string | null;
  /** Only this tenant's rows (null: every tenant's). */
  tenantId: string | null;
}

/** A GPU node as an allocation holds it. */
export type HeldNode = Pick<GpuNodeEntity, 'id' | 'clusterId' | 'name' | 'address' | 'gpus' | 'ratedPowerKw'>;

/** Which attestation subjects carry a key: storage systems and GPU nodes. */
export type KeyedTable = 'storage_systems' | 'gpu_nodes';

const HELD_NODE_COLUMNS = `n.id, n.cluster_id AS "clusterId", n.name, n.address, n.gpus, n.rated_power_kw AS "ratedPowerKw"`;

/**
 * The SQL of the storage and GPU inventory: storage systems, datasets, GPU clusters and nodes, GPU
 * allocations and the nodes they hold. Methods that take an EntityManager run in the caller's transaction.
 */
@Injectable()
export class InventoryRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  /** Inserts a new inventory row of any of the inventory's entities. */
  async insert<T extends ObjectLiteral>(m: EntityManager, entity: T): Promise<void> {
    await m.getRepository<T>(entity.constructor).insert(entity);
  }

  // ---- storage systems ---------------------------------------------------------------------------------

  /** The given storage systems, or every one by code. */
  storageSystems(ids?: readonly string[], m: EntityManager = this.dataSource.manager): Promise<StorageSystemEntity[]> {
    const repo = m.getRepository(StorageSystemEntity);
    return ids ? repo.findBy({ id: In(ids.filter(isUuid)) }) : repo.find({ order: { code: 'ASC' } });
  }

  storageSystem(id: string, m: EntityManager = this.dataSource.manager): Promise<StorageSystemEntity | null> {
    return isUuid(id) ? m.getRepository(StorageSystemEntity).findOneBy({ id }) : Promise.resolve(null);
  }

  /**
   * The data-center node of this kind at a site with the most room left for `bytes` (its capacity minus
   * what live copies on it may hold), or null when none has room.
   */
  async roomiestNode(kind: StorageKind, siteId: string, bytes: string): Promise<string | null> {
    const free = `s.capacity_bytes - coalesce((SELECT sum(m.bytes_total) FROM mounts m
                    WHERE m.storage_node_id = s.id AND m.state NOT IN ('DETACHED', 'FAILED')), 0)`;
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `SELECT s.id FROM storage_systems s
        WHERE s.kind = $1 AND s.site_id = $2 AND ${free} >= $3
        ORDER BY ${free} DESC, s.code
        LIMIT 1`,
      [kind, siteId, bytes],
    );
    return rows[0]?.id ?? null;
  }

  // ---- datasets ----------------------------------------------------------------------------------------

  dataset(id: string, m: EntityManager = this.dataSource.manager): Promise<DatasetEntity | null> {
    return isUuid(id) ? m.getRepository(DatasetEntity).findOneBy({ id }) : Promise.resolve(null);
  }

  datasetsByIds(ids: readonly string[]): Promise<DatasetEntity[]> {
    return this.dataSource.getRepository(DatasetEntity).findBy({ id: In(ids.filter(isUuid)) });
  }

  /** Newest first (ties by id); the cursor names the last row of the previous page. */
  datasetPage(r: PageRequest): Promise<Page<DatasetEntity>> {
    const q = this.dataSource.getRepository(DatasetEntity).createQueryBuilder('d');
    if (r.tenantId) q.andWhere('d.tenant_id = :tenant', { tenant: isUuid(r.tenantId) ? r.tenantId : null });
    return keysetPage(q, { alias: 'd', table: 'datasets', column: 'created_at', order: 'DESC' }, r);
  }

  // ---- GPU clusters and nodes --------------------------------------------------------------------------

  /** The given clusters, or every one by code. */
  gpuClusters(ids?: readonly string[]): Promise<GpuClusterEntity[]> {
    const repo = this.dataSource.getRepository(GpuClusterEntity);
    return ids ? repo.findBy({ id: In(ids.filter(isUuid)) }) : repo.find({ order: { code: 'ASC' } });
  }

  async insertCluster(m: EntityManager, cluster: GpuClusterEntity, nodes: Array<Omit<GpuNodeEntity, 'cluster'>>): Promise<void> {
    await m.getRepository(GpuClusterEntity).insert(cluster);
    await m.getRepository(GpuNodeEntity).insert(nodes);
  }

  nodesOfCluster(clusterId: string): Promise<GpuNodeEntity[]> {
    return this.dataSource.getRepository(GpuNodeEntity).find({ where: { clusterId }, order: { name: 'ASC' } });
  }

  async nodesOfClusters(clusterIds: readonly string[]): Promise<Map<string, GpuNodeEntity[]>> {
    const rows = await this.dataSource
      .getRepository(GpuNodeEntity)
      .find({ where: { clusterId: In(clusterIds.filter(isUuid)) }, order: { name: 'ASC' } });
    return groupBy(clusterIds, rows, (n) => n.clusterId);
  }

  async nodesOfAllocations(allocationIds: readonly string[]): Promise<Map<string, HeldNode[]>> {
    const rows: Array<HeldNode & { allocationId: string }> = await this.dataSource.query(
      `SELECT a.allocation_id AS "allocationId", ${HELD_NODE_COLUMNS}
         FROM gpu_node_allocations a JOIN gpu_nodes n ON n.id = a.node_id
        WHERE a.allocation_id = ANY($1::uuid[]) ORDER BY n.name`,
      [allocationIds.filter(isUuid)],
    );
    return groupBy(allocationIds, rows, (n) => n.allocationId);
  }

  nodesOfAllocation(allocationId: string, m: EntityManager = this.dataSource.manager): Promise<HeldNode[]> {
    return m.query(
      `SELECT ${HELD_NODE_COLUMNS}
         FROM gpu_node_allocations a JOIN gpu_nodes n ON n.id = a.node_id
        WHERE a.allocation_id = $1 ORDER BY n.name`,
      [allocationId],
    );
  }

  gpuNode(id: string, m: EntityManager = this.dataSource.manager): Promise<GpuNodeEntity | null> {
    return isUuid(id) ? m.getRepository(GpuNodeEntity).findOneBy({ id }) : Promise.resolve(null);
  }

  /** The GPU nodes at these addresses, by name. */
  gpuNodesAt(addresses: readonly string[]): Promise<GpuNodeEntity[]> {
    if (addresses.length === 0) return Promise.resolve([]);
    return this.dataSource.getRepository(GpuNodeEntity).find({ where: { address: In([...addresses]) }, order: { name: 'ASC' } });
  }

  // ---- attestation keys --------------------------------------------------------------------------------

  async subjectExists(table: KeyedTable, id: string): Promise<boolean> {
    return isUuid(id) && (await this.dataSource.query<unknown[]>(`SELECT 1 FROM ${table} WHERE id = $1`, [id])).length > 0;
  }

  async setAttestationKey(m: EntityManager, table: KeyedTable, id: string, pem: string): Promise<void> {
    await m.query(`UPDATE ${table} SET attestation_public_key = $2 WHERE id = $1`, [id, pem]);
  }

  // ---- GPU allocations ---------------------------------------------------------------------------------

  gpuAllocation(id: string): Promise<GpuAllocationEntity | null> {
    return isUuid(id) ? this.dataSource.getRepository(GpuAllocationEntity).findOneBy({ id }) : Promise.resolve(null);
  }

  gpuAllocationsByIds(ids: readonly string[]): Promise<GpuAllocationEntity[]> {
    return this.dataSource.getRepository(GpuAllocationEntity).findBy({ id: In(ids.filter(isUuid)) });
  }

  /** By start, then id; the cursor carries the last row's start. */
  gpuAllocationPage(r: PageRequest): Promise<Page<GpuAllocationEntity>> {
    const q = this.dataSource.getRepository(GpuAllocationEntity).createQueryBuilder('a');
    if (r.tenantId) q.andWhere('a.tenant_id = :tenant', { tenant: isUuid(r.tenantId) ? r.tenantId : null });
    return keysetPage(q, { alias: 'a', table: 'gpu_allocations', column: 'start_at', order: 'ASC' }, r);
  }

  /** Up to `count` nodes of the cluster free over [start, end), by name. */
  async freeNodes(m: EntityManager, clusterId: string, start: Date, end: Date, count: number): Promise<string[]> {
    const rows: Array<{ id: string }> = await m.query(
      `SELECT n.id FROM gpu_nodes n
        WHERE n.cluster_id = $1
          AND NOT EXISTS (SELECT 1 FROM gpu_node_allocations a WHERE a.node_id = n.id AND a.during && tstzrange($2, $3, '[)'))
        ORDER BY n.name LIMIT $4`,
      [clusterId, start, end, count],
    );
    return rows.map((r) => r.id);
  }

  /** The allocation and the nodes it holds over its window. */
  async insertAllocation(m: EntityManager, allocation: GpuAllocationEntity, nodeIds: string[]): Promise<void> {
    await m.getRepository(GpuAllocationEntity).insert(allocation);
    await m.query(
      `INSERT INTO gpu_node_allocations (allocation_id, node_id, during)
       SELECT $1, node_id, tstzrange($2, $3, '[)') FROM unnest($4::uuid[]) AS node_id`,
      [allocation.id, allocation.startAt, allocation.endAt, nodeIds],
    );
  }

  async lockAllocation(m: EntityManager, id: string): Promise<GpuAllocationEntity | null> {
    if (!isUuid(id)) return null;
    const rows = await m.getRepository(GpuAllocationEntity).find({ where: { id }, lock: { mode: 'pessimistic_write' } });
    return rows[0] ?? null;
  }

  /**
   * Gives the allocation's nodes back from `at` on: holds that had not begun are removed, the part already
   * held stays on record (for metering), and the allocation is RELEASED.
   */
  async release(m: EntityManager, id: string, at: Date): Promise<void> {
    await m.query('DELETE FROM gpu_node_allocations WHERE allocation_id = $1 AND lower(during) >= $2', [id, at]);
    await m.query(
      `UPDATE gpu_node_allocations SET during = tstzrange(lower(during), $2, '[)')
        WHERE allocation_id = $1 AND upper(during) > $2`,
      [id, at],
    );
    await m.query(`UPDATE gpu_allocations SET state = 'RELEASED' WHERE id = $1`, [id]);
  }
}
