import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An API key that stops being valid (revoked, or deleted with its tenant) announces its id on the
 * `apn_api_key_revoked` channel, so every api process ends the subscriptions that key opened and forgets
 * it at once. PostgreSQL sends the NOTIFY only when the transaction commits: a revocation that is rolled
 * back is never announced.
 */
export class ApiKeyRevokedNotify1764500000000 implements MigrationInterface {
  name = 'ApiKeyRevokedNotify1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION "api_key_revoked_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN
          IF OLD.revoked_at IS NULL THEN PERFORM pg_notify('apn_api_key_revoked', OLD.id::text); END IF;
        ELSIF NEW.revoked_at IS NOT NULL AND OLD.revoked_at IS NULL THEN
          PERFORM pg_notify('apn_api_key_revoked', NEW.id::text);
        END IF;
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER "api_keys_revoked_notify" AFTER UPDATE OF "revoked_at" OR DELETE ON "api_keys"
      FOR EACH ROW EXECUTE FUNCTION "api_key_revoked_notify"()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TRIGGER "api_keys_revoked_notify" ON "api_keys"');
    await q.query('DROP FUNCTION "api_key_revoked_notify"()');
  }
}
