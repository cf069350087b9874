import { Inject, Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager, In } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AppError, ErrorCode, badInput, conflict, invalidState, noCapacity } from '../core/errors/app-error';
import { isUuid } from '../core/ids';
import { JobName } from '../core/queue/job-catalogue';
import { JobQueue } from '../core/queue/job-queue.service';
import { goodput } from '../vocabulary/physics';
import { CALIBRATED_KEY, REFERENCE_DEFAULTS, modelParameters } from '../vocabulary/reference';
import { ReservationEntity } from '../reservations/reservation.entities';
import { ReservationState } from '../reservations/reservation-state';
import { SYSTEM_ACTOR, type Principal } from '../tenancy/principal';
import { TopologyService } from '../topology/topology.service';
import { AtRestProtection, InMotionProtection } from '../protection/profile';
import { ProtectionService } from '../protection/protection.service';
import { STORAGE_DRIVER, StorageDriver } from './drivers/storage-driver';
import { mountPointOf } from './mount-spec';
import { MountProtection } from './mount-protection.service';
import { StorageResources, assertTenantOrOperator, groupBy, visibleTenant } from './storage-resources.service';
import {
  CustodyKind,
  DatasetCustodyEntity,
  DatasetEntity,
  FINAL_MOUNT_STATES,
  GpuClusterEntity,
  MountEntity,
  MountState,
  MountTransitionEntity,
  NfsProtocol,
  Sensitivity,
  StorageKind,
  StorageSystemEntity,
} from './storage.entities';
import { StorageDesign } from '../vocabulary/domain';
import type { AttachStorageInput } from './storage.models';

const M = MountState;
const R = ReservationState;

/** Reservation states a mount can be attached to: booked, coming up, or up. */
const ATTACHABLE = new Set<ReservationState>([R.RESERVED, R.PROVISIONING, R.ACTIVE]);
/** Reservation states after which its mounts can never attach. */
const LIGHTPATH_GONE = new Set<ReservationState>([R.CANCELLED, R.EXPIRED, R.FAILED, R.RELEASING, R.RELEASED, R.NEEDS_CLEANUP]);

/**
 * NFS goodput over a lightpath of this rate: the planner's model (jumbo frames less Ethernet, IP, TCP and
 * RPC headers), with its reference values, so a mount's copy rate and the planner's estimate agree.
 */
function lightpathGoodputBps(rateGbps: number): number {
  const values = REFERENCE_DEFAULTS;
  const link = { bandwidthGbps: rateGbps, rttMs: 0, mtuBytes: values['model.mtuBytes.APN'].value };
  return (goodput(link, modelParameters(values, values[CALIBRATED_KEY].value)).gbps * 1e9) / 8;
}
/** A CACHE mount serves once the cache has fetched this much (metadata and the first files); the rest of the first epoch is cold. */
export const CACHE_WARM_BYTES = 1n << 30n;
const PROGRESS_POLL_MIN_MS = 200;
const PROGRESS_POLL_MAX_MS = 5000;

export const POLICY_CONFIDENTIAL_DIRECT_ONLY = 'CONFIDENTIAL_DATA_STAYS_IN_OFFICE';

export function mountJobId(mountId: string, job: JobName, suffix?: string): string {
  return suffix ? `${mountId}.${job}.${suffix}` : `${mountId}.${job}`;
}

/**
 * Mounts: a dataset of the office attached to a tenant's GPU nodes over a lightpath, in one of three
 * designs. State lives in PostgreSQL; jobs on the provisioning queue act on it, each idempotent:
 *
 *   PENDING ─(lightpath ACTIVE)─▶ ATTACHED                      DIRECT
 *   PENDING ─▶ REPLICATING ─(copy complete)─▶ ATTACHED          REPLICATION
 *   PENDING ─▶ WARMING ─(cache serving)─▶ ATTACHED              CACHE
 *   any of those ─(detachStorage, or the lightpath's teardown)─▶ DETACHING ─(purged)─▶ DETACHED
 *   not yet attached, lightpath failed or gone ─▶ FAILED (reason)
 *
 * A mount attaches only once its lightpath is ACTIVE: the lightpath's setup job enqueues the attach
 * jobs when it reaches ACTIVE, and the attach job checks the state itself. The lightpath's teardown
 * detaches (and purges) every mount before the lightpath goes down.
 */
@Injectable()
export class MountsService {
  private readonly logger = new Logger(MountsService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly resources: StorageResources,
    private readonly topology: TopologyService,
    private readonly jobs: JobQueue,
    private readonly audit: AuditService,
    private readonly protection: ProtectionService,
    private readonly mountProtection: MountProtection,
    @Inject(STORAGE_DRIVER) private readonly driver: StorageDriver,
  ) {}

