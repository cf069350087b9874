import { Injectable } from '@nestjs/common';
import { AppError, ErrorCode } from '../core/errors/app-error';
import { ReservationQueries } from '../reservations/reservation-queries.service';
import type { Principal } from '../tenancy/principal';
import { FIBER_LATENCY_US_PER_KM } from '../vocabulary/physics';
import { type MountProtectionInput, type MountSpec, MountSpecError, renderMountSpec } from './mount-spec';
import { dcExportPath } from './mounts.service';
import { StorageResources } from './storage-resources.service';
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

/** Renders a mount's specification (mount-spec.ts) from its lightpath, dataset, storage systems and GPU nodes. */
@Injectable()
export class MountSpecs {
  constructor(
    private readonly resources: StorageResources,
    private readonly reservations: ReservationQueries,
  ) {}

  /** The caller must be able to see the mount's lightpath; the rest belongs to the mount's own tenant. */
  async render(principal: Principal, m: MountSpecSource): Promise<MountSpec> {
    const reservation = await this.reservations.get(principal, m.reservationId);
    const [dataset] = await this.resources.datasetsByIds([m.datasetId]);
    if (!dataset) throw new Error(`dataset ${m.datasetId} of mount ${m.id} is missing`);
    const [office] = await this.resources.storageSystems([dataset.storageSystemId]);
    const node = m.storageNodeId ? (await this.resources.storageSystems([m.storageNodeId]))[0] : null;
    const nodes = await this.resources.nodesOfAllocation(m.gpuAllocationId);
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
