import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Connection } from '../core/graphql/pagination';
import { BigIntScalar } from '../core/graphql/scalars';
import { TenantRef } from '../reservations/reservation.models';
import { Site } from '../topology/topology.models';
import { AttestationClaim, AttestationSubjectKind } from '../protection/attestation';
import { AtRestProtection, InMotionProtection, PostQuantumStanding } from '../protection/profile';
import { CustodyKind, NfsProtocol, Sensitivity, StorageKind } from './storage.entities';
import { MountState } from './mount-state';
import { StorageDesign } from '../vocabulary/domain';

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
registerEnumType(InMotionProtection, {
  name: 'InMotionProtection',
  description:
    'What protects a mount’s data in motion: NONE (sec=sys), NFS_KRB5P (Kerberos privacy), NFS_TLS (RPC-with-TLS, RFC 9289, mutual TLS), LINK_ENCRYPTION (encrypting transponders).',
});
registerEnumType(AtRestProtection, {
  name: 'AtRestProtection',
  description: 'At rest in the data center (REPLICATION and CACHE): NONE, or ENCRYPTED under a per-mount data key.',
});
registerEnumType(PostQuantumStanding, {
  name: 'PostQuantumStanding',
  description:
    'NOT_PROTECTED; SYMMETRIC (AES-256 only: 128-bit strength against Grover); HYBRID (classical + ML-KEM key exchange); CLASSICAL (ECDHE: breakable by a future quantum computer).',
});
registerEnumType(AttestationClaim, {
  name: 'AttestationClaim',
  description: 'COPY_DESTROYED (a replica or cache node) or NODE_WIPED (a GPU node).',
});
registerEnumType(AttestationSubjectKind, { name: 'AttestationSubjectKind', description: 'Who signed: a STORAGE_SYSTEM or a GPU_NODE.' });
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
  /** Not in the schema: the key `site` is resolved by. */
  siteId!: string;
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
  @Field(() => String, {
    nullable: true,
    description:
      'Ed25519 public key (SPKI PEM) its agent signs deletion attestations with. Omitted: the storage driver enrols the agent and registers its key.',
  })
  attestationPublicKey?: string | null;
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
  /** Not in the schema: the keys `tenant` and `storageSystem` are resolved by. */
  tenantId!: string;
  storageSystemId!: string;
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
  @Field(() => String, { nullable: true, description: 'Ed25519 public key (SPKI PEM) its agent signs wipe attestations with.' })
  attestationPublicKey!: string | null;
}

@ObjectType({ description: 'GPU servers at a data-center site.' })
export class GpuCluster {
  @Field(() => ID) id!: string;
  @Field() code!: string;
  @Field() name!: string;
  @Field(() => Site) site!: Site;
  @Field({ description: 'Whether the nodes do RDMA (RoCEv2), needed for NFS_RDMA.' }) rdma!: boolean;
  @Field(() => [GpuNode]) nodes!: GpuNode[];
  /** Not in the schema: the key `site` is resolved by. */
  siteId!: string;
}

@InputType()
export class GpuNodeInput {
  @Field() name!: string;
  @Field({ description: 'IPv4 or IPv6 address its NFS traffic comes from.' }) address!: string;
  @Field(() => Int) gpus!: number;
  @Field(() => Float) ratedPowerKw!: number;
  @Field(() => String, {
    nullable: true,
    description: 'Ed25519 public key (SPKI PEM) of the node’s agent. Omitted: the storage driver enrols the agent and registers its key.',
  })
  attestationPublicKey?: string | null;
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
  /** Not in the schema: the keys `tenant` and `cluster` are resolved by. */
  tenantId!: string;
  clusterId!: string;
}

@InputType()
export class AllocateGpusInput {
  @Field(() => ID) tenantId!: string;
  @Field(() => ID) clusterId!: string;
  @Field(() => Int, { description: 'How many nodes; free ones are picked.' }) nodeCount!: number;
  @Field() start!: Date;
  @Field() end!: Date;
}

@InputType({ description: 'A protection profile: measures in motion, and at rest in the data center.' })
export class ProtectionInput {
  @Field(() => [InMotionProtection], { nullable: true, description: 'NONE alone, or any of NFS_KRB5P, NFS_TLS, LINK_ENCRYPTION.' })
  inMotion?: InMotionProtection[] | null;
  @Field(() => AtRestProtection, { nullable: true, description: 'ENCRYPTED for REPLICATION and CACHE only.' })
  atRest?: AtRestProtection | null;
}

@ObjectType({ description: 'What one measure of a profile stands on against a quantum adversary.' })
export class MeasureStanding {
  @Field() measure!: string;
  @Field(() => PostQuantumStanding) standing!: PostQuantumStanding;
  @Field() statement!: string;
}

@ObjectType({ description: 'A mount’s data key (envelope encryption): which key-encryption key wrapped it, and when it was destroyed.' })
export class DataKeyInfo {
  @Field() kekId!: string;
  @Field({ description: 'Domain-separated SHA-256 of the key: what the storage node’s attestation names. Never the key.' })
  fingerprint!: string;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true, description: 'Crypto-erase: the wrapped key was forgotten.' }) destroyedAt!: Date | null;
}