  // ---- API ---------------------------------------------------------------------------------------------

  async attach(principal: Principal, input: AttachStorageInput): Promise<MountEntity> {
    assertTenantOrOperator(principal);
    const reservation = await this.visibleReservation(principal, input.reservationId, 'input.reservationId');
    const dataset = await this.resources.dataset(principal, input.datasetId, 'input.datasetId');
    const allocation = await this.resources.gpuAllocation(principal, input.gpuAllocationId, 'input.gpuAllocationId');
    if (dataset.tenantId !== reservation.tenantId) {
      throw badInput('input.datasetId', `input.datasetId: dataset ${dataset.name} belongs to another tenant than reservation ${reservation.id}.`);
    }
    if (allocation.tenantId !== reservation.tenantId) {
      throw badInput('input.gpuAllocationId', `input.gpuAllocationId: allocation ${allocation.id} belongs to another tenant than reservation ${reservation.id}.`);
    }
    if (!ATTACHABLE.has(reservation.state)) {
      throw invalidState(
        `Reservation ${reservation.id} is ${reservation.state}; storage attaches to a RESERVED, PROVISIONING or ACTIVE lightpath${reservation.state === R.HELD ? ' (commit the hold first)' : ''}.`,
        { state: reservation.state, field: 'input.reservationId' },
      );
    }
    if (allocation.state !== 'ALLOCATED') throw invalidState(`GPU allocation ${allocation.id} is released.`, { field: 'input.gpuAllocationId' });

    const snapshot = await this.topology.snapshot({ maxAgeMs: 1000 });
    const [office] = await this.resources.storageSystems([dataset.storageSystemId]);
    const [cluster] = await this.resources.gpuClusters([allocation.clusterId]);
    const source = snapshot.endpoints.get(reservation.sourceEndpointId);
    const destination = snapshot.endpoints.get(reservation.destinationEndpointId);
    const siteCode = (id: string | undefined) => (id ? snapshot.sites.get(id)?.code ?? id : 'unknown');
    if (source?.siteId !== office.siteId) {
      throw badInput(
        'input.datasetId',
        `input.datasetId: dataset ${dataset.name} is at site ${siteCode(office.siteId)}, but the lightpath starts at ${siteCode(source?.siteId)}; book a lightpath from the dataset's site.`,
      );
    }
    if (destination?.siteId !== cluster.siteId) {
      throw badInput(
        'input.gpuAllocationId',
        `input.gpuAllocationId: GPU cluster ${cluster.code} is at site ${siteCode(cluster.siteId)}, but the lightpath ends at ${siteCode(destination?.siteId)}.`,
      );
    }
    if (!(allocation.startAt < reservation.endAt && reservation.startAt < allocation.endAt)) {
      throw badInput(
        'input.gpuAllocationId',
        `input.gpuAllocationId: the allocation [${allocation.startAt.toISOString()}, ${allocation.endAt.toISOString()}) does not overlap the lightpath's window [${reservation.startAt.toISOString()}, ${reservation.endAt.toISOString()}).`,
      );
    }
    if (dataset.sensitivity === Sensitivity.CONFIDENTIAL && input.design !== StorageDesign.DIRECT) {
      throw new AppError(
        ErrorCode.FORBIDDEN,
        `Policy ${POLICY_CONFIDENTIAL_DIRECT_ONLY}: dataset ${dataset.name} is CONFIDENTIAL, so no copy of it may be stored at a data center; use design DIRECT.`,
        { field: 'input.design', details: { policy: POLICY_CONFIDENTIAL_DIRECT_ONLY } },
      );
    }
    const node = input.design === StorageDesign.DIRECT ? null : await this.pickDataCenterNode(input.design, cluster, dataset);
    const server = node ?? office;
    if (!server.nfsVersions.includes('4.2')) {
      throw badInput('input.design', `input.design: ${server.code} does not serve NFS 4.2 (it serves ${server.nfsVersions.join(', ')}).`);
    }
    if (input.protocol === NfsProtocol.NFS_RDMA) {
      const missing = [!server.rdma && `the NFS server ${server.code}`, !cluster.rdma && `the GPU cluster ${cluster.code}`].filter(Boolean);
      if (missing.length > 0) {
        throw badInput('input.protocol', `input.protocol: NFS_RDMA needs RDMA on both ends, and ${missing.join(' and ')} lack it; use NFS_TCP.`);
      }
    }
    const profile = await this.mountProtection.profileFor(principal, input.protection, {
      tenantId: reservation.tenantId,
      design: input.design,
      protocol: input.protocol,
      dataset,
      snapshot,
      endpointIds: [reservation.sourceEndpointId, reservation.destinationEndpointId],
      window: { start: allocation.startAt, end: allocation.endAt },
    });
    const certificates = profile.inMotion.includes(InMotionProtection.NFS_TLS)
      ? this.mountProtection.certificateOrders({ start: allocation.startAt, end: allocation.endAt }, await this.resources.nodesOfAllocation(allocation.id), office, node)
      : [];
    const copyRateBps = Math.min(
      lightpathGoodputBps(reservation.rateGbps),
      (office.throughputGbps * 1e9) / 8,
      node ? (node.throughputGbps * 1e9) / 8 : Infinity,
    );

    const mount = Object.assign(new MountEntity(), {
      id: randomUUID(),
      tenantId: reservation.tenantId,
      reservationId: reservation.id,
      datasetId: dataset.id,
      gpuAllocationId: allocation.id,
      design: input.design,
      protocol: input.protocol,
      state: M.PENDING,
      storageNodeId: node?.id ?? null,
      protectionInMotion: [...profile.inMotion],
      protectionAtRest: profile.atRest,
      bytesTotal: dataset.bytes,
      bytesCopied: '0',
      copyRateBps,
      reason: null,
    });
    await this.dataSource.transaction(async (m) => {
      // The dataset on the allocation once at a time: a second live mount of it would be a mistake.
      const [{ n }] = await m.query(
        `SELECT count(*)::int AS n FROM mounts WHERE dataset_id = $1 AND gpu_allocation_id = $2 AND state NOT IN ('DETACHED', 'FAILED')`,
        [dataset.id, allocation.id],
      );
      if (n > 0) throw conflict(`Dataset ${dataset.name} is already mounted on allocation ${allocation.id}; detach it first.`, 'input.datasetId');
      await m.getRepository(MountEntity).insert(mount);
      await this.protection.issueCertificates(m, mount.id, certificates);
      await this.record(m, mount, null, M.PENDING, `waiting for lightpath ${reservation.id} to be ACTIVE`, principal.actor);
      await this.audit.append(m, {
        actor: principal.actor,
        action: 'mount.protection',
        entityType: 'mount',
        entityId: mount.id,
        data: { inMotion: profile.inMotion, atRest: profile.atRest, certificates: certificates.length },
      });
    });
    const current = await this.dataSource.getRepository(ReservationEntity).findOneByOrFail({ id: reservation.id });
    if (current.state === R.ACTIVE) await this.jobs.enqueue(JobName.MountAttach, { mountId: mount.id }, { jobId: mountJobId(mount.id, JobName.MountAttach) });
    return mount;
  }

