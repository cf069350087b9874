import { MigrationInterface, QueryRunner } from 'typeorm';

/** Billing webhooks: subscriptions, and one delivery row per (subscription, event) with its attempts. */
export class Webhooks1764400000000 implements MigrationInterface {
  name = 'Webhooks1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "webhook_subscriptions" (
        "id" uuid NOT NULL,
        "url" text NOT NULL,
        "secret" text NOT NULL,
        "topics" text array NOT NULL,
        "tenant_id" uuid,
        "active" boolean NOT NULL DEFAULT true,
        "created_by" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "webhook_subscriptions_url_check" CHECK ("url" ~ '^https?://'),
        CONSTRAINT "webhook_subscriptions_pkey" PRIMARY KEY ("id")
      )`);
    await q.query(`
      CREATE TABLE "webhook_deliveries" (
        "id" uuid NOT NULL,
        "subscription_id" uuid NOT NULL,
        "topic" text NOT NULL,
        "event_id" text NOT NULL,
        "body" text NOT NULL,
        "state" text NOT NULL,
        "attempts" integer NOT NULL DEFAULT 0,
        "round" integer NOT NULL DEFAULT 0,
        "last_status" integer,
        "last_error" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "delivered_at" timestamptz,
        CONSTRAINT "webhook_deliveries_event_key" UNIQUE ("subscription_id", "event_id"),
        CONSTRAINT "webhook_deliveries_state_check" CHECK ("state" IN ('PENDING', 'DELIVERED', 'DEAD')),
        CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "webhook_deliveries_subscription_id_fkey" FOREIGN KEY ("subscription_id") REFERENCES "webhook_subscriptions"("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "webhook_deliveries_state_idx" ON "webhook_deliveries" ("state", "created_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "webhook_deliveries"');
    await q.query('DROP TABLE "webhook_subscriptions"');
  }
}
