import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../audit/audit.service';
import { AppError, ErrorCode, badInput, conflict, invalidState, noCapacity } from '../core/errors/app-error';
import { JobName, mountJobId } from '../core/queue/job-catalogue';
import { JobQueue } from '../core/queue/job-queue.service';
import { goodput } from '../vocabulary/physics';
import { CALIBRATED_KEY, REFERENCE_DEFAULTS, modelParameters } from '../vocabulary/reference';
import type { ReservationEntity } from '../reservations/reservation.entities';
import { ReservationsRepository } from '../reservations/reservations.repository';
import { ReservationState } from '../reservations/reservation-state';
import type { Principal } from '../tenancy/principal';
import { TopologyService } from '../topology/topology.service';
import { InMotionProtection } from '../protection/profile';
import { ProtectionService } from '../protection/protection.service';
import { STORAGE_DRIVER, StorageDriver } from './drivers/storage-driver';
import { MountProtection } from './mount-protection.service';
import { MountTransitions } from './mount-transitions';
import { StorageResources, assertTenantOrOperator } from './storage-resources.service';
import { CustodyRepository } from './custody.repository';
import { InventoryRepository, type Page } from './inventory.repository';
import { MountsRepository } from './mounts.repository';
import {
  type DatasetCustodyEntity,
  type DatasetEntity,
  type GpuAllocationEntity,
  type GpuClusterEntity,
  MountEntity,
  type MountTransitionEntity,
  NfsProtocol,
  Sensitivity,
  StorageKind,
  type StorageSystemEntity,
} from './storage.entities';
import { ATTACHABLE_LIGHTPATH_STATES, FINAL_MOUNT_STATES, MountState } from './mount-state';
import { StorageDesign } from '../vocabulary/domain';
import type { AttachStorageInput, MountProgress } from './storage.models';
import { canSee, visibleTenant } from '../core/visibility';

const M = MountState;
const R = ReservationState;

/**
 * NFS goodput over a lightpath of this rate: the planner's model (jumbo frames less Ethernet, IP, TCP and
 * RPC headers), with its reference values, so a mount's copy rate and the planner's estimate agree.
 */
function lightpathGoodputBps(rateGbps: number): number {
  const values = REFERENCE_DEFAULTS;
  const link = { bandwidthGbps: rateGbps, rttMs: 0, mtuBytes: values['model.mtuBytes.APN'].value };
  return (goodput(link, modelParameters(values, values[CALIBRATED_KEY].value)).gbps * 1e9) / 8;
}

export const POLICY_CONFIDENTIAL_DIRECT_ONLY = 'CONFIDENTIAL_DATA_STAYS_IN_OFFICE';

/**
 * Mounts: a dataset of the office attached to a tenant's GPU nodes over a lightpath, in one of three designs
 * (the states and their transitions are in mount-state.ts). The API side: attach, detach and reads; the
 * jobs that move a mount through its states are in mount-lifecycle.service.ts.
 */
@Injectable()
export class MountsService {
  constructor(
    private readonly mountsRepo: MountsRepository,
    private readonly inventory: InventoryRepository,
    private readonly custodyRepo: CustodyRepository,
    private readonly resources: StorageResources,
    private readonly topology: TopologyService,
    private readonly jobs: JobQueue,
    private readonly audit: AuditService,
    private readonly protection: ProtectionService,
    private readonly mountProtection: MountProtection,
    @Inject(STORAGE_DRIVER) private readonly driver: StorageDriver,
    private readonly transitions: MountTransitions,
    private readonly reservations: ReservationsRepository,
  ) {}

  // ---- API ---------------------------------------------------------------------------------------------

  async attach(principal: Principal, input: AttachStorageInput): Promise<MountEntity> {
    assertTenantOrOperator(principal);
    const { reservation, dataset, allocation } = await this.attachTargets(principal, input);
    const { snapshot, office, node } = await this.placement(input, reservation, dataset, allocation);
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
      ? this.mountProtection.certificateOrders(
          { start: allocation.startAt, end: allocation.endAt },
          await this.inventory.nodesOfAllocation(allocation.id),
          office,
          node,
        )
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
    await this.mountsRepo.transaction(async (m) => {
      // The dataset on the allocation once at a time: a second live mount of it would be a mistake.
      if ((await this.mountsRepo.liveCount(m, { gpuAllocationId: allocation.id, datasetId: dataset.id })) > 0)
        throw conflict(`Dataset ${dataset.name} is already mounted on allocation ${allocation.id}; detach it first.`, 'input.datasetId');
      await this.mountsRepo.insert(m, mount);
      await this.protection.issueCertificates(m, mount.id, certificates);
      await this.transitions.record(m, mount, null, M.PENDING, `waiting for lightpath ${reservation.id} to be ACTIVE`, principal.actor);
      await this.audit.append(m, {
        actor: principal.actor,
        action: 'mount.protection',
        entityType: 'mount',
        entityId: mount.id,
        data: { inMotion: profile.inMotion, atRest: profile.atRest, certificates: certificates.length },
      });
    });
    const current = await this.reservations.find(reservation.id);
    if (!current) throw new Error(`reservation ${reservation.id} of mount ${mount.id} vanished`);
    if (current.state === R.ACTIVE)
      await this.jobs.enqueue(JobName.MountAttach, { mountId: mount.id }, { jobId: mountJobId(mount.id, JobName.MountAttach) });
    return mount;
  }