  async detach(principal: Principal, id: string): Promise<MountEntity> {
    assertTenantOrOperator(principal);
    const visible = await this.mount(principal, id);
    const moved = await this.dataSource.transaction(async (m) => {
      const mount = await this.lock(m, visible.id);
      if (mount.state === M.DETACHING) return mount;
      if (FINAL_MOUNT_STATES.includes(mount.state)) {
        throw invalidState(`Mount ${id} is ${mount.state} already.`, { state: mount.state });
      }
      await this.record(m, mount, mount.state, M.DETACHING, 'detach requested', principal.actor);
      return mount;
    });
    await this.jobs.enqueue(JobName.MountDetach, { mountId: id }, { jobId: mountJobId(id, JobName.MountDetach) });
    return moved;
  }

  async mount(principal: Principal, id: string): Promise<MountEntity> {
    assertTenantOrOperator(principal);
    const m = isUuid(id) ? await this.dataSource.getRepository(MountEntity).findOneBy({ id }) : null;
    const own = visibleTenant(principal);
    if (!m || (own !== null && m.tenantId !== own)) throw new AppError(ErrorCode.NOT_FOUND, `Mount ${id} does not exist or is not visible to you.`);
    return m;
  }

  /** Mounts by id, without a visibility check: for objects of the same tenant the caller could already see. */
  mountsByIds(ids: readonly string[]): Promise<MountEntity[]> {
    return this.dataSource.getRepository(MountEntity).findBy({ id: In(ids.filter(isUuid)) });
  }

