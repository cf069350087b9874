import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Data protection as a property of every mount (IOWN RIM §2.2.1):
 *
 * - endpoints say whether their transponder can encrypt (LINK_ENCRYPTION);
 * - mounts carry their protection profile: in-motion measures and at-rest encryption of the DC copy; every
 *   mount made before stays {NONE} / NONE, which is what it had;
 * - operators' minimum profile per dataset sensitivity, and tenants' default profile;
 * - per-mount data keys, only ever wrapped by the key-encryption key, destroyed at purge;
 * - the TLS certificates the mount CA issued, with their revocation (the CRL is built from this table);
 * - signed attestations of deletion, valid or refused; the Ed25519 public keys of storage systems and GPU
 *   nodes they are checked against; and the custody record's end of access, encryption and key destruction;
 * - the storage emulator's copy key fingerprints and its nodes' signing keys.
 */
export class DataProtection1765000000000 implements MigrationInterface {
  name = 'DataProtection1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "endpoints" ADD COLUMN "encryption" boolean NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE "storage_systems" ADD COLUMN "attestation_public_key" text`);
    await q.query(`ALTER TABLE "gpu_nodes" ADD COLUMN "attestation_public_key" text`);
    await q.query(`ALTER TABLE "mounts"
        ADD COLUMN "protection_in_motion" text array NOT NULL DEFAULT '{NONE}',
        ADD COLUMN "protection_at_rest" text NOT NULL DEFAULT 'NONE',
        ADD CONSTRAINT "mounts_protection_check" CHECK (cardinality("protection_in_motion") >= 1 AND "protection_in_motion" <@ ARRAY['NONE', 'NFS_KRB5P', 'NFS_TLS', 'LINK_ENCRYPTION']::text[] AND (NOT 'NONE' = ANY ("protection_in_motion") OR cardinality("protection_in_motion") = 1) AND "protection_at_rest" IN ('NONE', 'ENCRYPTED') AND ("protection_at_rest" = 'NONE' OR "design" <> 'DIRECT'))`);
    await q.query(`ALTER TABLE "dataset_custody"
        ADD COLUMN "access_ended_at" timestamptz,
        ADD COLUMN "encrypted" boolean NOT NULL DEFAULT false,
        ADD COLUMN "key_destroyed_at" timestamptz`);
    await q.query(`ALTER TABLE "emulator_storage_copies" ADD COLUMN "key_fingerprint" text`);
    await q.query(`CREATE TABLE "emulator_attestation_keys" (
        "subject_id" uuid NOT NULL,
        "private_key_pem" text NOT NULL,
        CONSTRAINT "emulator_attestation_keys_pkey" PRIMARY KEY ("subject_id"))`);
    await q.query(`CREATE TABLE "protection_minimums" (
        "sensitivity" text NOT NULL,
        "in_motion_any_of" text array NOT NULL,
        "at_rest" text NOT NULL,
        "updated_at" timestamptz NOT NULL,
        CONSTRAINT "protection_minimums_pkey" PRIMARY KEY ("sensitivity"),
        CONSTRAINT "protection_minimums_check" CHECK ("in_motion_any_of" <@ ARRAY['NONE', 'NFS_KRB5P', 'NFS_TLS', 'LINK_ENCRYPTION']::text[] AND NOT 'NONE' = ANY ("in_motion_any_of") AND "at_rest" IN ('NONE', 'ENCRYPTED') AND "sensitivity" IN ('CONFIDENTIAL', 'INTERNAL')))`);
    await q.query(`CREATE TABLE "tenant_protection_defaults" (
        "tenant_id" uuid NOT NULL,
        "in_motion" text array NOT NULL,
        "at_rest" text NOT NULL,
        "updated_at" timestamptz NOT NULL,
        CONSTRAINT "tenant_protection_defaults_pkey" PRIMARY KEY ("tenant_id"),
        CONSTRAINT "tenant_protection_defaults_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE,
        CONSTRAINT "tenant_protection_defaults_check" CHECK (cardinality("in_motion") >= 1 AND "in_motion" <@ ARRAY['NONE', 'NFS_KRB5P', 'NFS_TLS', 'LINK_ENCRYPTION']::text[] AND (NOT 'NONE' = ANY ("in_motion") OR cardinality("in_motion") = 1) AND "at_rest" IN ('NONE', 'ENCRYPTED')))`);
    await q.query(`CREATE TABLE "mount_data_keys" (
        "mount_id" uuid NOT NULL,
        "kek_id" text NOT NULL,
        "wrapped_key" bytea,
        "key_fingerprint" text NOT NULL,
        "created_at" timestamptz NOT NULL,
        "destroyed_at" timestamptz,
        CONSTRAINT "mount_data_keys_pkey" PRIMARY KEY ("mount_id"),
        CONSTRAINT "mount_data_keys_mount_id_fkey" FOREIGN KEY ("mount_id") REFERENCES "mounts"("id") ON DELETE RESTRICT,
        CONSTRAINT "mount_data_keys_destroyed_check" CHECK (("wrapped_key" IS NULL) = ("destroyed_at" IS NOT NULL)))`);
    await q.query(`CREATE TABLE "tls_certificates" (
        "serial" text NOT NULL,
        "mount_id" uuid NOT NULL,
        "role" text NOT NULL,
        "hop" text NOT NULL,
        "subject_name" text NOT NULL,
        "address" text NOT NULL,
        "not_before" timestamptz NOT NULL,
        "not_after" timestamptz NOT NULL,
        "certificate_pem" text NOT NULL,
        "wrapped_private_key" bytea,
        "issued_at" timestamptz NOT NULL,
        "revoked_at" timestamptz,
        CONSTRAINT "tls_certificates_pkey" PRIMARY KEY ("serial"),
        CONSTRAINT "tls_certificates_mount_id_fkey" FOREIGN KEY ("mount_id") REFERENCES "mounts"("id") ON DELETE RESTRICT,
        CONSTRAINT "tls_certificates_role_check" CHECK ("role" IN ('CLIENT', 'SERVER')),
        CONSTRAINT "tls_certificates_window_check" CHECK ("not_after" > "not_before"))`);
    await q.query(`CREATE INDEX "tls_certificates_mount_idx" ON "tls_certificates" ("mount_id")`);
    await q.query(`CREATE INDEX "tls_certificates_revoked_idx" ON "tls_certificates" ("revoked_at")`);
    await q.query(`CREATE TABLE "attestations" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "mount_id" uuid NOT NULL,
        "subject_kind" text NOT NULL,
        "subject_id" uuid NOT NULL,
        "claim" text NOT NULL,
        "payload" text NOT NULL,
        "signature" text NOT NULL,
        "attested_at" timestamptz NOT NULL,
        "received_at" timestamptz NOT NULL,
        "valid" boolean NOT NULL,
        "refusal" text,
        "via" text NOT NULL,
        CONSTRAINT "attestations_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "attestations_mount_id_fkey" FOREIGN KEY ("mount_id") REFERENCES "mounts"("id") ON DELETE RESTRICT,
        CONSTRAINT "attestations_subject_kind_check" CHECK ("subject_kind" IN ('STORAGE_SYSTEM', 'GPU_NODE')),
        CONSTRAINT "attestations_claim_check" CHECK ("claim" IN ('COPY_DESTROYED', 'NODE_WIPED')),
        CONSTRAINT "attestations_verdict_check" CHECK ("valid" = ("refusal" IS NULL)))`);
    await q.query(`CREATE INDEX "attestations_mount_idx" ON "attestations" ("mount_id", "subject_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'attestations',
      'tls_certificates',
      'mount_data_keys',
      'tenant_protection_defaults',
      'protection_minimums',
      'emulator_attestation_keys',
    ]) {
      await q.query(`DROP TABLE "${table}"`);
    }
    await q.query(`ALTER TABLE "emulator_storage_copies" DROP COLUMN "key_fingerprint"`);
    await q.query(`ALTER TABLE "dataset_custody" DROP COLUMN "access_ended_at", DROP COLUMN "encrypted", DROP COLUMN "key_destroyed_at"`);
    await q.query(
      `ALTER TABLE "mounts" DROP CONSTRAINT "mounts_protection_check", DROP COLUMN "protection_in_motion", DROP COLUMN "protection_at_rest"`,
    );
    await q.query(`ALTER TABLE "gpu_nodes" DROP COLUMN "attestation_public_key"`);
    await q.query(`ALTER TABLE "storage_systems" DROP COLUMN "attestation_public_key"`);
    await q.query(`ALTER TABLE "endpoints" DROP COLUMN "encryption"`);
  }
}
