import { Injectable } from '@nestjs/common';
import { AppError, ErrorCode } from '../core/errors/app-error';
import type { Principal } from '../tenancy/principal';
import { FIBER_LATENCY_US_PER_KM } from '../vocabulary/physics';
import { type MountProtectionInput, type MountSpec, MountSpecError, renderMountSpec } from './mount-spec';
import { dcExportPath } from './mounts.service';
import { type LoaderContext, StorageLoaders } from './storage.loaders';
import type { MountEntity } from './storage.entities';

/** What a mount's specification is rendered from. */
export type MountSpecSource = Pick<
  MountEntity,
  | 'id'
  | 'design'
  | 'protocol'
  | 'protectionInMotion'
  | 'protectionAtRest'
  | 'reservationId'
  | 'datasetId'
  | 'storageNodeId'
  | 'gpuAllocationId'
>;

/**
 * Renders a mount's specification (mount-spec.ts) from its lightpath, dataset, storage systems and GPU nodes,
 * read through the request's loaders: a page of mounts renders from one query per kind of object.
 */
@Injectable()
export class MountSpecs {
  constructor(private readonly loaders: StorageLoaders) {}

  /** The caller must be able to see the mount's lightpath; the rest belongs to the mount's own tenant. */
  async render(principal: Principal, m: MountSpecSource, ctx: LoaderContext): Promise<MountSpec> {
    const reservation = await this.loaders.reservationRow(ctx, principal, m.reservationId);
    const dataset = await this.loaders.datasets(ctx).load(m.datasetId);
    if (!dataset) throw new Error(`dataset ${m.datasetId} of mount ${m.id} is missing`);
    const office = await this.loaders.storageSystems(ctx).load(dataset.storageSystemId);
    if (!office) throw new Error(`storage system ${dataset.storageSystemId} of mount ${m.id} is missing`);
    const node = m.storageNodeId ? await this.loaders.storageSystems(ctx).load(m.storageNodeId) : null;
    const nodes = await this.loaders.nodesOfAllocations(ctx).load(m.gpuAllocationId);
    try {
      return renderMountSpec({
        mountId: m.id,
        design: m.design,
        protocol: m.protocol,
        protection: {
          inMotion: m.protectionInMotion as MountProtectionInput['inMotion'],
          atRest: m.protectionAtRest as MountProtectionInput['atRest'],
        },
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
      });
    } catch (error) {
      if (error instanceof MountSpecError) {
        throw new AppError(ErrorCode.BAD_USER_INPUT, `This mount cannot be rendered: ${error.message}`, { field: error.field });
      }
      throw error;
    }
  }
}
