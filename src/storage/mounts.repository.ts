import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In } from 'typeorm';
import { groupBy } from '../core/group-by';
import { isUuid } from '../core/ids';
import { keysetPage, type Page } from './keyset-page';
import type { MountState } from './mount-state';
import { MountEntity, MountTransitionEntity } from './storage.entities';

/** Which mounts a page lists: one tenant's (null: all), optionally of one reservation or dataset. */
export interface MountPageRequest {
  first: number;
  after?: string | null;
  tenantId: string | null;
  reservationId?: string | null;
  datasetId?: string | null;
}

/** A mount that is neither DETACHED nor FAILED, with its lightpath. */
export interface LiveMountRow {
  id: string;
  state: MountState;
  reservation_id: string;
}

const LIVE = `state NOT IN ('DETACHED', 'FAILED')`;

/** The SQL of mounts and their transitions. Methods that take an EntityManager run in the caller's transaction. */
@Injectable()
export class MountsRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  mount(id: string, m: EntityManager = this.dataSource.manager): Promise<MountEntity | null> {
    return isUuid(id) ? m.getRepository(MountEntity).findOneBy({ id }) : Promise.resolve(null);
  }

  mountsByIds(ids: readonly string[]): Promise<MountEntity[]> {
    return this.dataSource.getRepository(MountEntity).findBy({ id: In(ids.filter(isUuid)) });
  }

  /** Oldest first (ties by id); the cursor names the last row of the previous page. */
  mountPage(r: MountPageRequest): Promise<Page<MountEntity>> {
    const q = this.dataSource.getRepository(MountEntity).createQueryBuilder('m');
    if (r.tenantId) q.andWhere('m.tenant_id = :tenant', { tenant: isUuid(r.tenantId) ? r.tenantId : null });
    if (r.reservationId) q.andWhere('m.reservation_id = :r', { r: isUuid(r.reservationId) ? r.reservationId : null });
    if (r.datasetId) q.andWhere('m.dataset_id = :d', { d: isUuid(r.datasetId) ? r.datasetId : null });
    return keysetPage(q, { alias: 'm', table: 'mounts', column: 'created_at', order: 'ASC' }, r);
  }

  async insert(m: EntityManager, mount: MountEntity): Promise<void> {
    await m.getRepository(MountEntity).insert(mount);
  }

  /** The mount, locked for update until the transaction ends. */
  async lock(m: EntityManager, id: string): Promise<MountEntity | null> {
    const rows = await m.getRepository(MountEntity).find({ where: { id }, lock: { mode: 'pessimistic_write' } });
    return rows[0] ?? null;
  }

  /** Live mounts of a dataset on an allocation, or of an allocation (any dataset). */
  async liveCount(m: EntityManager, of: { gpuAllocationId: string; datasetId?: string }): Promise<number> {
    const [{ n }] = await m.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM mounts WHERE gpu_allocation_id = $1 AND ($2::uuid IS NULL OR dataset_id = $2) AND ${LIVE}`,
      [of.gpuAllocationId, of.datasetId ?? null],
    );
    return n;
  }

  /** The mounts on a lightpath, oldest first: all live ones, or only those in `state`. */
  async idsOnReservation(reservationId: string, state?: MountState): Promise<string[]> {
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `SELECT id FROM mounts WHERE reservation_id = $1 AND ${state ? 'state = $2' : LIVE} ORDER BY created_at, id`,
      state ? [reservationId, state] : [reservationId],
    );
    return rows.map((r) => r.id);
  }

  live(): Promise<LiveMountRow[]> {
    return this.dataSource.query(`SELECT id, state, reservation_id FROM mounts WHERE ${LIVE}`);
  }

  async setBytesCopied(m: EntityManager, id: string, bytes: bigint): Promise<void> {
    await m.query('UPDATE mounts SET bytes_copied = $2 WHERE id = $1', [id, bytes.toString()]);
  }

  /** Moves the mount to `to`; `reason` is kept on the mount when given (FAILED and DETACHED keep theirs). */
  async setState(m: EntityManager, id: string, to: MountState, reason: string | null): Promise<void> {
    await m.query('UPDATE mounts SET state = $2, reason = $3, updated_at = now() WHERE id = $1', [id, to, reason]);
  }

  async insertTransition(m: EntityManager, id: string, from: MountState | null, to: MountState, reason: string): Promise<void> {
    await m.query('INSERT INTO mount_transitions (mount_id, from_state, to_state, at, reason) VALUES ($1, $2, $3, clock_timestamp(), $4)', [
      id,
      from,
      to,
      reason,
    ]);
  }

  history(mountId: string): Promise<MountTransitionEntity[]> {
    return this.dataSource.getRepository(MountTransitionEntity).find({ where: { mountId }, order: { id: 'ASC' } });
  }

  async histories(mountIds: readonly string[]): Promise<Map<string, MountTransitionEntity[]>> {
    const rows = await this.dataSource
      .getRepository(MountTransitionEntity)
      .find({ where: { mountId: In(mountIds.filter(isUuid)) }, order: { id: 'ASC' } });
    return groupBy(mountIds, rows, (t) => t.mountId);
  }
}
