import { MigrationInterface, QueryRunner } from 'typeorm';

/** Metering: usage events (CloudEvents, revisions never overwritten) and versioned rate cards. */
export class Metering1764300000000 implements MigrationInterface {
  name = 'Metering1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "usage_events" (
        "source" text NOT NULL,
        "id" text NOT NULL,
        "type" text NOT NULL,
        "subject" text NOT NULL,
        "time" timestamptz NOT NULL,
        "data" jsonb NOT NULL,
        "tenant_id" uuid NOT NULL,
        "resource_id" text NOT NULL,
        "revision" integer NOT NULL,
        "superseded" boolean NOT NULL DEFAULT false,
        "quantity" numeric NOT NULL,
        "rate_gbps" integer,
        "distance_class" text,
        "design" text,
        "applies_to" text,
        "recorded_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "usage_events_revision_check" CHECK ("revision" >= 1),
        CONSTRAINT "usage_events_quantity_check" CHECK ("quantity" >= 0),
        CONSTRAINT "usage_events_time_check" CHECK (extract(epoch FROM "time") % 3600 = 0),
        CONSTRAINT "usage_events_pkey" PRIMARY KEY ("source", "id"),
        CONSTRAINT "usage_events_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE NO ACTION
      )`);
    await q.query(`CREATE INDEX "usage_events_series_idx" ON "usage_events" ("type", "resource_id", "time", "revision")`);
    await q.query(`CREATE INDEX "usage_events_tenant_time_idx" ON "usage_events" ("tenant_id", "time")`);
    await q.query(`CREATE TABLE "rate_cards" (
        "id" uuid NOT NULL,
        "version" integer NOT NULL,
        "effective_from" timestamptz NOT NULL,
        "currency" text NOT NULL,
        "prices" jsonb NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "rate_cards_version_key" UNIQUE ("version"),
        CONSTRAINT "rate_cards_version_check" CHECK ("version" >= 2),
        CONSTRAINT "rate_cards_pkey" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE TABLE "usage_daily_totals" (
        "tenant_id" uuid NOT NULL,
        "day" date NOT NULL,
        "type" text NOT NULL,
        "rate_gbps" integer NOT NULL,
        "distance_class" text NOT NULL,
        "design" text NOT NULL,
        "applies_to" text NOT NULL,
        "quantity" numeric NOT NULL,
        "events" bigint NOT NULL,
        CONSTRAINT "usage_daily_totals_pkey" PRIMARY KEY ("tenant_id", "day", "type", "rate_gbps", "distance_class", "design", "applies_to")
      )`);
    // Keeps usage_daily_totals equal to the latest revisions, per statement (a batch is one statement).
    // Rows are folded in key order so that concurrent batches lock totals in the same order.
    await q.query(`CREATE FUNCTION usage_daily_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO usage_daily_totals AS t (tenant_id, day, type, rate_gbps, distance_class, design, applies_to, quantity, events)
          SELECT tenant_id, (time AT TIME ZONE 'UTC')::date, type, coalesce(rate_gbps, 0), coalesce(distance_class, ''),
                 coalesce(design, ''), coalesce(applies_to, ''), sum(quantity), count(*)
            FROM added WHERE NOT superseded
           GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
          ON CONFLICT ON CONSTRAINT usage_daily_totals_pkey
          DO UPDATE SET quantity = t.quantity + excluded.quantity, events = t.events + excluded.events;
        ELSE
          INSERT INTO usage_daily_totals AS t (tenant_id, day, type, rate_gbps, distance_class, design, applies_to, quantity, events)
          SELECT o.tenant_id, (o.time AT TIME ZONE 'UTC')::date, o.type, coalesce(o.rate_gbps, 0), coalesce(o.distance_class, ''),
                 coalesce(o.design, ''), coalesce(o.applies_to, ''), -sum(o.quantity), -count(*)
            FROM removed o JOIN added n ON n.source = o.source AND n.id = o.id
           WHERE n.superseded AND NOT o.superseded
           GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
          ON CONFLICT ON CONSTRAINT usage_daily_totals_pkey
          DO UPDATE SET quantity = t.quantity + excluded.quantity, events = t.events + excluded.events;
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER usage_events_totals_insert AFTER INSERT ON usage_events
      REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION usage_daily_totals_apply()`);
    await q.query(`CREATE TRIGGER usage_events_totals_supersede AFTER UPDATE ON usage_events
      REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION usage_daily_totals_apply()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER "usage_events_totals_supersede" ON "usage_events"`);
    await q.query(`DROP TRIGGER "usage_events_totals_insert" ON "usage_events"`);
    await q.query(`DROP FUNCTION usage_daily_totals_apply()`);
    await q.query(`DROP TABLE "usage_daily_totals"`);
    await q.query(`DROP TABLE "rate_cards"`);
    await q.query(`DROP TABLE "usage_events"`);
  }
}
