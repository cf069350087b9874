import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { BigIntScalar } from '../core/graphql/scalars';
import { TenantRef } from '../reservations/reservation.models';
import { Site } from '../topology/topology.models';
import { CustodyKind, MountState, NfsProtocol, Sensitivity, StorageDesign, StorageKind } from './storage.entities';

registerEnumType(StorageKind, { name: 'StorageKind', description: 'What an NFS storage system is for.' });
registerEnumType(Sensitivity, {
  name: 'Sensitivity',
  description: 'CONFIDENTIAL data may never be copied to a data center (DIRECT mounts only).',
});
registerEnumType(StorageDesign, {
  name: 'StorageDesign',
  description: 'DIRECT: nodes mount the office export. REPLICATION: copied to a DC replica first. CACHE: a DC cache fronts the export.',
});
registerEnumType(NfsProtocol, { name: 'NfsProtocol', description: 'NFSv4.2 over TCP (port 2049) or over RDMA (port 20049).' });
registerEnumType(MountState, { name: 'MountState', description: 'Lifecycle state of a mount.' });
registerEnumType(CustodyKind, { name: 'CustodyKind', description: 'How a dataset’s bytes reached a data center.' });

@ObjectType({ description: 'An NFS server: an office server, or a replica or cache node at a data center.' })
export class StorageSystem {
  @Field(() => ID) id!: string;
  @Field() code!: string;
  @Field() name!: string;
  @Field(() => StorageKind) kind!: StorageKind;
  @Field(() => Site) site!: Site;
  @Field({ description: 'Address clients reach the NFS server at.' }) host!: string;
  @Field(() => BigIntScalar) capacityBytes!: bigint;
  @Field(() => Float) throughputGbps!: number;
  @Field(() => [String]) nfsVersions!: string[];
  @Field() rdma!: boolean;
  @Field({ description: 'NFSv4 id-mapping domain of its users and groups.' }) idmapDomain!: string;
}

@InputType()
export class CreateStorageSystemInput {
  @Field() code!: string;
  @Field() name!: string;
  @Field(() => StorageKind) kind!: StorageKind;
  @Field(() => ID) siteId!: string;
  @Field() host!: string;
  @Field(() => BigIntScalar) capacityBytes!: bigint;
  @Field(() => Float, { description: 'Sustained read throughput.' }) throughputGbps!: number;
  @Field(() => [String], { nullable: true, description: 'Default ["4.2"].' }) nfsVersions?: string[];
  @Field({ nullable: true, defaultValue: false }) rdma!: boolean;
  @Field({ nullable: true, description: 'Default "localdomain".' }) idmapDomain?: string;
}

@ObjectType({ description: 'A tenant’s training data: an export on its office NFS server.' })
export class Dataset {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => TenantRef) tenant!: TenantRef;
  @Field(() => StorageSystem) storageSystem!: StorageSystem;
  @Field() exportPath!: string;
  @Field(() => BigIntScalar) bytes!: bigint;
  @Field(() => BigIntScalar) fileCount!: bigint;
  @Field(() => Sensitivity) sensitivity!: Sensitivity;
  @Field() createdAt!: Date;
}

@InputType()
export class CreateDatasetInput {
  @Field(() => ID) tenantId!: string;
  @Field(() => ID, { description: 'The office NFS server (kind OFFICE_NFS) that exports it.' }) storageSystemId!: string;
  @Field() name!: string;
  @Field({ description: 'Absolute path of the export, e.g. /export/unet3d.' }) exportPath!: string;
  @Field(() => BigIntScalar) bytes!: bigint;
  @Field(() => BigIntScalar) fileCount!: bigint;
  @Field(() => Sensitivity) sensitivity!: Sensitivity;
}

@ObjectType({ description: 'A GPU server of a cluster.' })
export class GpuNode {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() address!: string;
  @Field(() => Int) gpus!: number;
  @Field(() => Float) ratedPowerKw!: number;
}