  async detach(principal: Principal, id: string): Promise<MountEntity> {
    assertTenantOrOperator(principal);
    const visible = await this.mount(principal, id);
    const moved = await this.mountsRepo.transaction(async (m) => {
      const mount = await this.transitions.lock(m, visible.id);
      if (mount.state === M.DETACHING) return mount;
      if (FINAL_MOUNT_STATES.includes(mount.state)) {
        throw invalidState(`Mount ${id} is ${mount.state} already.`, { state: mount.state });
      }
      await this.transitions.record(m, mount, mount.state, M.DETACHING, 'detach requested', principal.actor);
      return mount;
    });
    await this.jobs.enqueue(JobName.MountDetach, { mountId: id }, { jobId: mountJobId(id, JobName.MountDetach) });
    return moved;
  }

  async mount(principal: Principal, id: string): Promise<MountEntity> {
    assertTenantOrOperator(principal);
    const m = await this.mountsRepo.mount(id);
    if (!m || !canSee(principal, m.tenantId))
      throw new AppError(ErrorCode.NOT_FOUND, `Mount ${id} does not exist or is not visible to you.`);
    return m;
  }

  /** Mounts by id, without a visibility check: for objects of the same tenant the caller could already see. */
  mountsByIds(ids: readonly string[]): Promise<MountEntity[]> {
    return this.mountsRepo.mountsByIds(ids);
  }

  /** A page of the mounts the caller may see, oldest first, optionally of one reservation or dataset. */
  mounts(
    principal: Principal,
    filter: { first: number; after?: string | null; reservationId?: string | null; datasetId?: string | null; tenantId?: string | null },
  ): Promise<Page<MountEntity>> {
    assertTenantOrOperator(principal);
    return this.mountsRepo.mountPage({ ...filter, tenantId: visibleTenant(principal, filter.tenantId) });
  }

  history(mountId: string): Promise<MountTransitionEntity[]> {
    return this.mountsRepo.history(mountId);
  }

  /** The history of each mount, by mount id: one query for a page of mounts. */
  histories(mountIds: readonly string[]): Promise<Map<string, MountTransitionEntity[]>> {
    return this.mountsRepo.histories(mountIds);
  }

  async custody(
    principal: Principal,
    datasetId: string,
  ): Promise<{ dataset: DatasetEntity; records: DatasetCustodyEntity[]; bytesHeldOutsideOffice: bigint }> {
    assertTenantOrOperator(principal);
    const dataset = await this.resources.dataset(principal, datasetId, 'datasetId');
    const records = await this.custodyRepo.ofDataset(dataset.id);
    return { dataset, records, bytesHeldOutsideOffice: await this.driver.bytesHeldOutsideOffice(dataset.id) };
  }

  /** How far the copy is (REPLICATION and CACHE), live from the storage driver while it runs; null for DIRECT. */
  async progress(mount: MountCopyState): Promise<MountProgress | null> {
    if (mount.design === StorageDesign.DIRECT) return null;
    const live = [M.REPLICATING, M.WARMING, M.ATTACHED].includes(mount.state) ? await this.driver.copyStatus(mount.id) : null;
    const bytesCopied = live?.bytesCopied ?? BigInt(mount.bytesCopied);
    const bytesTotal = BigInt(mount.bytesTotal);
    const remaining = bytesTotal - bytesCopied;
    return {
      bytesCopied,
      bytesTotal,
      percent: bytesTotal === 0n ? 100 : Number((bytesCopied * 10000n) / bytesTotal) / 100,
      rateGbps: (mount.copyRateBps * 8) / 1e9,
      etaSeconds: remaining <= 0n ? null : Number(remaining) / mount.copyRateBps,
    };
  }

