import type { MountSpec } from './mount-spec';
import type { AttestationClaim, AttestationSubjectKind } from '../protection/attestation';
import type { AttestationEntity, ProtectionMinimumEntity } from '../protection/protection.entities';
import type { AtRestProtection, InMotionProtection, ProtectionProfile } from '../protection/profile';
import type {
  DatasetEntity,
  GpuAllocationEntity,
  GpuClusterEntity,
  GpuNodeEntity,
  MountEntity,
  MountTransitionEntity,
  StorageSystemEntity,
  Sensitivity,
} from './storage.entities';
import {
  type ProtectionMinimumModel,
  type ProtectionProfileModel,
  type MountSpecModel,
  Attestation,
  Dataset,
  GpuAllocation,
  GpuCluster,
  GpuNode,
  Mount,
  MountTransition,
  StorageSystem,
} from './storage.models';

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

/** A page of entities as a Relay connection, each edge's cursor naming its row's place in the list's order. */
export function toConnection<E, T>(
  page: { rows: E[]; hasNextPage: boolean },
  cursorOf: (row: E) => string,
  toNode: (row: E) => T,
): { edges: Array<{ cursor: string; node: T }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } {
  const edges = page.rows.map((row) => ({ cursor: cursorOf(row), node: toNode(row) }));
  return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
}

/** A protection minimum as the schema shows it. */
export function toProtectionMinimum(row: ProtectionMinimumEntity): ProtectionMinimumModel {
  return {
    sensitivity: row.sensitivity as Sensitivity,
    inMotionAnyOf: row.inMotionAnyOf as InMotionProtection[],
    atRest: row.atRest as AtRestProtection,
    updatedAt: row.updatedAt,
  };
}

/** The rendered specification has the model's shape field for field. */
export function toMountSpecModel(spec: MountSpec): MountSpecModel {
  return spec as MountSpecModel;
}

export function toProtectionProfile(profile: ProtectionProfile): ProtectionProfileModel {
  return { inMotion: [...profile.inMotion], atRest: profile.atRest };
}