@ObjectType({ description: 'GPU servers at a data-center site.' })
export class GpuCluster {
  @Field(() => ID) id!: string;
  @Field() code!: string;
  @Field() name!: string;
  @Field(() => Site) site!: Site;
  @Field({ description: 'Whether the nodes do RDMA (RoCEv2), needed for NFS_RDMA.' }) rdma!: boolean;
  @Field(() => [GpuNode]) nodes!: GpuNode[];
}

@InputType()
export class GpuNodeInput {
  @Field() name!: string;
  @Field({ description: 'IPv4 or IPv6 address its NFS traffic comes from.' }) address!: string;
  @Field(() => Int) gpus!: number;
  @Field(() => Float) ratedPowerKw!: number;
}

@InputType()
export class CreateGpuClusterInput {
  @Field() code!: string;
  @Field() name!: string;
  @Field(() => ID, { description: 'A GREEN_DC or STANDARD_DC site.' }) siteId!: string;
  @Field({ nullable: true, defaultValue: false }) rdma!: boolean;
  @Field(() => [GpuNodeInput]) nodes!: GpuNodeInput[];
}

@ObjectType({ description: 'GPU nodes held by a tenant for a window; a node is never held twice at once.' })
export class GpuAllocation {
  @Field(() => ID) id!: string;
  @Field(() => TenantRef) tenant!: TenantRef;
  @Field(() => GpuCluster) cluster!: GpuCluster;
  @Field(() => [GpuNode]) nodes!: GpuNode[];
  @Field() start!: Date;
  @Field() end!: Date;
  @Field({ description: 'ALLOCATED or RELEASED.' }) state!: string;
}

@InputType()
export class AllocateGpusInput {
  @Field(() => ID) tenantId!: string;
  @Field(() => ID) clusterId!: string;
  @Field(() => Int, { description: 'How many nodes; free ones are picked.' }) nodeCount!: number;
  @Field() start!: Date;
  @Field() end!: Date;
}

@InputType()
export class AttachStorageInput {
  @Field(() => ID, { description: 'The lightpath: its source at the dataset’s site, its destination at the GPU cluster’s.' })
  reservationId!: string;
  @Field(() => ID) datasetId!: string;
  @Field(() => ID) gpuAllocationId!: string;
  @Field(() => StorageDesign) design!: StorageDesign;
  @Field(() => NfsProtocol, { nullable: true, defaultValue: NfsProtocol.NFS_TCP }) protocol!: NfsProtocol;
}

@ObjectType({ description: 'How far a replication (or a cache’s first fill) is.' })
export class MountProgress {
  @Field(() => BigIntScalar) bytesCopied!: bigint;
  @Field(() => BigIntScalar) bytesTotal!: bigint;
  @Field(() => Float) percent!: number;
  @Field(() => Float, { description: 'min(lightpath goodput, storage throughput).' }) rateGbps!: number;
  @Field(() => Float, { nullable: true, description: 'Seconds left at that rate; null once complete.' })
  etaSeconds!: number | null;
}

@ObjectType({ description: 'What the NFS tuning was sized to, and why.' })
export class NfsTuningModel {
  @Field(() => Float, { description: 'Bytes the path holds: rate × RTT.' }) bdpBytes!: number;
  @Field(() => Int) rsize!: number;
  @Field(() => Int) wsize!: number;
  @Field(() => Int, { description: 'Transport connections (nconnect over TCP).' }) connections!: number;
  @Field(() => Int) sessionSlots!: number;
  @Field(() => Float, { description: 'What the mount can keep in flight.' }) inFlightBytes!: number;
  @Field(() => Int) readAheadKb!: number;
  @Field() rule!: string;
}

@ObjectType({ description: 'One NFS hop: what the clients run and what the server they mount needs.' })
export class NfsHopModel {
  @Field({ description: 'LIGHTPATH or DATA_CENTER_LAN.' }) network!: string;
  @Field() server!: string;
  @Field() exportPath!: string;
  @Field() mountPoint!: string;
  @Field(() => Int) port!: number;
  @Field(() => [String]) options!: string[];
  @Field() optionString!: string;
  @Field() command!: string;
  @Field() readAheadCommand!: string;
  @Field(() => NfsTuningModel) tuning!: NfsTuningModel;
  @Field(() => String, { nullable: true }) clientSysctl!: string | null;
  @Field(() => String, { nullable: true }) clientModprobe!: string | null;
  @Field(() => String, { nullable: true }) serverSysctl!: string | null;
  @Field({ description: 'The server’s /etc/exports line, restricted to the clients’ addresses.' }) exportsLine!: string;
  @Field({ description: 'nftables ruleset for the server: the NFS port from the clients only.' }) nftables!: string;
}

