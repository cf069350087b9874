import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Exclusion,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  Unique,
  UpdateDateColumn,
} from 'typeorm';
import { TenantEntity } from '../tenancy/tenancy.entities';
import { SiteEntity } from '../topology/topology.entities';
import { ReservationEntity } from '../reservations/reservation.entities';
import { StorageDesign } from '../vocabulary/domain';
import { MountState } from './mount-state';

export enum StorageKind {
  /** The enterprise's NFS server in its office: where the data lives. */
  OFFICE_NFS = 'OFFICE_NFS',
  /** A node at a data center that holds a full copy of a dataset (REPLICATION). */
  DC_REPLICA = 'DC_REPLICA',
  /** A node at a data center that caches what is read from the office export (CACHE). */
  DC_CACHE = 'DC_CACHE',
}

export enum Sensitivity {
  /** May never be copied to a data center: DIRECT mounts only. */
  CONFIDENTIAL = 'CONFIDENTIAL',
  INTERNAL = 'INTERNAL',
}

export enum NfsProtocol {
  NFS_TCP = 'NFS_TCP',
  NFS_RDMA = 'NFS_RDMA',
}

/** Where a dataset's bytes have been: the custody record behind `datasetCustody`. */
export enum CustodyKind {
  /** Read over the lightpath from the office export; nothing was stored at the data center. */
  DIRECT_READ = 'DIRECT_READ',
  REPLICA = 'REPLICA',
  CACHE = 'CACHE',
}

/** bigint columns come back from the driver as strings; byte counts stay exact that way. */
const bigintAsString = { type: 'bigint' as const };

@Entity({ name: 'storage_systems' })
@Unique('storage_systems_code_key', ['code'])
@Check('storage_systems_kind_check', `"kind" IN ('OFFICE_NFS', 'DC_REPLICA', 'DC_CACHE')`)
@Check('storage_systems_capacity_check', `"capacity_bytes" > 0`)
@Check('storage_systems_throughput_check', `"throughput_gbps" > 0`)
export class StorageSystemEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'storage_systems_pkey' })
  id!: string;

  @Column({ type: 'text' })
  code!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  kind!: StorageKind;

  @Column({ name: 'site_id', type: 'uuid' })
  siteId!: string;

  @ManyToOne(() => SiteEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'site_id', foreignKeyConstraintName: 'storage_systems_site_id_fkey' })
  site?: SiteEntity;

  /** Address the GPU nodes (or the cache) reach the NFS server at. */
  @Column({ type: 'text' })
  host!: string;

  @Column({ name: 'capacity_bytes', ...bigintAsString })
  capacityBytes!: string;

  @Column({ name: 'throughput_gbps', type: 'double precision' })
  throughputGbps!: number;

  @Column({ name: 'nfs_versions', type: 'text', array: true })
  nfsVersions!: string[];

  @Column({ type: 'boolean' })
  rdma!: boolean;

  /** NFSv4 id-mapping domain the server's users and groups belong to. */
  @Column({ name: 'idmap_domain', type: 'text' })
  idmapDomain!: string;

  /** Ed25519 public key (SPKI PEM) the system signs its deletion attestations with; null until enrolled. */
  @Column({ name: 'attestation_public_key', type: 'text', nullable: true })
  attestationPublicKey!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

@Entity({ name: 'datasets' })
@Unique('datasets_export_key', ['storageSystemId', 'exportPath'])
@Index('datasets_tenant_idx', ['tenantId'])
@Check('datasets_sensitivity_check', `"sensitivity" IN ('CONFIDENTIAL', 'INTERNAL')`)
@Check('datasets_bytes_check', `"bytes" > 0 AND "file_count" > 0`)
export class DatasetEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'datasets_pkey' })
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'datasets_tenant_id_fkey' })
  tenant?: TenantEntity;

  @Column({ name: 'storage_system_id', type: 'uuid' })
  storageSystemId!: string;

  @ManyToOne(() => StorageSystemEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'storage_system_id', foreignKeyConstraintName: 'datasets_storage_system_id_fkey' })
  storageSystem?: StorageSystemEntity;

  @Column({ type: 'text' })
  name!: string;

  @Column({ name: 'export_path', type: 'text' })
  exportPath!: string;

  @Column(bigintAsString)
  bytes!: string;

  @Column({ name: 'file_count', ...bigintAsString })
  fileCount!: string;

  @Column({ type: 'text' })
  sensitivity!: Sensitivity;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