  mounts(principal: Principal, filter: { reservationId?: string | null; datasetId?: string | null; tenantId?: string | null }): Promise<MountEntity[]> {
    assertTenantOrOperator(principal);
    const q = this.dataSource.getRepository(MountEntity).createQueryBuilder('m');
    const tenant = visibleTenant(principal, filter.tenantId);
    if (tenant) q.andWhere('m.tenant_id = :tenant', { tenant });
    if (filter.reservationId) q.andWhere('m.reservation_id = :r', { r: isUuid(filter.reservationId) ? filter.reservationId : null });
    if (filter.datasetId) q.andWhere('m.dataset_id = :d', { d: isUuid(filter.datasetId) ? filter.datasetId : null });
    return q.orderBy('m.created_at', 'ASC').addOrderBy('m.id', 'ASC').getMany();
  }

  history(mountId: string): Promise<MountTransitionEntity[]> {
    return this.dataSource.getRepository(MountTransitionEntity).find({ where: { mountId }, order: { id: 'ASC' } });
  }

  /** The history of each mount, by mount id: one query for a page of mounts. */
  async histories(mountIds: readonly string[]): Promise<Map<string, MountTransitionEntity[]>> {
    const rows = await this.dataSource.getRepository(MountTransitionEntity).find({ where: { mountId: In(mountIds.filter(isUuid)) }, order: { id: 'ASC' } });
    return groupBy(mountIds, rows, (t) => t.mountId);
  }

  async custody(principal: Principal, datasetId: string): Promise<{ dataset: DatasetEntity; records: DatasetCustodyEntity[]; bytesHeldOutsideOffice: bigint }> {
    assertTenantOrOperator(principal);
    const dataset = await this.resources.dataset(principal, datasetId, 'datasetId');
    const records = await this.dataSource.getRepository(DatasetCustodyEntity).find({ where: { datasetId: dataset.id }, order: { id: 'ASC' } });
    return { dataset, records, bytesHeldOutsideOffice: await this.driver.bytesHeldOutsideOffice(dataset.id) };
  }

  /** Live copy progress from the storage driver (REPLICATION and CACHE). */
  async progress(mount: MountCopyState): Promise<{ bytesCopied: bigint; bytesTotal: bigint; rateBps: number } | null> {
    if (mount.design === StorageDesign.DIRECT) return null;
    const live = [M.REPLICATING, M.WARMING, M.ATTACHED].includes(mount.state) ? await this.driver.copyStatus(mount.id) : null;
    return { bytesCopied: live?.bytesCopied ?? BigInt(mount.bytesCopied), bytesTotal: BigInt(mount.bytesTotal), rateBps: mount.copyRateBps };
  }

  // ---- lifecycle, called by jobs and by the lightpath's own jobs -----------------------------------------

  /** The lightpath is ACTIVE: its waiting mounts may attach. */
  async onLightpathActive(reservationId: string): Promise<void> {
    const pending: Array<{ id: string }> = await this.dataSource.query(`SELECT id FROM mounts WHERE reservation_id = $1 AND state = 'PENDING'`, [reservationId]);
    for (const { id } of pending) await this.jobs.enqueue(JobName.MountAttach, { mountId: id }, { jobId: mountJobId(id, JobName.MountAttach) });
  }

  /** Before the lightpath goes down: every mount on it is detached and its copies purged. */
  async detachAllFor(reservationId: string, reason: string): Promise<void> {
    const live: Array<{ id: string }> = await this.dataSource.query(
      `SELECT id FROM mounts WHERE reservation_id = $1 AND state NOT IN ('DETACHED', 'FAILED') ORDER BY created_at`,
      [reservationId],
    );
    for (const { id } of live) {
      await this.dataSource.transaction(async (m) => {
        const mount = await this.lock(m, id);
        if (mount.state === M.PENDING) await this.record(m, mount, mount.state, M.FAILED, `${reason} before the mount attached`);
        else if (mount.state !== M.DETACHING && !FINAL_MOUNT_STATES.includes(mount.state)) await this.record(m, mount, mount.state, M.DETACHING, reason);
      });
      await this.finishDetach(id, reason);
    }
  }

  /** The lightpath failed or will never come up: mounts that have not attached fail with the reason. */
  async failAllFor(reservationId: string, reason: string): Promise<void> {
    const live: Array<{ id: string }> = await this.dataSource.query(
      `SELECT id FROM mounts WHERE reservation_id = $1 AND state NOT IN ('DETACHED', 'FAILED')`,
      [reservationId],
    );
    for (const { id } of live) await this.fail(id, reason);
  }

