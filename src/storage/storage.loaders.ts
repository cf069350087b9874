import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { MountsService } from './mounts.service';
import { StorageResources } from './storage-resources.service';
import { toDataset, toGpuAllocation, toGpuCluster, toGpuNode, toMount, toMountTransition, toStorageSystem } from './storage.mappers';
import type { Dataset, GpuAllocation, GpuCluster, GpuNode, Mount, MountTransition, StorageSystem } from './storage.models';

/** The GraphQL context's per-request loader cache, shared by every capability under distinct names. */
export interface LoaderContext {
  loaders?: Record<string, unknown>;
}

/**
 * Per-request DataLoaders for the storage objects that are resolved per item: a page of mounts loads its
 * datasets, allocations, nodes and histories in one query each. Reads by id carry no visibility check: they
 * serve relations of objects the caller was already allowed to see.
 */
@Injectable()
export class StorageLoaders {
  constructor(
    private readonly resources: StorageResources,
    private readonly mountsService: MountsService,
  ) {}

  storageSystems(ctx: LoaderContext): DataLoader<string, StorageSystem | null> {
    return this.loader(ctx, 'storage.storageSystems', async (ids) =>
      byId(ids, (await this.resources.storageSystems(ids)).map(toStorageSystem)),
    );
  }

  datasets(ctx: LoaderContext): DataLoader<string, Dataset | null> {
    return this.loader(ctx, 'storage.datasets', async (ids) => byId(ids, (await this.resources.datasetsByIds(ids)).map(toDataset)));
  }

  gpuClusters(ctx: LoaderContext): DataLoader<string, GpuCluster | null> {
    return this.loader(ctx, 'storage.gpuClusters', async (ids) => byId(ids, (await this.resources.gpuClusters(ids)).map(toGpuCluster)));
  }

  gpuAllocations(ctx: LoaderContext): DataLoader<string, GpuAllocation | null> {
    return this.loader(ctx, 'storage.gpuAllocations', async (ids) =>
      byId(ids, (await this.resources.gpuAllocationsByIds(ids)).map(toGpuAllocation)),
    );
  }

  mounts(ctx: LoaderContext): DataLoader<string, Mount | null> {
    return this.loader(ctx, 'storage.mounts', async (ids) => byId(ids, (await this.mountsService.mountsByIds(ids)).map(toMount)));
  }

  nodesOfClusters(ctx: LoaderContext): DataLoader<string, GpuNode[]> {
    return this.loader(ctx, 'storage.nodesOfClusters', async (ids) => listsOf(ids, await this.resources.nodesOfClusters(ids), toGpuNode));
  }

  nodesOfAllocations(ctx: LoaderContext): DataLoader<string, GpuNode[]> {
    return this.loader(ctx, 'storage.nodesOfAllocations', async (ids) =>
      listsOf(ids, await this.resources.nodesOfAllocations(ids), toGpuNode),
    );
  }

  mountHistories(ctx: LoaderContext): DataLoader<string, MountTransition[]> {
    return this.loader(ctx, 'storage.mountHistories', async (ids) =>
      listsOf(ids, await this.mountsService.histories(ids), toMountTransition),
    );
  }

  private loader<T>(ctx: LoaderContext, name: string, batch: (ids: readonly string[]) => Promise<T[]>): DataLoader<string, T> {
    const loaders = (ctx.loaders ??= {});
    return ((loaders[name] as DataLoader<string, T> | undefined) ??= new DataLoader<string, T>(batch));
  }
}

function byId<T extends { id: string }>(ids: readonly string[], found: readonly T[]): Array<T | null> {
  const map = new Map(found.map((x) => [x.id, x]));
  return ids.map((id) => map.get(id) ?? null);
}

function listsOf<R, T>(ids: readonly string[], grouped: Map<string, R[]>, map: (row: R) => T): T[][] {
  return ids.map((id) => (grouped.get(id) ?? []).map(map));
}