@Entity({ name: 'gpu_clusters' })
@Unique('gpu_clusters_code_key', ['code'])
export class GpuClusterEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'gpu_clusters_pkey' })
  id!: string;

  @Column({ type: 'text' })
  code!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ name: 'site_id', type: 'uuid' })
  siteId!: string;

  @ManyToOne(() => SiteEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'site_id', foreignKeyConstraintName: 'gpu_clusters_site_id_fkey' })
  site?: SiteEntity;

  /** Whether the nodes' NICs do RDMA (RoCEv2), needed for NFS over RDMA. */
  @Column({ type: 'boolean' })
  rdma!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

@Entity({ name: 'gpu_nodes' })
@Unique('gpu_nodes_name_key', ['clusterId', 'name'])
@Unique('gpu_nodes_address_key', ['address'])
@Check('gpu_nodes_gpus_check', `"gpus" > 0`)
@Check('gpu_nodes_power_check', `"rated_power_kw" > 0`)
export class GpuNodeEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'gpu_nodes_pkey' })
  id!: string;

  @Column({ name: 'cluster_id', type: 'uuid' })
  clusterId!: string;

  @ManyToOne(() => GpuClusterEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'cluster_id', foreignKeyConstraintName: 'gpu_nodes_cluster_id_fkey' })
  cluster?: GpuClusterEntity;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  address!: string;

  @Column({ type: 'integer' })
  gpus!: number;

  @Column({ name: 'rated_power_kw', type: 'double precision' })
  ratedPowerKw!: number;

  /** Ed25519 public key (SPKI PEM) the node's agent signs its wipe attestations with; null until enrolled. */
  @Column({ name: 'attestation_public_key', type: 'text', nullable: true })
  attestationPublicKey!: string | null;
}

@Entity({ name: 'gpu_allocations' })
@Index('gpu_allocations_tenant_idx', ['tenantId'])
@Check('gpu_allocations_window_check', `"end_at" > "start_at"`)
@Check('gpu_allocations_state_check', `"state" IN ('ALLOCATED', 'RELEASED')`)
export class GpuAllocationEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'gpu_allocations_pkey' })
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'gpu_allocations_tenant_id_fkey' })
  tenant?: TenantEntity;

  @Column({ name: 'cluster_id', type: 'uuid' })
  clusterId!: string;

  @ManyToOne(() => GpuClusterEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'cluster_id', foreignKeyConstraintName: 'gpu_allocations_cluster_id_fkey' })
  cluster?: GpuClusterEntity;

  @Column({ name: 'start_at', type: 'timestamptz' })
  startAt!: Date;

  @Column({ name: 'end_at', type: 'timestamptz' })
  endAt!: Date;

  @Column({ type: 'text' })
  state!: 'ALLOCATED' | 'RELEASED';

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

/** A node held by an allocation over a half-open window; the exclusion constraint forbids overlaps. */
@Entity({ name: 'gpu_node_allocations' })
@Exclusion('gpu_node_allocations_no_overlap', 'USING gist ("node_id" WITH =, "during" WITH &&)')
@Check('gpu_node_allocations_during_check', `NOT isempty("during") AND lower_inc("during") AND NOT upper_inc("during")`)
@Index('gpu_node_allocations_allocation_idx', ['allocationId'])
export class GpuNodeAllocationEntity {
  @PrimaryGeneratedColumn('identity', {
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    primaryKeyConstraintName: 'gpu_node_allocations_pkey',
  })
  id!: string;

  @Column({ name: 'allocation_id', type: 'uuid' })
  allocationId!: string;

  @ManyToOne(() => GpuAllocationEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'allocation_id', foreignKeyConstraintName: 'gpu_node_allocations_allocation_id_fkey' })
  allocation?: GpuAllocationEntity;

  @Column({ name: 'node_id', type: 'uuid' })
  nodeId!: string;

  @ManyToOne(() => GpuNodeEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'node_id', foreignKeyConstraintName: 'gpu_node_allocations_node_id_fkey' })
  node?: GpuNodeEntity;

  @Column({ type: 'tstzrange' })
  during!: string;
}

