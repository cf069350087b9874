import { Args, Context, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { ReservationQueries } from '../reservations/reservation-queries.service';
import { Reservation, TenantRef } from '../reservations/reservation.models';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { Site } from '../topology/topology.models';
import { TopologyService } from '../topology/topology.service';
import { DatasetCustodyReport } from './dataset-custody.service';
import type { MountSpec } from './mount-spec';
import { MountSpecs } from './mount-specs.service';
import { MountsService } from './mounts.service';
import { StorageResources } from './storage-resources.service';
import { type LoaderContext, StorageLoaders } from './storage.loaders';
import { toDataset, toGpuAllocation, toGpuCluster, toMount, toStorageSystem } from './storage.mappers';
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

/** A relation every row has (a foreign key): its absence is a broken invariant, not a NOT_FOUND. */
function present<T>(value: T | null, what: string): T {
  if (value === null) throw new Error(`${what} is missing`);
  return value;
}

@Resolver()
export class StorageResolver {
  constructor(
    private readonly resources: StorageResources,
    private readonly mountsService: MountsService,
    private readonly custody: DatasetCustodyReport,
  ) {}

  @Mutation(() => StorageSystem, { description: 'Registers an NFS server: an office server, or a replica or cache node at a data center.' })
  @Roles(Role.OPERATOR)
  async createStorageSystem(@Args('input') input: CreateStorageSystemInput, @CurrentPrincipal() p: Principal): Promise<StorageSystem> {
    return toStorageSystem(await this.resources.createStorageSystem(p, input));
  }

  @Mutation(() => Dataset, { description: 'Registers a tenant’s dataset: an export of its office NFS server.' })
  @Roles(Role.OPERATOR)
  async createDataset(@Args('input') input: CreateDatasetInput, @CurrentPrincipal() p: Principal): Promise<Dataset> {
    return toDataset(await this.resources.createDataset(p, input));
  }

  @Mutation(() => GpuCluster, { description: 'Registers GPU servers at a data-center site.' })
  @Roles(Role.OPERATOR)
  async createGpuCluster(@Args('input') input: CreateGpuClusterInput, @CurrentPrincipal() p: Principal): Promise<GpuCluster> {
    return toGpuCluster(await this.resources.createGpuCluster(p, input));
  }

  @Mutation(() => GpuAllocation, { description: 'Holds free GPU nodes for a tenant over a window (NO_CAPACITY if too few are free).' })
  @Roles(Role.OPERATOR)
  async allocateGpus(@Args('input') input: AllocateGpusInput, @CurrentPrincipal() p: Principal): Promise<GpuAllocation> {
    return toGpuAllocation(await this.resources.allocateGpus(p, input));
  }

  @Mutation(() => GpuAllocation, { description: 'Gives an allocation’s nodes back (refused while mounts use it).' })
  @Roles(Role.OPERATOR)
  async releaseGpuAllocation(@Args('id', { type: () => ID }) id: string, @CurrentPrincipal() p: Principal): Promise<GpuAllocation> {
    return toGpuAllocation(await this.resources.releaseGpuAllocation(p, id));
  }

  @Mutation(() => Mount, {
    description:
      'Attaches a dataset to a GPU allocation over a lightpath. It attaches once the lightpath is ACTIVE; CONFIDENTIAL datasets allow DIRECT only.',
  })
  @Roles(Role.OPERATOR, Role.TENANT)
  async attachStorage(@Args('input') input: AttachStorageInput, @CurrentPrincipal() p: Principal): Promise<Mount> {
    return toMount(await this.mountsService.attach(p, input));
  }

  @Mutation(() => Mount, { description: 'Detaches a mount; a replica or cache copy is purged and the purge attested in the audit log.' })
  @Roles(Role.OPERATOR, Role.TENANT)
  async detachStorage(@Args('id', { type: () => ID }) id: string, @CurrentPrincipal() p: Principal): Promise<Mount> {
    return toMount(await this.mountsService.detach(p, id));
  }

  @Query(() => [StorageSystem], { description: 'Every NFS storage system (operators).' })
  @Roles(Role.OPERATOR)
  async storageSystems(): Promise<StorageSystem[]> {
    return (await this.resources.storageSystems()).map(toStorageSystem);
  }

  @Query(() => [Dataset], { description: 'Your datasets; operators see all, or one tenant’s.' })
  @Roles(Role.OPERATOR, Role.TENANT)
  async datasets(
    @CurrentPrincipal() p: Principal,
    @Args('tenantId', { type: () => ID, nullable: true }) tenantId?: string,
  ): Promise<Dataset[]> {
    return (await this.resources.datasets(p, tenantId)).map(toDataset);
  }

  @Query(() => Dataset, { description: 'A dataset of yours (NOT_FOUND otherwise).' })
  @Roles(Role.OPERATOR, Role.TENANT)
  async dataset(@Args('id', { type: () => ID }) id: string, @CurrentPrincipal() p: Principal): Promise<Dataset> {
    return toDataset(await this.resources.dataset(p, id));
  }

  @Query(() => [GpuCluster], { description: 'GPU clusters at data-center sites.' })
  @Roles(Role.OPERATOR, Role.TENANT)
  async gpuClusters(): Promise<GpuCluster[]> {
    return (await this.resources.gpuClusters()).map(toGpuCluster);
  }

  @Query(() => [GpuAllocation], { description: 'Your GPU allocations; operators see all, or one tenant’s.' })
  @Roles(Role.OPERATOR, Role.TENANT)
  async gpuAllocations(
    @CurrentPrincipal() p: Principal,
    @Args('tenantId', { type: () => ID, nullable: true }) tenantId?: string,
  ): Promise<GpuAllocation[]> {
    return (await this.resources.gpuAllocations(p, tenantId)).map(toGpuAllocation);
  }

  @Query(() => [Mount], { description: 'Your mounts, oldest first, optionally of one reservation or dataset.' })
  @Roles(Role.OPERATOR, Role.TENANT)
  async mounts(
    @CurrentPrincipal() p: Principal,
    @Args('reservationId', { type: () => ID, nullable: true }) reservationId?: string,
    @Args('datasetId', { type: () => ID, nullable: true }) datasetId?: string,
    @Args('tenantId', { type: () => ID, nullable: true }) tenantId?: string,
  ): Promise<Mount[]> {
    return (await this.mountsService.mounts(p, { reservationId, datasetId, tenantId })).map(toMount);
  }

  @Query(() => Mount, { description: 'A mount of yours (NOT_FOUND otherwise).' })
  @Roles(Role.OPERATOR, Role.TENANT)
  async mount(@Args('id', { type: () => ID }) id: string, @CurrentPrincipal() p: Principal): Promise<Mount> {
    return toMount(await this.mountsService.mount(p, id));
  }

  @Query(() => DatasetCustody, {
    description: 'Every place the dataset’s bytes have been outside the office, and whether each copy was purged.',
  })
  @Roles(Role.OPERATOR, Role.TENANT)
  datasetCustody(@Args('datasetId', { type: () => ID }) datasetId: string, @CurrentPrincipal() p: Principal): Promise<DatasetCustody> {
    return this.custody.of(p, datasetId);
  }
}

@Resolver(() => StorageSystem)
export class StorageSystemResolver {
  constructor(private readonly topology: TopologyService) {}

  @ResolveField(() => Site)
  site(@Parent() s: StorageSystem): Promise<Site> {
    return siteOf(this.topology, s.siteId);
  }
}

@Resolver(() => Dataset)
export class DatasetResolver {
  constructor(private readonly loaders: StorageLoaders) {}

  @ResolveField(() => TenantRef)
  tenant(@Parent() d: Dataset): TenantRef {
    return { id: d.tenantId };
  }

  @ResolveField(() => StorageSystem)
  async storageSystem(@Parent() d: Dataset, @Context() ctx: LoaderContext): Promise<StorageSystem> {
    return present(await this.loaders.storageSystems(ctx).load(d.storageSystemId), `storage system ${d.storageSystemId}`);
  }
}

@Resolver(() => GpuCluster)
export class GpuClusterResolver {
  constructor(
    private readonly loaders: StorageLoaders,
    private readonly topology: TopologyService,
  ) {}

  @ResolveField(() => Site)
  site(@Parent() c: GpuCluster): Promise<Site> {
    return siteOf(this.topology, c.siteId);
  }

  @ResolveField(() => [GpuNode])
  nodes(@Parent() c: GpuCluster, @Context() ctx: LoaderContext): Promise<GpuNode[]> {
    return this.loaders.nodesOfClusters(ctx).load(c.id);
  }
}

@Resolver(() => GpuAllocation)
export class GpuAllocationResolver {
  constructor(private readonly loaders: StorageLoaders) {}

  @ResolveField(() => TenantRef)
  tenant(@Parent() a: GpuAllocation): TenantRef {
    return { id: a.tenantId };
  }

  @ResolveField(() => GpuCluster)
  async cluster(@Parent() a: GpuAllocation, @Context() ctx: LoaderContext): Promise<GpuCluster> {
    return present(await this.loaders.gpuClusters(ctx).load(a.clusterId), `GPU cluster ${a.clusterId}`);
  }

  @ResolveField(() => [GpuNode])
  nodes(@Parent() a: GpuAllocation, @Context() ctx: LoaderContext): Promise<GpuNode[]> {
    return this.loaders.nodesOfAllocations(ctx).load(a.id);
  }
}

@Resolver(() => Mount)
export class MountResolver {
  constructor(
    private readonly loaders: StorageLoaders,
    private readonly mounts: MountsService,
    private readonly specs: MountSpecs,
    private readonly reservations: ReservationQueries,
  ) {}

  @ResolveField(() => Dataset)
  async dataset(@Parent() m: Mount, @Context() ctx: LoaderContext): Promise<Dataset> {
    return present(await this.loaders.datasets(ctx).load(m.datasetId), `dataset ${m.datasetId}`);
  }

  @ResolveField(() => GpuAllocation)
  async gpuAllocation(@Parent() m: Mount, @Context() ctx: LoaderContext): Promise<GpuAllocation> {
    return present(await this.loaders.gpuAllocations(ctx).load(m.gpuAllocationId), `GPU allocation ${m.gpuAllocationId}`);
  }

  @ResolveField(() => StorageSystem, { nullable: true })
  async storageNode(@Parent() m: Mount, @Context() ctx: LoaderContext): Promise<StorageSystem | null> {
    return m.storageNodeId ? this.loaders.storageSystems(ctx).load(m.storageNodeId) : null;
  }

  @ResolveField(() => Reservation, { description: 'The lightpath the mount runs over.' })
  async reservation(@Parent() m: Mount, @CurrentPrincipal() p: Principal): Promise<Reservation> {
    return this.reservations.toModel(await this.reservations.get(p, m.reservationId));
  }

  @ResolveField(() => MountProgress, { nullable: true })
  async progress(@Parent() m: Mount): Promise<MountProgress | null> {
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
  history(@Parent() m: Mount, @Context() ctx: LoaderContext): Promise<MountTransition[]> {
    return this.loaders.mountHistories(ctx).load(m.id);
  }

  @ResolveField(() => MountSpecModel, {
    description:
      'Mount command and options sized to the lightpath’s bandwidth-delay product, exports, id mapping, firewall, Kubernetes PV/PVC.',
  })
  async mountSpec(@Parent() m: Mount, @CurrentPrincipal() p: Principal): Promise<MountSpecModel> {
    return toMountSpecModel(await this.specs.render(p, m));
  }
}

/** The rendered specification has the model's shape field for field. */
function toMountSpecModel(spec: MountSpec): MountSpecModel {
  return spec as MountSpecModel;
}
