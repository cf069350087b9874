import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { notFound } from '../core/errors/app-error';
import { canSee } from '../core/visibility';
import { ReservationQueries } from '../reservations/reservation-queries.service';
import type { ReservationEntity } from '../reservations/reservation.entities';
import type { Reservation } from '../reservations/reservation.models';
import type { Principal } from '../tenancy/principal';
import { Site } from '../topology/topology.models';
import { TopologyService } from '../topology/topology.service';
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
 * datasets, allocations, nodes, histories and lightpaths in one query each. Reads by id carry no visibility
 * check: they serve relations of objects the caller was already allowed to see. Lightpaths are the exception
 * (a reservation is only ever shown to whom may see it), so `reservation` checks each one it answers.
 */
@Injectable()
export class StorageLoaders {
  constructor(
    private readonly resources: StorageResources,
    private readonly mountsService: MountsService,
    private readonly reservationQueries: ReservationQueries,
    private readonly topology: TopologyService,
  ) {}

  /** The lightpath by id, as the caller may see it (NOT_FOUND otherwise); a page's lightpaths load in one query. */
  async reservation(ctx: LoaderContext, principal: Principal, id: string): Promise<Reservation> {
    return this.reservationQueries.toModel(await this.reservationRow(ctx, principal, id));
  }

  /** The lightpath's row, as `reservation` checks it. */
  async reservationRow(ctx: LoaderContext, principal: Principal, id: string): Promise<ReservationEntity> {
    const loader = this.loader(ctx, 'storage.reservations', async (ids): Promise<Array<ReservationEntity | null>> =>
      byId(ids, await this.reservationQueries.byIds(ids)),
    );
    const r = await loader.load(id);
    if (!r || !canSee(principal, r.tenantId)) throw notFound('Reservation', id);
    return r;
  }

  /** The site from the topology (a snapshot a second old will do, unless the site is newer than it). */
  async site(siteId: string): Promise<Site> {
    const site = (await this.topology.snapshot({ maxAgeMs: 1000 })).sites.get(siteId) ?? (await this.topology.snapshot()).sites.get(siteId);
    if (!site) throw new Error(`site ${siteId} is missing from the topology`);
    return Site.from(site);
  }

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
