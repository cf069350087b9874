import type { AttestationClaim, AttestationSubjectKind } from '../protection/attestation';
import type { AttestationEntity } from '../protection/protection.entities';
import type {
  DatasetEntity,
  GpuAllocationEntity,
  GpuClusterEntity,
  GpuNodeEntity,
  MountEntity,
  MountTransitionEntity,
  StorageSystemEntity,
} from './storage.entities';
import { Attestation, Dataset, GpuAllocation, GpuCluster, GpuNode, Mount, MountTransition, StorageSystem } from './storage.models';

/**
 * Entities to GraphQL models. Relations (`site`, `tenant`, `storageSystem`, `cluster`, `nodes`, a mount's
 * dataset and allocation) are left to the field resolvers, which load them through DataLoaders from the keys
 * each model carries outside the schema.
 */

export function toStorageSystem(e: StorageSystemEntity): StorageSystem {
  return Object.assign(new StorageSystem(), {
    id: e.id,
    code: e.code,
    name: e.name,
    kind: e.kind,
    host: e.host,
    capacityBytes: BigInt(e.capacityBytes),
    throughputGbps: e.throughputGbps,
    nfsVersions: e.nfsVersions,
    rdma: e.rdma,
    idmapDomain: e.idmapDomain,
    siteId: e.siteId,
  });
}

export function toDataset(e: DatasetEntity): Dataset {
  return Object.assign(new Dataset(), {
    id: e.id,
    name: e.name,
    exportPath: e.exportPath,
    bytes: BigInt(e.bytes),
    fileCount: BigInt(e.fileCount),
    sensitivity: e.sensitivity,
    createdAt: e.createdAt,
    tenantId: e.tenantId,
    storageSystemId: e.storageSystemId,
  });
}

export function toGpuNode(
  e: Pick<GpuNodeEntity, 'id' | 'name' | 'address' | 'gpus' | 'ratedPowerKw'> & { attestationPublicKey?: string | null },
): GpuNode {
  return Object.assign(new GpuNode(), {
    id: e.id,
    name: e.name,
    address: e.address,
    gpus: e.gpus,
    ratedPowerKw: e.ratedPowerKw,
    attestationPublicKey: e.attestationPublicKey ?? null,
  });
}

export function toGpuCluster(e: GpuClusterEntity): GpuCluster {
  return Object.assign(new GpuCluster(), { id: e.id, code: e.code, name: e.name, rdma: e.rdma, siteId: e.siteId });
}

export function toGpuAllocation(e: GpuAllocationEntity): GpuAllocation {
  return Object.assign(new GpuAllocation(), {
    id: e.id,
    start: e.startAt,
    end: e.endAt,
    state: e.state,
    tenantId: e.tenantId,
    clusterId: e.clusterId,
  });
}

export function toMount(e: MountEntity): Mount {
  return Object.assign(new Mount(), {
    id: e.id,
    state: e.state,
    design: e.design,
    protocol: e.protocol,
    reservationId: e.reservationId,
    reason: e.reason,
    createdAt: e.createdAt,
    tenantId: e.tenantId,
    datasetId: e.datasetId,
    gpuAllocationId: e.gpuAllocationId,
    storageNodeId: e.storageNodeId,
    protectionInMotion: e.protectionInMotion,
    protectionAtRest: e.protectionAtRest,
    bytesTotal: e.bytesTotal,
    bytesCopied: e.bytesCopied,
    copyRateBps: e.copyRateBps,
  });
}

export function toMountTransition(t: MountTransitionEntity): MountTransition {
  return Object.assign(new MountTransition(), { state: t.toState, fromState: t.fromState, at: t.at, reason: t.reason });
}

export function attestationModel(a: AttestationEntity): Attestation {
  return {
    id: a.id,
    mountId: a.mountId,
    subjectKind: a.subjectKind as AttestationSubjectKind,
    subjectId: a.subjectId,
    claim: a.claim as AttestationClaim,
    attestedAt: a.attestedAt,
    receivedAt: a.receivedAt,
    valid: a.valid,
    refusal: a.refusal,
    via: a.via,
    payload: a.payload,
  };
}
