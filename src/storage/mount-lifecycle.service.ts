import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { JobName, mountJobId } from '../core/queue/job-catalogue';
import { JobQueue } from '../core/queue/job-queue.service';
import { ReservationsRepository } from '../reservations/reservations.repository';
import { ReservationState } from '../reservations/reservation-state';
import { SYSTEM_ACTOR } from '../tenancy/principal';
import { AtRestProtection } from '../protection/profile';
import { ProtectionService } from '../protection/protection.service';
import { StorageDesign } from '../vocabulary/domain';
import { STORAGE_DRIVER, StorageDriver } from './drivers/storage-driver';
import { mountPointOf } from './mount-spec';
import { MountProtection } from './mount-protection.service';
import { FINAL_MOUNT_STATES, LIGHTPATH_GONE_STATES, MountState } from './mount-state';
import { MountTransitions } from './mount-transitions';
import { dcExportPath } from './mounts.service';
import { CustodyRepository } from './custody.repository';
import { InventoryRepository } from './inventory.repository';
import { MountsRepository } from './mounts.repository';
import { CustodyKind, type DatasetCustodyEntity, type DatasetEntity, type MountEntity, type StorageSystemEntity } from './storage.entities';

const M = MountState;
const R = ReservationState;

/** A CACHE mount serves once the cache has fetched this much (metadata and the first files); the rest of the first epoch is cold. */
export const CACHE_WARM_BYTES = 1n << 30n;
const PROGRESS_POLL_MIN_MS = 200;
const PROGRESS_POLL_MAX_MS = 5000;

/**
 * What moves a mount through its states (mount-state.ts), each step a job on the provisioning queue and
 * idempotent. A mount attaches only once its lightpath is ACTIVE: the lightpath's setup job enqueues the
 * attach jobs when it reaches ACTIVE, and the attach job checks the state itself. The lightpath's teardown
 * detaches (and purges) every mount before the lightpath goes down.
 */
@Injectable()
export class MountLifecycle {
  constructor(
    private readonly mounts: MountsRepository,
    private readonly inventory: InventoryRepository,
    private readonly custody: CustodyRepository,
    private readonly jobs: JobQueue,
    private readonly audit: AuditService,
    private readonly protection: ProtectionService,
    private readonly mountProtection: MountProtection,
    @Inject(STORAGE_DRIVER) private readonly driver: StorageDriver,
    private readonly transitions: MountTransitions,
    private readonly reservations: ReservationsRepository,
  ) {}

  /** The lightpath is ACTIVE: its waiting mounts may attach. */
  async onLightpathActive(reservationId: string): Promise<void> {
    for (const id of await this.mounts.idsOnReservation(reservationId, M.PENDING))
      await this.jobs.enqueue(JobName.MountAttach, { mountId: id }, { jobId: mountJobId(id, JobName.MountAttach) });
  }

  /** Before the lightpath goes down: every mount on it is detached and its copies purged. */
  async detachAllFor(reservationId: string, reason: string): Promise<void> {
    for (const id of await this.mounts.idsOnReservation(reservationId)) {
      await this.mounts.transaction(async (m) => {
        const mount = await this.transitions.lock(m, id);
        if (mount.state === M.PENDING)
          await this.transitions.record(m, mount, mount.state, M.FAILED, `${reason} before the mount attached`);
        else if (mount.state !== M.DETACHING && !FINAL_MOUNT_STATES.includes(mount.state))
          await this.transitions.record(m, mount, mount.state, M.DETACHING, reason);
      });
      await this.finishDetach(id, reason);
    }
  }

  /** The lightpath failed or will never come up: mounts that have not attached fail with the reason. */
  async failAllFor(reservationId: string, reason: string): Promise<void> {
    for (const id of await this.mounts.idsOnReservation(reservationId)) await this.fail(id, reason);
  }