@ObjectType({ description: 'A certificate the mount CA issued for RPC-with-TLS.' })
export class TlsCertificate {
  @Field() serial!: string;
  @Field({ description: 'CLIENT or SERVER.' }) role!: string;
  @Field({ description: 'LIGHTPATH or DATA_CENTER_LAN.' }) hop!: string;
  @Field() subjectName!: string;
  @Field() address!: string;
  @Field() notBefore!: Date;
  @Field() notAfter!: Date;
  @Field() certificatePem!: string;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;
}

@ObjectType({ description: 'A certificate with its private key, for installing on its host.' })
export class TlsCredential {
  @Field() serial!: string;
  @Field() role!: string;
  @Field() hop!: string;
  @Field() subjectName!: string;
  @Field() address!: string;
  @Field() certificatePem!: string;
  @Field() privateKeyPem!: string;
}

@ObjectType({ description: 'How a mount protects its data, and what that stands on.' })
export class MountProtectionModel {
  @Field(() => [InMotionProtection]) inMotion!: InMotionProtection[];
  @Field(() => AtRestProtection) atRest!: AtRestProtection;
  @Field(() => PostQuantumStanding, { description: 'The weakest standing of the profile (in motion: its strongest measure).' })
  postQuantum!: PostQuantumStanding;
  @Field(() => [MeasureStanding]) measures!: MeasureStanding[];
  @Field(() => DataKeyInfo, { nullable: true, description: 'ENCRYPTED copies: the data key, once the copy started.' })
  dataKey!: DataKeyInfo | null;
  @Field(() => [TlsCertificate], { description: 'NFS_TLS: the certificates issued for the mount.' }) certificates!: TlsCertificate[];
}

@ObjectType({ description: 'A signed attestation received for a mount, valid or refused.' })
export class Attestation {
  @Field(() => ID) id!: string;
  @Field(() => ID) mountId!: string;
  @Field(() => AttestationSubjectKind) subjectKind!: AttestationSubjectKind;
  @Field(() => ID) subjectId!: string;
  @Field(() => AttestationClaim) claim!: AttestationClaim;
  @Field({ description: 'The time the node states.' }) attestedAt!: Date;
  @Field() receivedAt!: Date;
  @Field() valid!: boolean;
  @Field(() => String, { nullable: true, description: 'Why it was refused.' }) refusal!: string | null;
  @Field({ description: 'DRIVER (at detach) or AGENT (submitAttestation).' }) via!: string;
  @Field({ description: 'The canonical JSON that was signed.' }) payload!: string;
}

@ObjectType({ description: 'A place the bytes reached, and when a valid attestation says it holds nothing now.' })
export class CustodyPlaceModel {
  @Field(() => AttestationSubjectKind) kind!: AttestationSubjectKind;
  @Field(() => ID) subjectId!: string;
  @Field() name!: string;
  @Field(() => Date, { nullable: true }) attestedAt!: Date | null;
}

@InputType()
export class SubmitAttestationInput {
  @Field({ description: 'The canonical JSON payload, exactly as signed (docs/attestations.md).' }) payload!: string;
  @Field({ description: 'Ed25519 signature of the payload’s UTF-8 bytes, base64.' }) signature!: string;
}

@InputType()
export class RegisterAttestationKeyInput {
  @Field(() => ID, { nullable: true }) storageSystemId?: string | null;
  @Field(() => ID, { nullable: true }) gpuNodeId?: string | null;
  @Field({ description: 'Ed25519 public key, SPKI PEM (-----BEGIN PUBLIC KEY-----).' }) publicKey!: string;
}

@ObjectType()
export class AttestationKey {
  @Field(() => AttestationSubjectKind) kind!: AttestationSubjectKind;
  @Field(() => ID) id!: string;
  @Field() publicKey!: string;
}

@InputType()
export class SetProtectionMinimumInput {
  @Field(() => Sensitivity) sensitivity!: Sensitivity;
  @Field(() => [InMotionProtection], { description: 'At least one of these must protect every mount of such data; empty requires none.' })
  inMotionAnyOf!: InMotionProtection[];
  @Field(() => AtRestProtection, { description: 'ENCRYPTED: copies of such data must be encrypted at rest.' }) atRest!: AtRestProtection;
}

@ObjectType({ description: 'The operator’s minimum protection for datasets of one sensitivity.' })
export class ProtectionMinimumModel {
  @Field(() => Sensitivity) sensitivity!: Sensitivity;
  @Field(() => [InMotionProtection]) inMotionAnyOf!: InMotionProtection[];
  @Field(() => AtRestProtection) atRest!: AtRestProtection;
  @Field() updatedAt!: Date;
}

@InputType()
export class SetTenantProtectionDefaultInput {
  @Field(() => ID, { nullable: true, description: 'Operators name the tenant; a tenant sets its own.' }) tenantId?: string | null;
  @Field(() => [InMotionProtection]) inMotion!: InMotionProtection[];
  @Field(() => AtRestProtection) atRest!: AtRestProtection;
}