  /** Job: attach a PENDING mount once its lightpath is ACTIVE. */
  async runAttach(mountId: string): Promise<void> {
    const plan = await this.dataSource.transaction(async (m) => {
      const mount = await this.lock(m, mountId);
      if (mount.state !== M.PENDING) return null;
      const reservation = await m.getRepository(ReservationEntity).findOneByOrFail({ id: mount.reservationId });
      if (LIGHTPATH_GONE.has(reservation.state)) {
        await this.record(m, mount, mount.state, M.FAILED, `lightpath ${reservation.id} is ${reservation.state}; it never carried this mount`);
        return null;
      }
      if (reservation.state !== R.ACTIVE) return null; // its setup job enqueues this again when it is
      return { mount, ...(await this.endpoints(m, mount)) };
    });
    if (!plan) return;
    const { mount, dataset, office, node, nodeAddresses } = plan;
    if (mount.design === StorageDesign.DIRECT) {
      await this.driver.exportTo({ mountId, storageSystemId: office.id, exportPath: dataset.exportPath, clients: nodeAddresses });
      await this.dataSource.transaction(async (m) => {
        const locked = await this.lock(m, mountId);
        if (locked.state !== M.PENDING) return;
        await this.custodyRecord(m, locked, CustodyKind.DIRECT_READ, office.id, nodeAddresses);
        await this.record(m, locked, M.PENDING, M.ATTACHED, `GPU nodes mount ${office.host}:${dataset.exportPath} directly over the lightpath`);
      });
      return;
    }
    const dc = node!;
    // The DC node reads the office export over the lightpath, and serves the GPU nodes over the DC's LAN.
    await this.driver.exportTo({ mountId, storageSystemId: office.id, exportPath: dataset.exportPath, clients: [dc.host] });
    await this.driver.exportTo({ mountId, storageSystemId: dc.id, exportPath: dcExportPath(dataset, mountId), clients: nodeAddresses });
    const kind = mount.design === StorageDesign.REPLICATION ? 'REPLICA' : 'CACHE';
    // The custody record is written before the first byte moves, so a crash can never leave an unrecorded copy.
    const next = mount.design === StorageDesign.REPLICATION ? M.REPLICATING : M.WARMING;
    const moved = await this.dataSource.transaction(async (m) => {
      const locked = await this.lock(m, mountId);
      if (locked.state !== M.PENDING) return false;
      await this.custodyRecord(m, locked, kind === 'REPLICA' ? CustodyKind.REPLICA : CustodyKind.CACHE, dc.id, nodeAddresses);
      if (locked.protectionAtRest === AtRestProtection.ENCRYPTED) {
        // The key exists before the first byte moves, and the custody record says the copy is under it.
        await this.protection.createDataKey(m, mountId);
        await m.query('UPDATE dataset_custody SET encrypted = true WHERE mount_id = $1', [mountId]);
      }
      await this.record(
        m,
        locked,
        M.PENDING,
        next,
        kind === 'REPLICA'
          ? `copying ${dataset.bytes} bytes to replica ${dc.code} at ${(mount.copyRateBps * 8e-9).toFixed(2)} Gbps`
          : `cache ${dc.code} fronting ${office.host}:${dataset.exportPath}; first epoch is cold`,
      );
      return true;
    });
    if (!moved) return;
    const dataKey = await this.protection.dataKey(mountId);
    await this.driver.startCopy({ copyId: mountId, datasetId: dataset.id, storageSystemId: dc.id, kind, bytesTotal: BigInt(dataset.bytes), rateBps: mount.copyRateBps, dataKey });
    dataKey?.fill(0);
    await this.scheduleProgress(mountId, 0);
  }

  /** Job: record copy progress; REPLICATING becomes ATTACHED when the copy completes, WARMING when the cache serves. */
  async runProgress(mountId: string, poll: number): Promise<void> {
    const mount = await this.dataSource.getRepository(MountEntity).findOneBy({ id: mountId });
    if (!mount || (mount.state !== M.REPLICATING && mount.state !== M.WARMING)) return;
    const status = await this.driver.copyStatus(mountId);
    if (!status) {
      // The node lost the copy (or never started it): start it again; the custody record already exists.
      const dataset = await this.dataSource.getRepository(DatasetEntity).findOneByOrFail({ id: mount.datasetId });
      const dataKey = await this.protection.dataKey(mountId);
      await this.driver.startCopy({
        copyId: mountId, datasetId: dataset.id, storageSystemId: mount.storageNodeId!, kind: mount.design === StorageDesign.REPLICATION ? 'REPLICA' : 'CACHE',
        bytesTotal: BigInt(dataset.bytes), rateBps: mount.copyRateBps, dataKey,
      });
      dataKey?.fill(0);
      await this.scheduleProgress(mountId, poll + 1);
      return;
    }
    const ready = mount.state === M.REPLICATING ? status.complete : status.bytesCopied >= minBig(status.bytesTotal, CACHE_WARM_BYTES);
    await this.dataSource.transaction(async (m) => {
      const locked = await this.lock(m, mountId);
      if (locked.state !== mount.state) return;
      await m.query('UPDATE mounts SET bytes_copied = $2 WHERE id = $1', [mountId, status.bytesCopied.toString()]);
      locked.bytesCopied = status.bytesCopied.toString();
      if (ready) {
        await this.record(m, locked, locked.state, M.ATTACHED,
          locked.state === M.REPLICATING ? `replica complete: ${status.bytesCopied} bytes` : `cache serving after ${status.bytesCopied} bytes`);
      }
    });
    if (!ready) await this.scheduleProgress(mountId, poll + 1, status.bytesTotal - status.bytesCopied, mount.copyRateBps);
  }

