import { Args, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { AppError, ErrorCode } from '../core/errors/app-error';
import { ReservationQueries } from '../reservations/reservation-queries.service';
import { Reservation, TenantRef } from '../reservations/reservation.models';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { FIBER_LATENCY_US_PER_KM } from '../topology/pce';
import { Site } from '../topology/topology.models';
import { TopologyService } from '../topology/topology.service';
import { MountProtectionInput, MountSpecError, renderMountSpec } from './mount-spec';
import { MountProtection } from './mount-protection.service';
import { MountsService, dcExportPath } from './mounts.service';
import { attestationModel } from './protection.resolver';
import { StorageResources } from './storage-resources.service';
import {
  DatasetEntity,
  GpuAllocationEntity,
  GpuClusterEntity,
  MountEntity,
  MountTransitionEntity,
  StorageSystemEntity,
} from './storage.entities';
import {
  AllocateGpusInput,
  AttachStorageInput,
  CreateDatasetInput,
  CreateGpuClusterInput,
  CreateStorageSystemInput,
  Dataset,
  DatasetCustody,
  GpuAllocation,
  GpuCluster,
  GpuNode,
  Mount,
  MountProgress,
  MountSpecModel,
  MountTransition,
  StorageSystem,
} from './storage.models';

async function siteOf(topology: TopologyService, siteId: string): Promise<Site> {
  const site = (await topology.snapshot({ maxAgeMs: 1000 })).sites.get(siteId) ?? (await topology.snapshot()).sites.get(siteId);
  if (!site) throw new Error(`site ${siteId} is missing from the topology`);
  return Site.from(site);
}

@Resolver()
export class StorageResolver {
  constructor(
    private readonly resources: StorageResources,
    private readonly mountsService: MountsService,
    private readonly mountProtection: MountProtection,
  ) {}

  @Mutation(() => StorageSystem, { description: 'Registers an NFS server: an office server, or a replica or cache node at a data center.' })
  @Roles(Role.OPERATOR)
  createStorageSystem(@Args('input') input: CreateStorageSystemInput, @CurrentPrincipal() p: Principal): Promise<StorageSystemEntity> {
    return this.resources.createStorageSystem(p, input);
  }

  @Mutation(() => Dataset, { description: 'Registers a tenant’s dataset: an export of its office NFS server.' })
  @Roles(Role.OPERATOR)
  createDataset(@Args('input') input: CreateDatasetInput, @CurrentPrincipal() p: Principal): Promise<DatasetEntity> {
    return this.resources.createDataset(p, input);
  }

  @Mutation(() => GpuCluster, { description: 'Registers GPU servers at a data-center site.' })
  @Roles(Role.OPERATOR)
  createGpuCluster(@Args('input') input: CreateGpuClusterInput, @CurrentPrincipal() p: Principal): Promise<GpuClusterEntity> {
    return this.resources.createGpuCluster(p, input);
  }

  @Mutation(() => GpuAllocation, { description: 'Holds free GPU nodes for a tenant over a window (NO_CAPACITY if too few are free).' })
  @Roles(Role.OPERATOR)
  allocateGpus(@Args('input') input: AllocateGpusInput, @CurrentPrincipal() p: Principal): Promise<GpuAllocationEntity> {
    return this.resources.allocateGpus(p, input);
  }

  @Mutation(() => GpuAllocation, { description: 'Gives an allocation’s nodes back (refused while mounts use it).' })
  @Roles(Role.OPERATOR)
  releaseGpuAllocation(@Args('id', { type: () => ID }) id: string, @CurrentPrincipal() p: Principal): Promise<GpuAllocationEntity> {
    return this.resources.releaseGpuAllocation(p, id);
  }

  @Mutation(() => Mount, {
    description:
      'Attaches a dataset to a GPU allocation over a lightpath. It attaches once the lightpath is ACTIVE; CONFIDENTIAL datasets allow DIRECT only.',
  })
  @Roles(Role.OPERATOR, Role.TENANT)
  attachStorage(@Args('input') input: AttachStorageInput, @CurrentPrincipal() p: Principal): Promise<MountEntity> {
    return this.mountsService.attach(p, input);
  }

  @Mutation(() => Mount, { description: 'Detaches a mount; a replica or cache copy is purged and the purge attested in the audit log.' })
  @Roles(Role.OPERATOR, Role.TENANT)
  detachStorage(@Args('id', { type: () => ID }) id: string, @CurrentPrincipal() p: Principal): Promise<MountEntity> {
    return this.mountsService.detach(p, id);
  }

  @Query(() => [StorageSystem], { description: 'Every NFS storage system (operators).' })
  @Roles(Role.OPERATOR)
  storageSystems(): Promise<StorageSystemEntity[]> {
    return this.resources.storageSystems();
  }

  @Query(() => [Dataset], { description: 'Your datasets; operators see all, or one tenant’s.' })
  @Roles(Role.OPERATOR, Role.TENANT)
  datasets(@CurrentPrincipal() p: Principal, @Args('tenantId', { type: () => ID, nullable: true }) tenantId?: string): Promise<DatasetEntity[]> {
    return this.resources.datasets(p, tenantId);
  }

  @Query(() => Dataset, { description: 'A dataset of yours (NOT_FOUND otherwise).' })
  @Roles(Role.OPERATOR, Role.TENANT)
  dataset(@Args('id', { type: () => ID }) id: string, @CurrentPrincipal() p: Principal): Promise<DatasetEntity> {
    return this.resources.dataset(p, id);
  }

  @Query(() => [GpuCluster], { description: 'GPU clusters at data-center sites.' })
  @Roles(Role.OPERATOR, Role.TENANT)
  gpuClusters(): Promise<GpuClusterEntity[]> {
    return this.resources.gpuClusters();
  }

  @Query(() => [GpuAllocation], { description: 'Your GPU allocations; operators see all, or one tenant’s.' })
  @Roles(Role.OPERATOR, Role.TENANT)
  gpuAllocations(@CurrentPrincipal() p: Principal, @Args('tenantId', { type: () => ID, nullable: true }) tenantId?: string): Promise<GpuAllocationEntity[]> {
    return this.resources.gpuAllocations(p, tenantId);
  }

  @Query(() => [Mount], { description: 'Your mounts, oldest first, optionally of one reservation or dataset.' })
  @Roles(Role.OPERATOR, Role.TENANT)
  mounts(
    @CurrentPrincipal() p: Principal,
    @Args('reservationId', { type: () => ID, nullable: true }) reservationId?: string,
    @Args('datasetId', { type: () => ID, nullable: true }) datasetId?: string,
    @Args('tenantId', { type: () => ID, nullable: true }) tenantId?: string,
  ): Promise<MountEntity[]> {
    return this.mountsService.mounts(p, { reservationId, datasetId, tenantId });
  }

  @Query(() => Mount, { description: 'A mount of yours (NOT_FOUND otherwise).' })
  @Roles(Role.OPERATOR, Role.TENANT)
  mount(@Args('id', { type: () => ID }) id: string, @CurrentPrincipal() p: Principal): Promise<MountEntity> {
    return this.mountsService.mount(p, id);
  }

  @Query(() => DatasetCustody, { description: 'Every place the dataset’s bytes have been outside the office, and whether each copy was purged.' })
  @Roles(Role.OPERATOR, Role.TENANT)
  async datasetCustody(@Args('datasetId', { type: () => ID }) datasetId: string, @CurrentPrincipal() p: Principal): Promise<DatasetCustody> {
    const { dataset, records, bytesHeldOutsideOffice } = await this.mountsService.custody(p, datasetId);
    const systems = new Map((await this.resources.storageSystems([dataset.storageSystemId, ...records.map((r) => r.storageSystemId)])).map((s) => [s.id, s]));
    const proofs = await this.mountProtection.proofs(records);
    const all = records.map((r) => {
      const copyMade = r.kind !== 'DIRECT_READ';
      const proof = proofs.get(r.mountId)!;
      return {
        kind: r.kind,
        mountId: r.mountId,
        location: systems.get(r.storageSystemId) as unknown as StorageSystem,
        gpuNodeAddresses: r.gpuNodeAddresses,
        since: r.since,
        copyMade,
        bytesPurged: r.purgedAt && copyMade ? BigInt(r.bytesHeld ?? '0') : null,
        purgedAt: r.purgedAt,
        accessEndedAt: r.accessEndedAt,
        encrypted: r.encrypted,
        keyDestroyedAt: r.keyDestroyedAt,
        places: proof.places,
        attestations: proof.attestations.map(attestationModel),
        clean: proof.proven && (!r.encrypted || r.keyDestroyedAt !== null),
      };
    });
    return {
      dataset: dataset as unknown as Dataset,
      origin: systems.get(dataset.storageSystemId) as unknown as StorageSystem,
      records: all,
      bytesHeldOutsideOffice,
      clean: bytesHeldOutsideOffice === 0n && all.every((r) => r.clean),
    };
  }
}

@Resolver(() => StorageSystem)
export class StorageSystemResolver {
  constructor(private readonly topology: TopologyService) {}

  @ResolveField(() => Site)
  site(@Parent() s: StorageSystemEntity): Promise<Site> {
    return siteOf(this.topology, s.siteId);
  }
}

@Resolver(() => Dataset)
export class DatasetResolver {
  constructor(private readonly resources: StorageResources) {}

  @ResolveField(() => TenantRef)
  tenant(@Parent() d: DatasetEntity): TenantRef {
    return { id: d.tenantId };
  }

  @ResolveField(() => StorageSystem)
  async storageSystem(@Parent() d: DatasetEntity): Promise<StorageSystemEntity> {
    return (await this.resources.storageSystems([d.storageSystemId]))[0];
  }
}

@Resolver(() => GpuCluster)
export class GpuClusterResolver {
  constructor(
    private readonly resources: StorageResources,
    private readonly topology: TopologyService,
  ) {}

  @ResolveField(() => Site)
  site(@Parent() c: GpuClusterEntity): Promise<Site> {
    return siteOf(this.topology, c.siteId);
  }

  @ResolveField(() => [GpuNode])
  nodes(@Parent() c: GpuClusterEntity): Promise<GpuNode[]> {
    return this.resources.nodesOfCluster(c.id);
  }
}

@Resolver(() => GpuAllocation)
export class GpuAllocationResolver {
  constructor(private readonly resources: StorageResources) {}

  @ResolveField(() => TenantRef)
  tenant(@Parent() a: GpuAllocationEntity): TenantRef {
    return { id: a.tenantId };
  }

  @ResolveField(() => GpuCluster)
  async cluster(@Parent() a: GpuAllocationEntity): Promise<GpuClusterEntity> {
    return (await this.resources.gpuClusters([a.clusterId]))[0];
  }

  @ResolveField(() => [GpuNode])
  nodes(@Parent() a: GpuAllocationEntity): Promise<GpuNode[]> {
    return this.resources.nodesOfAllocation(a.id);
  }

  @ResolveField(() => Date)
  start(@Parent() a: GpuAllocationEntity): Date {
    return a.startAt;
  }

  @ResolveField(() => Date)
  end(@Parent() a: GpuAllocationEntity): Date {
    return a.endAt;
  }
}

@Resolver(() => Mount)
export class MountResolver {
  constructor(
    private readonly resources: StorageResources,
    private readonly mounts: MountsService,
    private readonly reservations: ReservationQueries,
  ) {}

  @ResolveField(() => Dataset)
  async dataset(@Parent() m: MountEntity): Promise<DatasetEntity> {
    return this.resources.dataset(SYSTEM_READER, m.datasetId);
  }

  @ResolveField(() => GpuAllocation)
  async gpuAllocation(@Parent() m: MountEntity): Promise<GpuAllocationEntity> {
    return this.resources.gpuAllocation(SYSTEM_READER, m.gpuAllocationId);
  }

  @ResolveField(() => StorageSystem, { nullable: true })
  async storageNode(@Parent() m: MountEntity): Promise<StorageSystemEntity | null> {
    return m.storageNodeId ? (await this.resources.storageSystems([m.storageNodeId]))[0] : null;
  }

  @ResolveField(() => Reservation, { description: 'The lightpath the mount runs over.' })
  async reservation(@Parent() m: MountEntity, @CurrentPrincipal() p: Principal): Promise<Reservation> {
    return this.reservations.toModel(await this.reservations.get(p, m.reservationId));
  }

  @ResolveField(() => MountProgress, { nullable: true })
  async progress(@Parent() m: MountEntity): Promise<MountProgress | null> {
    const live = await this.mounts.progress(m);
    if (!live) return null;
    const remaining = live.bytesTotal - live.bytesCopied;
    return {
      bytesCopied: live.bytesCopied,
      bytesTotal: live.bytesTotal,
      percent: live.bytesTotal === 0n ? 100 : Number((live.bytesCopied * 10000n) / live.bytesTotal) / 100,
      rateGbps: (live.rateBps * 8) / 1e9,
      etaSeconds: remaining <= 0n ? null : Number(remaining) / live.rateBps,
    };
  }

  @ResolveField(() => [MountTransition])
  async history(@Parent() m: MountEntity): Promise<MountTransition[]> {
    return (await this.mounts.history(m.id)).map((t: MountTransitionEntity) => ({ state: t.toState, fromState: t.fromState, at: t.at, reason: t.reason }));
  }

  @ResolveField(() => MountSpecModel, {
    description: 'Mount command and options sized to the lightpath’s bandwidth-delay product, exports, id mapping, firewall, Kubernetes PV/PVC.',
  })
  async mountSpec(@Parent() m: MountEntity, @CurrentPrincipal() p: Principal): Promise<MountSpecModel> {
    const reservation = await this.reservations.get(p, m.reservationId);
    const dataset = await this.resources.dataset(SYSTEM_READER, m.datasetId);
    const [office] = await this.resources.storageSystems([dataset.storageSystemId]);
    const node = m.storageNodeId ? (await this.resources.storageSystems([m.storageNodeId]))[0] : null;
    const nodes = await this.resources.nodesOfAllocation(m.gpuAllocationId);
    try {
      return renderMountSpec({
        mountId: m.id,
        design: m.design,
        protocol: m.protocol,
        protection: { inMotion: m.protectionInMotion as MountProtectionInput['inMotion'], atRest: m.protectionAtRest as MountProtectionInput['atRest'] },
        office: { host: office.host, exportPath: dataset.exportPath },
        dataCenterNode: node ? { name: node.code, address: node.host, exportPath: dcExportPath(dataset, m.id) } : undefined,
        dataset: { id: dataset.id, name: dataset.name, bytes: dataset.bytes, readOnly: true },
        nodes: nodes.map((n) => ({ name: n.name, address: n.address })),
        lightpath: {
          rateGbps: reservation.rateGbps,
          rttMs: (2 * reservation.distanceKm * FIBER_LATENCY_US_PER_KM) / 1000,
          distanceKm: reservation.distanceKm,
        },
        idmapDomain: office.idmapDomain,
      }) as MountSpecModel;
    } catch (error) {
      if (error instanceof MountSpecError) {
        throw new AppError(ErrorCode.BAD_USER_INPUT, `This mount cannot be rendered: ${error.message}`, { field: error.field });
      }
      throw error;
    }
  }
}

/** Nested objects of a mount the caller could already see are read without a second visibility check. */
const SYSTEM_READER: Principal = { role: Role.OPERATOR, tenantId: null, keyId: null, actor: 'system' };