@ObjectType({ description: 'Everything the GPU nodes (and the DC node, if any) need to mount the dataset.' })
export class MountSpecModel extends NfsHopModel {
  @Field() idmapDomain!: string;
  @Field({ description: '/etc/idmapd.conf section.' }) idmapdConf!: string;
  @Field() namespace!: string;
  @Field() persistentVolumeName!: string;
  @Field() persistentVolumeClaimName!: string;
  @Field({ description: 'Kubernetes PersistentVolume for the NFS CSI driver (nfs.csi.k8s.io), YAML.' })
  persistentVolumeYaml!: string;
  @Field({ description: 'Kubernetes PersistentVolumeClaim bound to it, YAML.' }) persistentVolumeClaimYaml!: string;
  @Field(() => NfsHopModel, { nullable: true, description: 'REPLICATION and CACHE: the DC node mounting the office export over the lightpath.' })
  upstream!: NfsHopModel | null;
}

@ObjectType({ description: 'One step of a mount’s life.' })
export class MountTransition {
  @Field(() => MountState) state!: MountState;
  @Field(() => MountState, { nullable: true }) fromState!: MountState | null;
  @Field() at!: Date;
  @Field() reason!: string;
}

@ObjectType({ description: 'A dataset attached to a GPU allocation over a lightpath.' })
export class Mount {
  @Field(() => ID) id!: string;
  @Field(() => MountState) state!: MountState;
  @Field(() => StorageDesign) design!: StorageDesign;
  @Field(() => NfsProtocol) protocol!: NfsProtocol;
  @Field(() => ID) reservationId!: string;
  @Field(() => Dataset) dataset!: Dataset;
  @Field(() => GpuAllocation) gpuAllocation!: GpuAllocation;
  @Field(() => StorageSystem, { nullable: true, description: 'The DC replica or cache node; null for DIRECT.' })
  storageNode!: StorageSystem | null;
  @Field(() => String, { nullable: true, description: 'Why it FAILED, or how it ended.' }) reason!: string | null;
  @Field(() => MountProgress, { nullable: true, description: 'REPLICATION and CACHE: the copy.' }) progress!: MountProgress | null;
  @Field() createdAt!: Date;
}

@ObjectType({ description: 'One place a dataset’s bytes have been outside the office.' })
export class CustodyRecord {
  @Field(() => CustodyKind) kind!: CustodyKind;
  @Field(() => ID) mountId!: string;
  @Field(() => StorageSystem, { description: 'The replica or cache node; for DIRECT_READ, the office server.' })
  location!: StorageSystem;
  @Field(() => [String], { description: 'GPU nodes that read the data.' }) gpuNodeAddresses!: string[];
  @Field() since!: Date;
  @Field({ description: 'Whether a copy was stored at the data center (false for DIRECT_READ).' }) copyMade!: boolean;
  @Field(() => BigIntScalar, { nullable: true, description: 'Bytes erased by the purge.' }) bytesPurged!: bigint | null;
  @Field(() => Date, { nullable: true }) purgedAt!: Date | null;
  @Field({ description: 'True when nothing of this record remains at the data center.' }) clean!: boolean;
}

@ObjectType({ description: 'Where a dataset’s bytes have been, and whether every copy was purged.' })
export class DatasetCustody {
  @Field(() => Dataset) dataset!: Dataset;
  @Field(() => StorageSystem, { description: 'Where the data lives.' }) origin!: StorageSystem;
  @Field(() => [CustodyRecord]) records!: CustodyRecord[];
  @Field(() => BigIntScalar, { description: 'Bytes the storage driver reports on data-center nodes now.' })
  bytesHeldOutsideOffice!: bigint;
  @Field({ description: 'True when no copy remains outside the office.' }) clean!: boolean;
}
