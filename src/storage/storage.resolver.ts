import { Args, Context, ID, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { encodeCursor, pageSize } from '../core/graphql/pagination';
import { Reservation, TenantRef } from '../reservations/reservation.models';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { Site } from '../topology/topology.models';
import { DatasetCustodyReport } from './dataset-custody.service';
import { MountSpecs } from './mount-specs.service';
import { MountsService } from './mounts.service';
import { StorageResources } from './storage-resources.service';
import { type LoaderContext, StorageLoaders } from './storage.loaders';
import { toConnection, toDataset, toGpuAllocation, toGpuCluster, toMount, toMountSpecModel, toStorageSystem } from './storage.mappers';
import {
  AllocateGpusInput,
  AttachStorageInput,
  CreateDatasetInput,
  CreateGpuClusterInput,
  CreateStorageSystemInput,
  Dataset,
  DatasetConnection,
  DatasetCustody,
  GpuAllocation,
  GpuAllocationConnection,
  GpuCluster,
  GpuNode,
  Mount,
  MountConnection,
  MountProgress,
  MountSpecModel,
  MountTransition,
  StorageSystem,
} from './storage.models';

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

  @Query(() => [StorageSystem], {
    description:
      'Every NFS storage system (operators). A plain list: the operator registers each server, so it stays as small as the equipment.',
  })
  @Roles(Role.OPERATOR)
  async storageSystems(): Promise<StorageSystem[]> {
    return (await this.resources.storageSystems()).map(toStorageSystem);
  }

  @Query(() => DatasetConnection, { description: 'Your datasets, newest first; operators see all, or one tenant’s.' })
  @Roles(Role.OPERATOR, Role.TENANT)
  async datasets(
    @CurrentPrincipal() p: Principal,
    @Args('tenantId', { type: () => ID, nullable: true }) tenantId?: string,
    @Args('first', { type: () => Int, nullable: true }) first?: number,
    @Args('after', { type: () => String, nullable: true }) after?: string,
  ): Promise<DatasetConnection> {
    const page = await this.resources.datasets(p, { first: pageSize(first), after, tenantId });
    return toConnection(page, (d) => encodeCursor(d.createdAt, d.id), toDataset);
  }

  @Query(() => Dataset, { description: 'A dataset of yours (NOT_FOUND otherwise).' })
  @Roles(Role.OPERATOR, Role.TENANT)
  async dataset(@Args('id', { type: () => ID }) id: string, @CurrentPrincipal() p: Principal): Promise<Dataset> {
    return toDataset(await this.resources.dataset(p, id));
  }

  @Query(() => [GpuCluster], {
    description:
      'GPU clusters at data-center sites. A plain list: operators register each cluster of servers, so it stays as small as the equipment.',
  })
  @Roles(Role.OPERATOR, Role.TENANT)
  async gpuClusters(): Promise<GpuCluster[]> {
    return (await this.resources.gpuClusters()).map(toGpuCluster);
  }

  @Query(() => GpuAllocationConnection, { description: 'Your GPU allocations, by start; operators see all, or one tenant’s.' })
  @Roles(Role.OPERATOR, Role.TENANT)
  async gpuAllocations(
    @CurrentPrincipal() p: Principal,
    @Args('tenantId', { type: () => ID, nullable: true }) tenantId?: string,
    @Args('first', { type: () => Int, nullable: true }) first?: number,
    @Args('after', { type: () => String, nullable: true }) after?: string,
  ): Promise<GpuAllocationConnection> {
    const page = await this.resources.gpuAllocations(p, { first: pageSize(first), after, tenantId });
    return toConnection(page, (a) => encodeCursor(a.startAt, a.id), toGpuAllocation);
  }

  @Query(() => MountConnection, { description: 'Your mounts, oldest first, optionally of one reservation or dataset.' })
  @Roles(Role.OPERATOR, Role.TENANT)
  async mounts(
    @CurrentPrincipal() p: Principal,
    @Args('reservationId', { type: () => ID, nullable: true }) reservationId?: string,
    @Args('datasetId', { type: () => ID, nullable: true }) datasetId?: string,
    @Args('tenantId', { type: () => ID, nullable: true }) tenantId?: string,
    @Args('first', { type: () => Int, nullable: true }) first?: number,
    @Args('after', { type: () => String, nullable: true }) after?: string,
  ): Promise<MountConnection> {
    const page = await this.mountsService.mounts(p, { first: pageSize(first), after, reservationId, datasetId, tenantId });
    return toConnection(page, (m) => encodeCursor(m.createdAt, m.id), toMount);
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
  constructor(private readonly loaders: StorageLoaders) {}

  @ResolveField(() => Site)
  site(@Parent() s: StorageSystem): Promise<Site> {
    return this.loaders.site(s.siteId);
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
  constructor(private readonly loaders: StorageLoaders) {}

  @ResolveField(() => Site)
  site(@Parent() c: GpuCluster): Promise<Site> {
    return this.loaders.site(c.siteId);
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
  reservation(@Parent() m: Mount, @CurrentPrincipal() p: Principal, @Context() ctx: LoaderContext): Promise<Reservation> {
    return this.loaders.reservation(ctx, p, m.reservationId);
  }

  @ResolveField(() => MountProgress, { nullable: true })
  progress(@Parent() m: Mount): Promise<MountProgress | null> {
    return this.mounts.progress(m);
  }

  @ResolveField(() => [MountTransition])
  history(@Parent() m: Mount, @Context() ctx: LoaderContext): Promise<MountTransition[]> {
    return this.loaders.mountHistories(ctx).load(m.id);
  }

  @ResolveField(() => MountSpecModel, {
    description:
      'Mount command and options sized to the lightpath’s bandwidth-delay product, exports, id mapping, firewall, Kubernetes PV/PVC.',
  })
  async mountSpec(@Parent() m: Mount, @CurrentPrincipal() p: Principal, @Context() ctx: LoaderContext): Promise<MountSpecModel> {
    return toMountSpecModel(await this.specs.render(p, m, ctx));
  }
}
