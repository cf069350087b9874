import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In } from 'typeorm';
import { AttestationEntity } from '../protection/protection.entities';
import { CustodyKind, DatasetCustodyEntity } from './storage.entities';

/** What the purge of a mount's copy leaves on its custody record. */
export interface PurgeRecord {
  at: Date;
  bytes: bigint;
  keyDestroyedAt: Date | null;
}

/**
 * The SQL of dataset custody (where a mount's bytes went, and when they were purged) and of the
 * attestations of deletion received for mounts. Methods that take an EntityManager run in the caller's
 * transaction.
 */
@Injectable()
export class CustodyRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The custody record a mount made, if it attached. */
  async ofMount(mountId: string, m: EntityManager = this.dataSource.manager): Promise<DatasetCustodyEntity | null> {
    const [record] = await m.getRepository(DatasetCustodyEntity).findBy({ mountId });
    return record ?? null;
  }

  /** The mount's custody record, locked for update until the transaction ends. */
  async lockOfMount(m: EntityManager, mountId: string): Promise<DatasetCustodyEntity | null> {
    const rows = await m.getRepository(DatasetCustodyEntity).find({ where: { mountId }, lock: { mode: 'pessimistic_write' } });
    return rows[0] ?? null;
  }

  ofMounts(mountIds: readonly string[]): Promise<DatasetCustodyEntity[]> {
    if (mountIds.length === 0) return Promise.resolve([]);
    return this.dataSource.getRepository(DatasetCustodyEntity).findBy({ mountId: In([...mountIds]) });
  }

  ofDataset(datasetId: string): Promise<DatasetCustodyEntity[]> {
    return this.dataSource.getRepository(DatasetCustodyEntity).find({ where: { datasetId }, order: { id: 'ASC' } });
  }

  /** Records where the mount's bytes go, once: a second call for the mount changes nothing. */
  async record(
    m: EntityManager,
    of: { datasetId: string; mountId: string },
    kind: CustodyKind,
    storageSystemId: string,
    gpuNodeAddresses: string[],
  ): Promise<void> {
    await m.query(
      `INSERT INTO dataset_custody (dataset_id, mount_id, kind, storage_system_id, gpu_node_addresses, since)
       VALUES ($1, $2, $3, $4, $5, clock_timestamp()) ON CONFLICT (mount_id) DO NOTHING`,
      [of.datasetId, of.mountId, kind, storageSystemId, gpuNodeAddresses],
    );
  }

  async markEncrypted(m: EntityManager, mountId: string): Promise<void> {
    await m.query('UPDATE dataset_custody SET encrypted = true WHERE mount_id = $1', [mountId]);
  }

  /** Notes, once, when access to the record's bytes ended. */
  async markAccessEnded(recordId: string): Promise<void> {
    await this.dataSource.query(
      'UPDATE dataset_custody SET access_ended_at = clock_timestamp() WHERE id = $1 AND access_ended_at IS NULL',
      [recordId],
    );
  }

  async markPurged(m: EntityManager, recordId: string, purge: PurgeRecord): Promise<void> {
    await m.query('UPDATE dataset_custody SET purged_at = $2, bytes_held = $3, key_destroyed_at = $4 WHERE id = $1', [
      recordId,
      purge.at,
      purge.bytes.toString(),
      purge.keyDestroyedAt,
    ]);
  }

  // ---- attestations (the protection capability's table, written and read for mounts) -----------------

  async insertAttestation(m: EntityManager, row: Omit<AttestationEntity, 'id' | 'mount'>): Promise<void> {
    await m.getRepository(AttestationEntity).insert(row);
  }

  /** The latest attestation recorded for this mount, subject and payload. */
  async latestAttestation(mountId: string, subjectId: string, payload: string): Promise<AttestationEntity | null> {
    const rows = await this.dataSource.getRepository(AttestationEntity).find({
      where: { mountId, subjectId, payload },
      order: { id: 'DESC' },
      take: 1,
    });
    return rows[0] ?? null;
  }

  attestationsOfMounts(mountIds: readonly string[]): Promise<AttestationEntity[]> {
    return this.dataSource.getRepository(AttestationEntity).find({ where: { mountId: In([...mountIds]) }, order: { id: 'ASC' } });
  }
}