  /** Job: finish a requested detach. */
  async runDetach(mountId: string): Promise<void> {
    await this.finishDetach(mountId, 'detached');
  }

  /**
   * Periodic repair: mounts waiting on a lightpath that is gone fail; mounts waiting on an ACTIVE one get
   * their attach job; mounts stuck copying get their progress job; DETACHING ones finish. Returns repairs.
   */
  async sweep(): Promise<number> {
    let repairs = 0;
    const rows: Array<{ id: string; state: MountState; r_state: ReservationState; reservation_id: string }> = await this.dataSource.query(
      `SELECT m.id, m.state, r.state AS r_state, r.id AS reservation_id FROM mounts m JOIN reservations r ON r.id = m.reservation_id
        WHERE m.state NOT IN ('DETACHED', 'FAILED')`,
    );
    for (const row of rows) {
      if (row.state === M.PENDING && LIGHTPATH_GONE.has(row.r_state)) {
        await this.fail(row.id, `lightpath ${row.reservation_id} is ${row.r_state}`);
        repairs++;
      } else if (row.state === M.PENDING && row.r_state === R.ACTIVE) {
        // reschedule, not enqueue: a job under that id that failed for good would otherwise block a new one.
        await this.jobs.reschedule(JobName.MountAttach, { mountId: row.id }, { jobId: mountJobId(row.id, JobName.MountAttach) });
      } else if (row.state === M.REPLICATING || row.state === M.WARMING) {
        if (LIGHTPATH_GONE.has(row.r_state)) {
          await this.detachAllFor(row.reservation_id, `lightpath ${row.reservation_id} is ${row.r_state}`);
          repairs++;
        } else {
          // One sweep job a minute at most; the progress chain continues from it.
          const bucket = `sweep-${Math.floor(Date.now() / 60_000)}`;
          await this.jobs.enqueue(JobName.MountProgress, { mountId: row.id }, { jobId: mountJobId(row.id, JobName.MountProgress, bucket) });
        }
      } else if (row.state === M.ATTACHED && LIGHTPATH_GONE.has(row.r_state)) {
        await this.detachAllFor(row.reservation_id, `lightpath ${row.reservation_id} is ${row.r_state}`);
        repairs++;
      } else if (row.state === M.DETACHING) {
        await this.jobs.reschedule(JobName.MountDetach, { mountId: row.id }, { jobId: mountJobId(row.id, JobName.MountDetach) });
      }
    }
    return repairs;
  }

  // ---- internals ---------------------------------------------------------------------------------------

  /** Unexports, purges the copy if there is one, attests, and ends DETACHED. Idempotent. */
  private async finishDetach(mountId: string, reason: string): Promise<void> {
    const mount = await this.dataSource.getRepository(MountEntity).findOneBy({ id: mountId });
    if (!mount || mount.state !== M.DETACHING) return;
    await this.purge(mount);
    await this.dataSource.transaction(async (m) => {
      const locked = await this.lock(m, mountId);
      if (locked.state !== M.DETACHING) return;
      await this.record(m, locked, M.DETACHING, M.DETACHED, reason);
    });
  }

  private async fail(mountId: string, reason: string): Promise<void> {
    const mount = await this.dataSource.getRepository(MountEntity).findOneBy({ id: mountId });
    if (!mount || FINAL_MOUNT_STATES.includes(mount.state)) return;
    await this.purge(mount);
    await this.dataSource.transaction(async (m) => {
      const locked = await this.lock(m, mountId);
      if (FINAL_MOUNT_STATES.includes(locked.state)) return;
      await this.record(m, locked, locked.state, M.FAILED, reason);
    });
  }