@ObjectType()
export class ProtectionProfileModel {
  @Field(() => [InMotionProtection]) inMotion!: InMotionProtection[];
  @Field(() => AtRestProtection) atRest!: AtRestProtection;
}

@InputType()
export class AttachStorageInput {
  @Field(() => ID, { description: 'The lightpath: its source at the dataset’s site, its destination at the GPU cluster’s.' })
  reservationId!: string;
  @Field(() => ID) datasetId!: string;
  @Field(() => ID) gpuAllocationId!: string;
  @Field(() => StorageDesign) design!: StorageDesign;
  @Field(() => NfsProtocol, { nullable: true, defaultValue: NfsProtocol.NFS_TCP }) protocol!: NfsProtocol;
  @Field(() => ProtectionInput, {
    nullable: true,
    description: 'The protection profile; what is left out comes from the tenant’s default (setTenantProtectionDefault), else NONE.',
  })
  protection?: ProtectionInput | null;
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

@ObjectType({ description: 'Kerberos for a hop (sec=krb5p): realm, principals, keytab.' })
export class HopKerberosModel {
  @Field() realm!: string;
  @Field() serverPrincipal!: string;
  @Field(() => [String]) clientPrincipals!: string[];
  @Field() keytab!: string;
  @Field() enctypes!: string;
}

@ObjectType({ description: 'RPC-with-TLS for a hop (xprtsec=mtls): the files each host keeps, and tlshd’s sections.' })
export class HopTlsModel {
  @Field() directory!: string;
  @Field() caFile!: string;
  @Field() clientCertificateFile!: string;
  @Field() clientKeyFile!: string;
  @Field() serverCertificateFile!: string;
  @Field() serverKeyFile!: string;
  @Field({ description: '[authenticate.client] section of /etc/tlshd.conf on each client.' }) tlshdClientConf!: string;
  @Field({ description: '[authenticate.server] section of /etc/tlshd.conf on the server.' }) tlshdServerConf!: string;
}

@ObjectType({ description: 'What protects a hop in motion.' })
export class HopSecurityModel {
  @Field({ description: 'sys or krb5p.' }) sec!: string;
  @Field({ description: 'none or mtls.' }) xprtsec!: string;
  @Field(() => HopKerberosModel, { nullable: true }) kerberos!: HopKerberosModel | null;
  @Field(() => HopTlsModel, { nullable: true }) tls!: HopTlsModel | null;
}

@ObjectType({ description: 'The profile a mount specification renders.' })
export class MountSpecProtectionModel {
  @Field(() => [InMotionProtection]) inMotion!: InMotionProtection[];
  @Field(() => AtRestProtection) atRest!: AtRestProtection;
  @Field({ description: 'The lightpath’s transponders encrypt: nothing to render on the hosts.' }) linkEncryption!: boolean;
  @Field(() => String, { nullable: true, description: 'REPLICATION and CACHE: how the DC node keeps the copy.' }) dataAtRest!:
    string | null;
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
  @Field(() => HopSecurityModel) security!: HopSecurityModel;
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
  @Field(() => NfsHopModel, {
    nullable: true,
    description: 'REPLICATION and CACHE: the DC node mounting the office export over the lightpath.',
  })
  upstream!: NfsHopModel | null;
  @Field(() => MountSpecProtectionModel) protection!: MountSpecProtectionModel;
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
  @Field(() => MountProtectionModel) protection!: MountProtectionModel;
  @Field() createdAt!: Date;
  /** Not in the schema: what the mount's own fields (relations, progress, protection, specification) are resolved from. */
  tenantId!: string;
  datasetId!: string;
  gpuAllocationId!: string;
  storageNodeId!: string | null;
  protectionInMotion!: string[];
  protectionAtRest!: string;
  bytesTotal!: string;
  bytesCopied!: string;
  copyRateBps!: number;
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
  @Field(() => Date, { nullable: true, description: 'When the mount stopped giving access (detach or failure); null while it still does.' })
  accessEndedAt!: Date | null;
  @Field({ description: 'Whether the copy was encrypted at rest under a per-mount data key.' }) encrypted!: boolean;
  @Field(() => Date, { nullable: true, description: 'When the copy’s data key was destroyed (crypto-erase).' })
  keyDestroyedAt!: Date | null;
  @Field(() => [CustodyPlaceModel], { description: 'Every place the bytes reached: the GPU nodes, and the replica or cache node.' })
  places!: CustodyPlaceModel[];
  @Field(() => [Attestation], { description: 'Every attestation received for the mount, valid or refused.' }) attestations!: Attestation[];
  @Field({
    description:
      'True only once access ended and every place has a valid signed attestation from after that (and a copy was purged); false while the mount is attached.',
  })
  clean!: boolean;
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

@ObjectType()
export class DatasetConnection extends Connection(Dataset, 'Dataset') {}

@ObjectType()
export class GpuAllocationConnection extends Connection(GpuAllocation, 'GpuAllocation') {}

@ObjectType()
export class MountConnection extends Connection(Mount, 'Mount') {}