  /** Job: attach a PENDING mount once its lightpath is ACTIVE. */
  async runAttach(mountId: string): Promise<void> {
    const plan = await this.mounts.transaction(async (m) => {
      const mount = await this.transitions.lock(m, mountId);
      if (mount.state !== M.PENDING) return null;
      const reservation = await this.reservations.find(mount.reservationId, m);
      if (!reservation) throw new Error(`reservation ${mount.reservationId} of mount ${mountId} vanished`);
      if (LIGHTPATH_GONE_STATES.has(reservation.state)) {
        await this.transitions.record(
          m,
          mount,
          mount.state,
          M.FAILED,
          `lightpath ${reservation.id} is ${reservation.state}; it never carried this mount`,
        );
        return null;
      }
      if (reservation.state !== R.ACTIVE) return null; // its setup job enqueues this again when it is
      return { mount, ...(await this.endpoints(m, mount)) };
    });
    if (!plan) return;
    const { mount, dataset, office, node, nodeAddresses } = plan;
    if (mount.design === StorageDesign.DIRECT) {
      await this.driver.exportTo({ mountId, storageSystemId: office.id, exportPath: dataset.exportPath, clients: nodeAddresses });
      await this.mounts.transaction(async (m) => {
        const locked = await this.transitions.lock(m, mountId);
        if (locked.state !== M.PENDING) return;
        await this.custodyRecord(m, locked, CustodyKind.DIRECT_READ, office.id, nodeAddresses);
        await this.transitions.record(
          m,
          locked,
          M.PENDING,
          M.ATTACHED,
          `GPU nodes mount ${office.host}:${dataset.exportPath} directly over the lightpath`,
        );
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
    const moved = await this.mounts.transaction(async (m) => {
      const locked = await this.transitions.lock(m, mountId);
      if (locked.state !== M.PENDING) return false;
      await this.custodyRecord(m, locked, kind === 'REPLICA' ? CustodyKind.REPLICA : CustodyKind.CACHE, dc.id, nodeAddresses);
      if (locked.protectionAtRest === AtRestProtection.ENCRYPTED) {
        // The key exists before the first byte moves, and the custody record says the copy is under it.
        await this.protection.createDataKey(m, mountId);
        await this.custody.markEncrypted(m, mountId);
      }
      await this.transitions.record(
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
    await this.driver.startCopy({
      copyId: mountId,
      datasetId: dataset.id,
      storageSystemId: dc.id,
      kind,
      bytesTotal: BigInt(dataset.bytes),
      rateBps: mount.copyRateBps,
      dataKey,
    });
    dataKey?.fill(0);
    await this.scheduleProgress(mountId, 0);
  }

  /** Job: record copy progress; REPLICATING becomes ATTACHED when the copy completes, WARMING when the cache serves. */
  async runProgress(mountId: string, poll: number): Promise<void> {
    const mount = await this.mounts.mount(mountId);
    if (!mount || (mount.state !== M.REPLICATING && mount.state !== M.WARMING)) return;
    const status = await this.driver.copyStatus(mountId);
    if (!status) {
      // The node lost the copy (or never started it): start it again; the custody record already exists.
      const dataset = await this.datasetOf(mount);
      const dataKey = await this.protection.dataKey(mountId);
      await this.driver.startCopy({
        copyId: mountId,
        datasetId: dataset.id,
        storageSystemId: mount.storageNodeId!,
        kind: mount.design === StorageDesign.REPLICATION ? 'REPLICA' : 'CACHE',
        bytesTotal: BigInt(dataset.bytes),
        rateBps: mount.copyRateBps,
        dataKey,
      });
      dataKey?.fill(0);
      await this.scheduleProgress(mountId, poll + 1);
      return;
    }
    const ready = mount.state === M.REPLICATING ? status.complete : status.bytesCopied >= minBig(status.bytesTotal, CACHE_WARM_BYTES);
    await this.mounts.transaction(async (m) => {
      const locked = await this.transitions.lock(m, mountId);
      if (locked.state !== mount.state) return;
      await this.mounts.setBytesCopied(m, mountId, status.bytesCopied);
      locked.bytesCopied = status.bytesCopied.toString();
      if (ready) {
        await this.transitions.record(
          m,
          locked,
          locked.state,
          M.ATTACHED,
          locked.state === M.REPLICATING
            ? `replica complete: ${status.bytesCopied} bytes`
            : `cache serving after ${status.bytesCopied} bytes`,
        );
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
    const live = await this.mounts.live();
    const lightpaths = await this.reservations.states([...new Set(live.map((row) => row.reservation_id))]);
    const rows = live.flatMap((row) => {
      const state = lightpaths.get(row.reservation_id);
      return state ? [{ ...row, r_state: state }] : [];
    });
    for (const row of rows) {
      if (row.state === M.PENDING && LIGHTPATH_GONE_STATES.has(row.r_state)) {
        await this.fail(row.id, `lightpath ${row.reservation_id} is ${row.r_state}`);
        repairs++;
      } else if (row.state === M.PENDING && row.r_state === R.ACTIVE) {
        // reschedule, not enqueue: a job under that id that failed for good would otherwise block a new one.
        await this.jobs.reschedule(JobName.MountAttach, { mountId: row.id }, { jobId: mountJobId(row.id, JobName.MountAttach) });
      } else if (row.state === M.REPLICATING || row.state === M.WARMING) {
        if (LIGHTPATH_GONE_STATES.has(row.r_state)) {
          await this.detachAllFor(row.reservation_id, `lightpath ${row.reservation_id} is ${row.r_state}`);
          repairs++;
        } else {
          // One sweep job a minute at most; the progress chain continues from it.
          const bucket = `sweep-${Math.floor(Date.now() / 60_000)}`;
          await this.jobs.enqueue(JobName.MountProgress, { mountId: row.id }, { jobId: mountJobId(row.id, JobName.MountProgress, bucket) });
        }
      } else if (row.state === M.ATTACHED && LIGHTPATH_GONE_STATES.has(row.r_state)) {
        await this.detachAllFor(row.reservation_id, `lightpath ${row.reservation_id} is ${row.r_state}`);
        repairs++;
      } else if (row.state === M.DETACHING) {
        await this.jobs.reschedule(JobName.MountDetach, { mountId: row.id }, { jobId: mountJobId(row.id, JobName.MountDetach) });
      }
    }
    return repairs;
  }

  /** Unexports, purges the copy if there is one, attests, and ends DETACHED. Idempotent. */
  private async finishDetach(mountId: string, reason: string): Promise<void> {
    const mount = await this.mounts.mount(mountId);
    if (!mount || mount.state !== M.DETACHING) return;
    await this.purge(mount);
    await this.mounts.transaction(async (m) => {
      const locked = await this.transitions.lock(m, mountId);
      if (locked.state !== M.DETACHING) return;
      await this.transitions.record(m, locked, M.DETACHING, M.DETACHED, reason);
    });
  }

  private async fail(mountId: string, reason: string): Promise<void> {
    const mount = await this.mounts.mount(mountId);
    if (!mount || FINAL_MOUNT_STATES.includes(mount.state)) return;
    await this.purge(mount);
    await this.mounts.transaction(async (m) => {
      const locked = await this.transitions.lock(m, mountId);
      if (FINAL_MOUNT_STATES.includes(locked.state)) return;
      await this.transitions.record(m, locked, locked.state, M.FAILED, reason);
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
    const record = await this.custody.ofMount(mount.id);
    if (record && !record.accessEndedAt) await this.custody.markAccessEnded(record.id);
    await this.driver.unexport(mount.id);
    await this.mounts.transaction((m) => this.protection.revokeCertificates(m, mount.id));
    const receipt =
      mount.design === StorageDesign.DIRECT
        ? null
        : await this.driver.purge({ copyId: mount.id, datasetId: mount.datasetId, storageSystemId: mount.storageNodeId! });
    if (receipt && (await this.driver.copyStatus(mount.id)))
      throw new Error(`copy of mount ${mount.id} is still on its node after the purge`);
    const dataset = await this.datasetOf(mount);
    const nodeIds = record ? (await this.inventory.gpuNodesAt(record.gpuNodeAddresses)).map((n) => n.id) : [];
    const wiped = record
      ? await this.driver.wipeGpuNodes({ mountId: mount.id, datasetId: mount.datasetId, mountPoint: mountPointOf(dataset.name), nodeIds })
      : [];
    await this.mounts.transaction(async (m) => {
      const locked = await this.custody.lockOfMount(m, mount.id);
      const keyDestroyedAt = await this.protection.destroyDataKey(m, mount.id);
      if (!locked || locked.purgedAt) return;
      for (const signed of [...(receipt?.attestation ? [receipt.attestation] : []), ...wiped])
        await this.mountProtection.accept(m, signed, 'DRIVER');
      const purged = { at: receipt?.at ?? new Date(), bytes: receipt?.bytesPurged ?? 0n, keyDestroyedAt };
      await this.custody.markPurged(m, locked.id, purged);
      const node = await this.inventory.storageSystem(locked.storageSystemId, m);
      if (!node) throw new Error(`storage system ${locked.storageSystemId} of mount ${mount.id} is missing`);
      const attested = { copy: receipt?.attestation ? 1 : 0, gpuNodes: wiped.length, gpuNodesExpected: nodeIds.length };
      await this.audit.append(m, {
        actor: SYSTEM_ACTOR,
        action: receipt ? 'dataset.copy-purged' : 'dataset.no-copy-made',
        entityType: 'dataset',
        entityId: mount.datasetId,
        data: purgeAuditData(mount, locked, node, receipt !== null, purged, attested),
      });
    });
  }

  private async datasetOf(mount: MountEntity, m?: EntityManager): Promise<DatasetEntity> {
    const dataset = await this.inventory.dataset(mount.datasetId, m);
    if (!dataset) throw new Error(`dataset ${mount.datasetId} of mount ${mount.id} is missing`);
    return dataset;
  }

  private async endpoints(m: EntityManager, mount: MountEntity) {
    const dataset = await this.datasetOf(mount, m);
    const office = await this.inventory.storageSystem(dataset.storageSystemId, m);
    const node = mount.storageNodeId ? await this.inventory.storageSystem(mount.storageNodeId, m) : null;
    if (!office || (mount.storageNodeId && !node)) throw new Error(`a storage system of mount ${mount.id} is missing`);
    const nodeAddresses = (await this.inventory.nodesOfAllocation(mount.gpuAllocationId, m)).map((n) => n.address);
    return { dataset, office, node, nodeAddresses };
  }

  private async custodyRecord(
    m: EntityManager,
    mount: MountEntity,
    kind: CustodyKind,
    storageSystemId: string,
    gpuNodeAddresses: string[],
  ): Promise<void> {
    await this.custody.record(m, { datasetId: mount.datasetId, mountId: mount.id }, kind, storageSystemId, gpuNodeAddresses);
  }

  private async scheduleProgress(mountId: string, poll: number, remaining?: bigint, rateBps?: number): Promise<void> {
    const etaMs = remaining !== undefined && rateBps ? (Number(remaining) / rateBps) * 1000 : 0;
    const delay = Math.min(PROGRESS_POLL_MAX_MS, Math.max(PROGRESS_POLL_MIN_MS, etaMs));
    await this.jobs.enqueue(
      JobName.MountProgress,
      { mountId, poll },
      {
        jobId: mountJobId(mountId, JobName.MountProgress, String(poll)),
        runAt: new Date(Date.now() + delay),
      },
    );
  }
}

function minBig(a: bigint, b: bigint): bigint {
  return a < b ? a : b;
}

/** The audit entry of a purge: the copy destroyed, or (DIRECT) that none was made; with the attestations counted. */
function purgeAuditData(
  mount: MountEntity,
  record: DatasetCustodyEntity,
  node: StorageSystemEntity,
  copied: boolean,
  purged: { at: Date; bytes: bigint; keyDestroyedAt: Date | null },
  attested: { copy: number; gpuNodes: number; gpuNodesExpected: number },
): Record<string, unknown> {
  const at = purged.at.toISOString();
  if (!copied) {
    const gpuNodes = record.gpuNodeAddresses;
    return { mountId: mount.id, datasetId: mount.datasetId, readFrom: node.code, gpuNodes, bytesStored: '0', at, attested };
  }
  return {
    mountId: mount.id,
    datasetId: mount.datasetId,
    node: node.code,
    nodeHost: node.host,
    kind: record.kind,
    bytesPurged: purged.bytes.toString(),
    at,
    encrypted: record.encrypted,
    keyDestroyedAt: purged.keyDestroyedAt?.toISOString() ?? null,
    attested,
  };
}
