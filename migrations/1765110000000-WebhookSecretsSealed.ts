import { MigrationInterface, QueryRunner } from 'typeorm';
import { migrationContext } from '../src/core/database/migration-context';
import { kekId, open, seal } from '../src/protection/envelope';

/** The additional data a subscription's sealed secret is bound to: moved to another row, it does not open. */
export const webhookSecretContext = (subscriptionId: string) => `webhook-secret:${subscriptionId}`;

function requireKek(what: string): Buffer {
  const kek = migrationContext().keyEncryptionKey;
  if (!kek) {
    throw new Error(
      `migration WebhookSecretsSealed: ${what} needs the key-encryption key; set APN_KEY_ENCRYPTION_KEY (the one the service runs with) and start again`,
    );
  }
  return kek;
}

/**
 * Webhook signing secrets at rest: sealed (AES-256-GCM, src/protection/envelope.ts) under the key-encryption
 * key from configuration, with the subscription's id as additional data, and the clear column dropped.
 * Secrets stored in clear before are sealed here, so afterwards no clear secret remains in the table.
 */
export class WebhookSecretsSealed1765110000000 implements MigrationInterface {
  name = 'WebhookSecretsSealed1765110000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "webhook_subscriptions" ADD COLUMN "secret_sealed" bytea, ADD COLUMN "kek_id" text`);
    const rows = (await q.query(`SELECT id, secret FROM "webhook_subscriptions" ORDER BY id`)) as Array<{ id: string; secret: string }>;
    if (rows.length > 0) {
      const kek = requireKek(`sealing ${rows.length} stored webhook secret(s)`);
      for (const row of rows) {
        await q.query(`UPDATE "webhook_subscriptions" SET "secret_sealed" = $2, "kek_id" = $3 WHERE id = $1`, [
          row.id,
          seal(kek, Buffer.from(row.secret, 'utf8'), webhookSecretContext(row.id)),
          kekId(kek),
        ]);
      }
    }
    await q.query(`ALTER TABLE "webhook_subscriptions" ALTER COLUMN "secret_sealed" SET NOT NULL, ALTER COLUMN "kek_id" SET NOT NULL`);
    await q.query(`ALTER TABLE "webhook_subscriptions" DROP COLUMN "secret"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "webhook_subscriptions" ADD COLUMN "secret" text`);
    const rows = (await q.query(`SELECT id, secret_sealed FROM "webhook_subscriptions" ORDER BY id`)) as Array<{
      id: string;
      secret_sealed: Buffer;
    }>;
    if (rows.length > 0) {
      const kek = requireKek(`opening ${rows.length} sealed webhook secret(s)`);
      for (const row of rows) {
        await q.query(`UPDATE "webhook_subscriptions" SET "secret" = $2 WHERE id = $1`, [
          row.id,
          open(kek, row.secret_sealed, webhookSecretContext(row.id)).toString('utf8'),
        ]);
      }
    }
    await q.query(`ALTER TABLE "webhook_subscriptions" ALTER COLUMN "secret" SET NOT NULL`);
    await q.query(`ALTER TABLE "webhook_subscriptions" DROP COLUMN "secret_sealed", DROP COLUMN "kek_id"`);
  }
}