@Entity({ name: 'mounts' })
@Index('mounts_reservation_idx', ['reservationId'])
@Index('mounts_dataset_idx', ['datasetId'])
@Index('mounts_tenant_idx', ['tenantId'])
@Check('mounts_design_check', `"design" IN ('DIRECT', 'REPLICATION', 'CACHE')`)
@Check('mounts_protocol_check', `"protocol" IN ('NFS_TCP', 'NFS_RDMA')`)
@Check('mounts_state_check', `"state" IN ('PENDING', 'REPLICATING', 'WARMING', 'ATTACHED', 'DETACHING', 'DETACHED', 'FAILED')`)
@Check('mounts_copy_node_check', `("design" = 'DIRECT') = ("storage_node_id" IS NULL)`)
@Check('mounts_bytes_check', `"bytes_copied" >= 0 AND "bytes_copied" <= "bytes_total"`)
@Check(
  'mounts_protection_check',
  `cardinality("protection_in_motion") >= 1 AND "protection_in_motion" <@ ARRAY['NONE', 'NFS_KRB5P', 'NFS_TLS', 'LINK_ENCRYPTION']::text[] AND (NOT 'NONE' = ANY ("protection_in_motion") OR cardinality("protection_in_motion") = 1) AND "protection_at_rest" IN ('NONE', 'ENCRYPTED') AND ("protection_at_rest" = 'NONE' OR "design" <> 'DIRECT')`,
)
export class MountEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'mounts_pkey' })
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'mounts_tenant_id_fkey' })
  tenant?: TenantEntity;

  @Column({ name: 'reservation_id', type: 'uuid' })
  reservationId!: string;

  @ManyToOne(() => ReservationEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'reservation_id', foreignKeyConstraintName: 'mounts_reservation_id_fkey' })
  reservation?: ReservationEntity;

  @Column({ name: 'dataset_id', type: 'uuid' })
  datasetId!: string;

  @ManyToOne(() => DatasetEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'dataset_id', foreignKeyConstraintName: 'mounts_dataset_id_fkey' })
  dataset?: DatasetEntity;

  @Column({ name: 'gpu_allocation_id', type: 'uuid' })
  gpuAllocationId!: string;

  @ManyToOne(() => GpuAllocationEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'gpu_allocation_id', foreignKeyConstraintName: 'mounts_gpu_allocation_id_fkey' })
  gpuAllocation?: GpuAllocationEntity;

  @Column({ type: 'text' })
  design!: StorageDesign;

  @Column({ type: 'text' })
  protocol!: NfsProtocol;

  /** In-motion protection measures (see src/protection/profile.ts); {NONE} when nothing protects the path. */
  @Column({ name: 'protection_in_motion', type: 'text', array: true, default: () => `'{NONE}'` })
  protectionInMotion!: string[];

  /** At rest in the data center: NONE or ENCRYPTED (REPLICATION and CACHE only). */
  @Column({ name: 'protection_at_rest', type: 'text', default: 'NONE' })
  protectionAtRest!: string;

  @Column({ type: 'text' })
  state!: MountState;

  /** The replica or cache node at the data center; null for DIRECT. */
  @Column({ name: 'storage_node_id', type: 'uuid', nullable: true })
  storageNodeId!: string | null;

  @ManyToOne(() => StorageSystemEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'storage_node_id', foreignKeyConstraintName: 'mounts_storage_node_id_fkey' })
  storageNode?: StorageSystemEntity;

  @Column({ name: 'bytes_total', ...bigintAsString })
  bytesTotal!: string;

  @Column({ name: 'bytes_copied', ...bigintAsString, default: 0 })
  bytesCopied!: string;

  /** Copy rate: min(lightpath goodput, storage throughput), bytes per second. */
  @Column({ name: 'copy_rate_bps', type: 'double precision' })
  copyRateBps!: number;

  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

@Entity({ name: 'mount_transitions' })
@Index('mount_transitions_mount_idx', ['mountId', 'id'])
export class MountTransitionEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'mount_transitions_pkey' })
  id!: string;

  @Column({ name: 'mount_id', type: 'uuid' })
  mountId!: string;

  @ManyToOne(() => MountEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'mount_id', foreignKeyConstraintName: 'mount_transitions_mount_id_fkey' })
  mount?: MountEntity;

  @Column({ name: 'from_state', type: 'text', nullable: true })
  fromState!: MountState | null;

  @Column({ name: 'to_state', type: 'text' })
  toState!: MountState;

  @Column({ type: 'timestamptz' })
  at!: Date;

  @Column({ type: 'text' })
  reason!: string;
}

/**
 * Every place a dataset's bytes have been outside the office, one row per mount: a copy on a replica or
 * cache node (purged when the mount detaches), or a DIRECT read that stored nothing at the data center.
 */