  // ---- internals ---------------------------------------------------------------------------------------

  /** The lightpath, dataset and allocation a mount joins: visible to the caller, of one tenant, usable now. */
  private async attachTargets(principal: Principal, input: AttachStorageInput) {
    const reservation = await this.visibleReservation(principal, input.reservationId, 'input.reservationId');
    const dataset = await this.resources.dataset(principal, input.datasetId, 'input.datasetId');
    const allocation = await this.resources.gpuAllocation(principal, input.gpuAllocationId, 'input.gpuAllocationId');
    if (dataset.tenantId !== reservation.tenantId) {
      throw badInput(
        'input.datasetId',
        `input.datasetId: dataset ${dataset.name} belongs to another tenant than reservation ${reservation.id}.`,
      );
    }
    if (allocation.tenantId !== reservation.tenantId) {
      throw badInput(
        'input.gpuAllocationId',
        `input.gpuAllocationId: allocation ${allocation.id} belongs to another tenant than reservation ${reservation.id}.`,
      );
    }
    if (!ATTACHABLE_LIGHTPATH_STATES.has(reservation.state)) {
      throw invalidState(
        `Reservation ${reservation.id} is ${reservation.state}; storage attaches to a RESERVED, PROVISIONING or ACTIVE lightpath${reservation.state === R.HELD ? ' (commit the hold first)' : ''}.`,
        { state: reservation.state, field: 'input.reservationId' },
      );
    }
    if (allocation.state !== 'ALLOCATED')
      throw invalidState(`GPU allocation ${allocation.id} is released.`, { field: 'input.gpuAllocationId' });
    return { reservation, dataset, allocation };
  }

  /**
   * Where the mount's bytes flow: the office server at the lightpath's source, the GPU cluster at its
   * destination, and for REPLICATION and CACHE a data-center node with room for the copy. Refuses what the
   * sites, windows, sensitivity policy, NFS versions or RDMA support rule out.
   */
  private async placement(
    input: AttachStorageInput,
    reservation: ReservationEntity,
    dataset: DatasetEntity,
    allocation: GpuAllocationEntity,
  ) {
    const snapshot = await this.topology.snapshot({ maxAgeMs: 1000 });
    const [office] = await this.resources.storageSystems([dataset.storageSystemId]);
    const [cluster] = await this.resources.gpuClusters([allocation.clusterId]);
    const source = snapshot.endpoints.get(reservation.sourceEndpointId);
    const destination = snapshot.endpoints.get(reservation.destinationEndpointId);
    const siteCode = (id: string | undefined) => (id ? (snapshot.sites.get(id)?.code ?? id) : 'unknown');
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
        throw badInput(
          'input.protocol',
          `input.protocol: NFS_RDMA needs RDMA on both ends, and ${missing.join(' and ')} lack it; use NFS_TCP.`,
        );
      }
    }
    return { snapshot, office, cluster, node };
  }

  private async pickDataCenterNode(design: StorageDesign, cluster: GpuClusterEntity, dataset: DatasetEntity): Promise<StorageSystemEntity> {
    const kind = design === StorageDesign.REPLICATION ? StorageKind.DC_REPLICA : StorageKind.DC_CACHE;
    const nodeId = await this.inventory.roomiestNode(kind, cluster.siteId, dataset.bytes);
    if (nodeId === null) {
      throw noCapacity(
        `No ${kind} node at the GPU cluster's site has ${dataset.bytes} bytes free for design ${design}; use another design or free a node.`,
        {
          field: 'input.design',
        },
      );
    }
    const [node] = await this.inventory.storageSystems([nodeId]);
    return node;
  }

  private async visibleReservation(principal: Principal, id: string, field: string): Promise<ReservationEntity> {
    const r = await this.reservations.find(id);
    if (!r || !canSee(principal, r.tenantId))
      throw new AppError(ErrorCode.NOT_FOUND, `Reservation ${id} does not exist or is not visible to you.`, { field });
    return r;
  }
}

/** What a mount's copy progress is computed from. */
export type MountCopyState = Pick<MountEntity, 'id' | 'design' | 'state' | 'bytesTotal' | 'bytesCopied' | 'copyRateBps'>;

/** Where a DC node serves a mount's copy to the GPU nodes. */
export function dcExportPath(dataset: Pick<DatasetEntity, 'name'>, mountId: string): string {
  const slug =
    dataset.name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '') || 'dataset';
  return `/srv/apn/${slug}-${mountId.slice(0, 8)}`;
}
