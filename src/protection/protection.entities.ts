import { Check, Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { MountEntity } from '../storage/storage.entities';
import { TenantEntity } from '../tenancy/tenancy.entities';

const IN_MOTION_CHECK = (column: string) => `"${column}" <@ ARRAY['NONE', 'NFS_KRB5P', 'NFS_TLS', 'LINK_ENCRYPTION']::text[]`;

/** The operator's minimum protection for every mount of datasets of one sensitivity. */
@Entity({ name: 'protection_minimums' })
@Check(
  'protection_minimums_check',
  `${IN_MOTION_CHECK('in_motion_any_of')} AND NOT 'NONE' = ANY ("in_motion_any_of") AND "at_rest" IN ('NONE', 'ENCRYPTED') AND "sensitivity" IN ('CONFIDENTIAL', 'INTERNAL')`,
)
export class ProtectionMinimumEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'protection_minimums_pkey' })
  sensitivity!: string;

  @Column({ name: 'in_motion_any_of', type: 'text', array: true })
  inMotionAnyOf!: string[];

  @Column({ name: 'at_rest', type: 'text' })
  atRest!: string;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/** A tenant's default profile, for attachStorage calls that name none. */
@Entity({ name: 'tenant_protection_defaults' })
@Check(
  'tenant_protection_defaults_check',
  `cardinality("in_motion") >= 1 AND ${IN_MOTION_CHECK('in_motion')} AND (NOT 'NONE' = ANY ("in_motion") OR cardinality("in_motion") = 1) AND "at_rest" IN ('NONE', 'ENCRYPTED')`,
)
export class TenantProtectionDefaultEntity {
  @PrimaryColumn({ name: 'tenant_id', type: 'uuid', primaryKeyConstraintName: 'tenant_protection_defaults_pkey' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'tenant_protection_defaults_tenant_id_fkey' })
  tenant?: TenantEntity;

  @Column({ name: 'in_motion', type: 'text', array: true })
  inMotion!: string[];

  @Column({ name: 'at_rest', type: 'text' })
  atRest!: string;

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/**
 * The data key of an encrypted replica or cache copy, wrapped by the key-encryption key (AES-256-GCM, the
 * mount id as additional data). Never stored in clear. Destroying the copy sets `wrapped_key` to null.
 */
@Entity({ name: 'mount_data_keys' })
@Check('mount_data_keys_destroyed_check', `("wrapped_key" IS NULL) = ("destroyed_at" IS NOT NULL)`)
export class MountDataKeyEntity {
  @PrimaryColumn({ name: 'mount_id', type: 'uuid', primaryKeyConstraintName: 'mount_data_keys_pkey' })
  mountId!: string;

  @ManyToOne(() => MountEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'mount_id', foreignKeyConstraintName: 'mount_data_keys_mount_id_fkey' })
  mount?: MountEntity;

  /** Which key-encryption key wrapped it (a hash, not the key). */
  @Column({ name: 'kek_id', type: 'text' })
  kekId!: string;

  @Column({ name: 'wrapped_key', type: 'bytea', nullable: true })
  wrappedKey!: Buffer | null;

  /** A domain-separated hash of the key, which the storage node's attestation names. */
  @Column({ name: 'key_fingerprint', type: 'text' })
  keyFingerprint!: string;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'destroyed_at', type: 'timestamptz', nullable: true })
  destroyedAt!: Date | null;
}

/** A certificate the mount CA issued for RPC-with-TLS: a GPU node's (or DC node's) client certificate, or an NFS server's. */
@Entity({ name: 'tls_certificates' })
@Index('tls_certificates_mount_idx', ['mountId'])
@Index('tls_certificates_revoked_idx', ['revokedAt'])
@Check('tls_certificates_role_check', `"role" IN ('CLIENT', 'SERVER')`)
@Check('tls_certificates_window_check', `"not_after" > "not_before"`)
export class TlsCertificateEntity {
  /** Hexadecimal serial number. */
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'tls_certificates_pkey' })
  serial!: string;

  @Column({ name: 'mount_id', type: 'uuid' })
  mountId!: string;

  @ManyToOne(() => MountEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'mount_id', foreignKeyConstraintName: 'tls_certificates_mount_id_fkey' })
  mount?: MountEntity;

  @Column({ type: 'text' })
  role!: 'CLIENT' | 'SERVER';

  /** The hop it serves: LIGHTPATH or DATA_CENTER_LAN. */
  @Column({ type: 'text' })
  hop!: string;

  @Column({ name: 'subject_name', type: 'text' })
  subjectName!: string;

  @Column({ type: 'text' })
  address!: string;

  @Column({ name: 'not_before', type: 'timestamptz' })
  notBefore!: Date;

  @Column({ name: 'not_after', type: 'timestamptz' })
  notAfter!: Date;

  @Column({ name: 'certificate_pem', type: 'text' })
  certificatePem!: string;

  /** The certificate's private key, wrapped by the key-encryption key; null once revoked. */
  @Column({ name: 'wrapped_private_key', type: 'bytea', nullable: true })
  wrappedPrivateKey!: Buffer | null;

  @Column({ name: 'issued_at', type: 'timestamptz' })
  issuedAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;
}

/** Every attestation received, valid or refused, with what was signed and why it was refused. */
@Entity({ name: 'attestations' })
@Index('attestations_mount_idx', ['mountId', 'subjectId'])
@Check('attestations_subject_kind_check', `"subject_kind" IN ('STORAGE_SYSTEM', 'GPU_NODE')`)
@Check('attestations_claim_check', `"claim" IN ('COPY_DESTROYED', 'NODE_WIPED')`)
@Check('attestations_verdict_check', `"valid" = ("refusal" IS NULL)`)
export class AttestationEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'attestations_pkey' })
  id!: string;

  @Column({ name: 'mount_id', type: 'uuid' })
  mountId!: string;

  @ManyToOne(() => MountEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'mount_id', foreignKeyConstraintName: 'attestations_mount_id_fkey' })
  mount?: MountEntity;

  @Column({ name: 'subject_kind', type: 'text' })
  subjectKind!: string;

  @Column({ name: 'subject_id', type: 'uuid' })
  subjectId!: string;

  @Column({ type: 'text' })
  claim!: string;

  /** The canonical JSON that was signed. */
  @Column({ type: 'text' })
  payload!: string;

  @Column({ type: 'text' })
  signature!: string;

  /** The time the payload states. */
  @Column({ name: 'attested_at', type: 'timestamptz' })
  attestedAt!: Date;

  @Column({ name: 'received_at', type: 'timestamptz' })
  receivedAt!: Date;

  @Column({ type: 'boolean' })
  valid!: boolean;

  @Column({ type: 'text', nullable: true })
  refusal!: string | null;

  /** Who delivered it: the storage driver at detach, or a node agent through submitAttestation. */
  @Column({ type: 'text' })
  via!: string;
}