  /**
   * Ends access and proves it: notes when access ended, removes the exports, revokes the mount's TLS
   * certificates, erases any copy with its data key (crypto-erase), asks the GPU nodes to unmount, drop
   * their page cache and wipe scratch, and records the signed attestations that come back (checked like
   * any other, see MountProtection.accept). Then closes the custody record with an entry in the audit log.
   * Throws (so the job retries) if the node still reports bytes of the copy. Nodes whose agents attest
   * later do so through submitAttestation; until then the record is not clean.
   */
  private async purge(mount: MountEntity): Promise<void> {
    const [record] = await this.dataSource.getRepository(DatasetCustodyEntity).findBy({ mountId: mount.id });
    if (record && !record.accessEndedAt) {
      await this.dataSource.query('UPDATE dataset_custody SET access_ended_at = clock_timestamp() WHERE id = $1 AND access_ended_at IS NULL', [record.id]);
    }
    await this.driver.unexport(mount.id);
    await this.dataSource.transaction((m) => this.protection.revokeCertificates(m, mount.id));
    const receipt =
      mount.design === StorageDesign.DIRECT
        ? null
        : await this.driver.purge({ copyId: mount.id, datasetId: mount.datasetId, storageSystemId: mount.storageNodeId! });
    if (receipt && (await this.driver.copyStatus(mount.id))) throw new Error(`copy of mount ${mount.id} is still on its node after the purge`);
    const dataset = await this.dataSource.getRepository(DatasetEntity).findOneByOrFail({ id: mount.datasetId });
    const nodeIds: string[] = record
      ? (await this.dataSource.query('SELECT id FROM gpu_nodes WHERE address = ANY($1::text[]) ORDER BY name', [record.gpuNodeAddresses])).map((r: { id: string }) => r.id)
      : [];
    const wiped = record ? await this.driver.wipeGpuNodes({ mountId: mount.id, datasetId: mount.datasetId, mountPoint: mountPointOf(dataset.name), nodeIds }) : [];
    await this.dataSource.transaction(async (m) => {
      const rows = await m.getRepository(DatasetCustodyEntity).find({ where: { mountId: mount.id }, lock: { mode: 'pessimistic_write' } });
      const locked = rows[0];
      const keyDestroyedAt = await this.protection.destroyDataKey(m, mount.id);
      if (!locked || locked.purgedAt) return;
      for (const signed of [...(receipt?.attestation ? [receipt.attestation] : []), ...wiped]) await this.mountProtection.accept(m, signed, 'DRIVER');
      const at = receipt?.at ?? new Date();
      const bytes = receipt?.bytesPurged ?? 0n;
      await m.query('UPDATE dataset_custody SET purged_at = $2, bytes_held = $3, key_destroyed_at = $4 WHERE id = $1', [locked.id, at, bytes.toString(), keyDestroyedAt]);
      const node = await m.getRepository(StorageSystemEntity).findOneByOrFail({ id: locked.storageSystemId });
      const attested = { copy: receipt?.attestation ? 1 : 0, gpuNodes: wiped.length, gpuNodesExpected: nodeIds.length };
      await this.audit.append(m, {
        actor: SYSTEM_ACTOR,
        action: receipt ? 'dataset.copy-purged' : 'dataset.no-copy-made',
        entityType: 'dataset',
        entityId: mount.datasetId,
        data: receipt
          ? { mountId: mount.id, datasetId: mount.datasetId, node: node.code, nodeHost: node.host, kind: locked.kind, bytesPurged: bytes.toString(), at: at.toISOString(), encrypted: locked.encrypted, keyDestroyedAt: keyDestroyedAt?.toISOString() ?? null, attested }
          : { mountId: mount.id, datasetId: mount.datasetId, readFrom: node.code, gpuNodes: locked.gpuNodeAddresses, bytesStored: '0', at: at.toISOString(), attested },
      });
    });
  }

  private async pickDataCenterNode(design: StorageDesign, cluster: GpuClusterEntity, dataset: DatasetEntity): Promise<StorageSystemEntity> {
    const kind = design === StorageDesign.REPLICATION ? StorageKind.DC_REPLICA : StorageKind.DC_CACHE;
    // Free capacity: the node's capacity minus what live copies on it may hold.
    const rows: Array<{ id: string }> = await this.dataSource.query(
      `SELECT s.id FROM storage_systems s
        WHERE s.kind = $1 AND s.site_id = $2
          AND s.capacity_bytes - coalesce((SELECT sum(m.bytes_total) FROM mounts m
                                            WHERE m.storage_node_id = s.id AND m.state NOT IN ('DETACHED', 'FAILED')), 0) >= $3
        ORDER BY s.capacity_bytes - coalesce((SELECT sum(m.bytes_total) FROM mounts m
                                               WHERE m.storage_node_id = s.id AND m.state NOT IN ('DETACHED', 'FAILED')), 0) DESC, s.code
        LIMIT 1`,
      [kind, cluster.siteId, dataset.bytes],
    );
    if (rows.length === 0) {
      throw noCapacity(`No ${kind} node at the GPU cluster's site has ${dataset.bytes} bytes free for design ${design}; use another design or free a node.`, {
        field: 'input.design',
      });
    }
    const [node] = await this.resources.storageSystems([rows[0].id]);
    return node;
  }

