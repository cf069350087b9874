import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, Unique } from 'typeorm';

export enum Role {
  OPERATOR = 'OPERATOR',
  TENANT = 'TENANT',
  BILLING = 'BILLING',
}

@Entity({ name: 'tenants' })
@Unique('tenants_name_key', ['name'])
export class TenantEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'tenants_pkey' })
  id!: string;

  @Column({ type: 'text' })
  name!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

/**
 * An API key. The secret is shown once at creation (and at each rotation); only its SHA-256 is stored. Secrets carry 256 bits
 * of randomness, so a fast hash is enough: there is nothing to brute-force, unlike a password.
 */
@Entity({ name: 'api_keys' })
@Check('api_keys_role_check', `"role" IN ('OPERATOR', 'TENANT', 'BILLING')`)
@Check('api_keys_tenant_role_check', `("role" = 'TENANT') = ("tenant_id" IS NOT NULL)`)
@Check('api_keys_previous_secret_check', `("previous_secret_sha256" IS NULL) = ("previous_secret_expires_at" IS NULL)`)
@Index('api_keys_tenant_id_idx', ['tenantId'])
export class ApiKeyEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'api_keys_pkey' })
  id!: string;

  @Column({ type: 'text' })
  role!: Role;

  @Column({ name: 'tenant_id', type: 'uuid', nullable: true })
  tenantId!: string | null;

  @ManyToOne(() => TenantEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'api_keys_tenant_id_fkey' })
  tenant?: TenantEntity;

  @Column({ name: 'secret_sha256', type: 'text' })
  secretSha256!: string;

  @Column({ type: 'text', nullable: true })
  label!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'revoked_at', type: 'timestamptz', nullable: true })
  revokedAt!: Date | null;

  /** When the current secret stops working; null: it does not expire. */
  @Column({ name: 'expires_at', type: 'timestamptz', nullable: true })
  expiresAt!: Date | null;

  /** After a rotation: the replaced secret's SHA-256, which keeps working until `previousSecretExpiresAt`. */
  @Column({ name: 'previous_secret_sha256', type: 'text', nullable: true })
  previousSecretSha256!: string | null;

  @Column({ name: 'previous_secret_expires_at', type: 'timestamptz', nullable: true })
  previousSecretExpiresAt!: Date | null;

  @Column({ name: 'rotated_at', type: 'timestamptz', nullable: true })
  rotatedAt!: Date | null;
}
