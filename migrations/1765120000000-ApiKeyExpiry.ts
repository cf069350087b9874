import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * API keys that expire and rotate without downtime: the current secret's expiry (`expires_at`, null: never),
 * and, after a rotation, the previous secret's hash with the end of its overlap. Keys made before keep no
 * expiry, which is what they had.
 */
export class ApiKeyExpiry1765120000000 implements MigrationInterface {
  name = 'ApiKeyExpiry1765120000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "api_keys"
        ADD COLUMN "expires_at" timestamptz,
        ADD COLUMN "previous_secret_sha256" text,
        ADD COLUMN "previous_secret_expires_at" timestamptz,
        ADD COLUMN "rotated_at" timestamptz,
        ADD CONSTRAINT "api_keys_previous_secret_check" CHECK (("previous_secret_sha256" IS NULL) = ("previous_secret_expires_at" IS NULL))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "api_keys" DROP CONSTRAINT "api_keys_previous_secret_check",
        DROP COLUMN "rotated_at", DROP COLUMN "previous_secret_expires_at", DROP COLUMN "previous_secret_sha256", DROP COLUMN "expires_at"`);
  }
}