  private async visibleReservation(principal: Principal, id: string, field: string): Promise<ReservationEntity> {
    const r = isUuid(id) ? await this.dataSource.getRepository(ReservationEntity).findOneBy({ id }) : null;
    const own = visibleTenant(principal);
    if (!r || (own !== null && r.tenantId !== own)) throw new AppError(ErrorCode.NOT_FOUND, `Reservation ${id} does not exist or is not visible to you.`, { field });
    return r;
  }

  private async endpoints(m: EntityManager, mount: MountEntity) {
    const dataset = await m.getRepository(DatasetEntity).findOneByOrFail({ id: mount.datasetId });
    const office = await m.getRepository(StorageSystemEntity).findOneByOrFail({ id: dataset.storageSystemId });
    const node = mount.storageNodeId ? await m.getRepository(StorageSystemEntity).findOneByOrFail({ id: mount.storageNodeId }) : null;
    const nodeAddresses = (await this.resources.nodesOfAllocation(mount.gpuAllocationId, m)).map((n) => n.address);
    return { dataset, office, node, nodeAddresses };
  }

  private async lock(m: EntityManager, id: string): Promise<MountEntity> {
    const rows = await m.getRepository(MountEntity).find({ where: { id }, lock: { mode: 'pessimistic_write' } });
    if (!rows[0]) throw new Error(`mount ${id} vanished`);
    return rows[0];
  }

  private async record(m: EntityManager, mount: MountEntity, from: MountState | null, to: MountState, reason: string, actor = SYSTEM_ACTOR): Promise<void> {
    if (from !== null) {
      const failed = to === M.FAILED;
      await m.query('UPDATE mounts SET state = $2, reason = $3, updated_at = now() WHERE id = $1', [mount.id, to, failed || to === M.DETACHED ? reason : null]);
    }
    await m.query('INSERT INTO mount_transitions (mount_id, from_state, to_state, at, reason) VALUES ($1, $2, $3, clock_timestamp(), $4)', [
      mount.id,
      from,
      to,
      reason,
    ]);
    await this.audit.append(m, { actor, action: `mount.${to.toLowerCase()}`, entityType: 'mount', entityId: mount.id, data: { from, to, reason } });
    mount.state = to;
    if (to === M.FAILED || to === M.DETACHED) mount.reason = reason;
    this.logger.log({ mountId: mount.id, from, to, reason }, 'mount transition');
  }

  private async custodyRecord(m: EntityManager, mount: MountEntity, kind: CustodyKind, storageSystemId: string, gpuNodeAddresses: string[]): Promise<void> {
    await m.query(
      `INSERT INTO dataset_custody (dataset_id, mount_id, kind, storage_system_id, gpu_node_addresses, since)
       VALUES ($1, $2, $3, $4, $5, clock_timestamp()) ON CONFLICT (mount_id) DO NOTHING`,
      [mount.datasetId, mount.id, kind, storageSystemId, gpuNodeAddresses],
    );
  }

  private async scheduleProgress(mountId: string, poll: number, remaining?: bigint, rateBps?: number): Promise<void> {
    const etaMs = remaining !== undefined && rateBps ? (Number(remaining) / rateBps) * 1000 : 0;
    const delay = Math.min(PROGRESS_POLL_MAX_MS, Math.max(PROGRESS_POLL_MIN_MS, etaMs));
    await this.jobs.enqueue(JobName.MountProgress, { mountId, poll }, {
      jobId: mountJobId(mountId, JobName.MountProgress, String(poll)),
      runAt: new Date(Date.now() + delay),
    });
  }
}

/** Where a DC node serves a mount's copy to the GPU nodes. */
/** What a mount's copy progress is computed from. */
export type MountCopyState = Pick<MountEntity, 'id' | 'design' | 'state' | 'bytesTotal' | 'bytesCopied' | 'copyRateBps'>;

export function dcExportPath(dataset: Pick<DatasetEntity, 'name'>, mountId: string): string {
  const slug = dataset.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'dataset';
  return `/srv/apn/${slug}-${mountId.slice(0, 8)}`;
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}