@Entity({ name: 'dataset_custody' })
@Unique('dataset_custody_mount_key', ['mountId'])
@Index('dataset_custody_dataset_idx', ['datasetId'])
@Check('dataset_custody_kind_check', `"kind" IN ('DIRECT_READ', 'REPLICA', 'CACHE')`)
export class DatasetCustodyEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'dataset_custody_pkey' })
  id!: string;

  @Column({ name: 'dataset_id', type: 'uuid' })
  datasetId!: string;

  @ManyToOne(() => DatasetEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'dataset_id', foreignKeyConstraintName: 'dataset_custody_dataset_id_fkey' })
  dataset?: DatasetEntity;

  @Column({ name: 'mount_id', type: 'uuid' })
  mountId!: string;

  @ManyToOne(() => MountEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'mount_id', foreignKeyConstraintName: 'dataset_custody_mount_id_fkey' })
  mount?: MountEntity;

  @Column({ type: 'text' })
  kind!: CustodyKind;

  /** Where the bytes were held: the replica or cache node, or for DIRECT_READ the office server. */
  @Column({ name: 'storage_system_id', type: 'uuid' })
  storageSystemId!: string;

  @ManyToOne(() => StorageSystemEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'storage_system_id', foreignKeyConstraintName: 'dataset_custody_storage_system_id_fkey' })
  storageSystem?: StorageSystemEntity;

  /** Addresses of the GPU nodes that read the data. */
  @Column({ name: 'gpu_node_addresses', type: 'text', array: true })
  gpuNodeAddresses!: string[];

  @Column({ name: 'since', type: 'timestamptz' })
  since!: Date;

  /** Bytes held at the data center when purged (0 for DIRECT_READ). */
  @Column({ name: 'bytes_held', ...bigintAsString, nullable: true })
  bytesHeld!: string | null;

  @Column({ name: 'purged_at', type: 'timestamptz', nullable: true })
  purgedAt!: Date | null;

  /** When the mount stopped giving access (detach or failure): attestations must be from then on. */
  @Column({ name: 'access_ended_at', type: 'timestamptz', nullable: true })
  accessEndedAt!: Date | null;

  /** Whether the copy was encrypted at rest under a per-mount data key. */
  @Column({ type: 'boolean', default: false })
  encrypted!: boolean;

  /** When the copy's data key was destroyed (crypto-erase). */
  @Column({ name: 'key_destroyed_at', type: 'timestamptz', nullable: true })
  keyDestroyedAt!: Date | null;
}

/** Storage emulator state: copies of datasets held on data-center nodes. */
@Entity({ name: 'emulator_storage_copies' })
@Index('emulator_storage_copies_dataset_idx', ['datasetId'])
export class EmulatorStorageCopyEntity {
  @PrimaryColumn({ name: 'copy_id', type: 'uuid', primaryKeyConstraintName: 'emulator_storage_copies_pkey' })
  copyId!: string;

  @Column({ name: 'dataset_id', type: 'uuid' })
  datasetId!: string;

  @Column({ name: 'storage_system_id', type: 'uuid' })
  storageSystemId!: string;

  @Column({ type: 'text' })
  kind!: 'REPLICA' | 'CACHE';

  @Column({ name: 'bytes_total', ...bigintAsString })
  bytesTotal!: string;

  @Column({ name: 'rate_bps', type: 'double precision' })
  rateBps!: number;

  @Column({ name: 'started_at', type: 'timestamptz' })
  startedAt!: Date;

  /** Fingerprint of the data key the copy is encrypted under (never the key), or null for a plain copy. */
  @Column({ name: 'key_fingerprint', type: 'text', nullable: true })
  keyFingerprint!: string | null;
}

/**
 * Storage emulator state: the signing keys of the emulated storage systems' and GPU nodes' agents. On real
 * hardware each stays on its node; the service only ever holds the public key registered with the inventory.
 */
@Entity({ name: 'emulator_attestation_keys' })
export class EmulatorAttestationKeyEntity {
  @PrimaryColumn({ name: 'subject_id', type: 'uuid', primaryKeyConstraintName: 'emulator_attestation_keys_pkey' })
  subjectId!: string;

  @Column({ name: 'private_key_pem', type: 'text' })
  privateKeyPem!: string;
}

/** Storage emulator state: NFS exports configured for a mount (the office's, and the DC node's if any). */
@Entity({ name: 'emulator_nfs_exports' })
export class EmulatorNfsExportEntity {
  @PrimaryColumn({ name: 'mount_id', type: 'uuid', primaryKeyConstraintName: 'emulator_nfs_exports_pkey' })
  mountId!: string;

  @PrimaryColumn({ name: 'storage_system_id', type: 'uuid', primaryKeyConstraintName: 'emulator_nfs_exports_pkey' })
  storageSystemId!: string;

  @Column({ name: 'export_path', type: 'text' })
  exportPath!: string;

  @Column({ type: 'text', array: true })
  clients!: string[];
}
