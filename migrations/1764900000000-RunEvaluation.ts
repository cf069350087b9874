import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What evaluating measured runs needs without reading every step again:
 *
 * - per run, the sums of its steps' Read, GPU and Save seconds, and per phase a histogram of step durations
 *   in logarithmic buckets 1 % wide (bucket b holds durations in [1 µs × 1.01^b, 1 µs × 1.01^(b+1)); -1 holds
 *   zero), from which the percentiles are read. Ingest keeps both in the transaction of each batch, from
 *   the rows it actually inserted, so duplicates and conflicts never count;
 * - per finished run and piece of equipment, its power samples reduced over the run's window (count, ends,
 *   longest gap, trapezoid integral), written the first time the finished run is evaluated: a finished run
 *   takes no more samples, so the reduction stays exact, and is recomputed should the window differ;
 * - a run's preparation time (replica copy, cache fill) given explicitly, for runs without a mount;
 * - in the daily usage totals, the part of shadow energy that came from measured power rather than rated
 *   power, so an invoice can say which it shows.
 */
export class RunEvaluation1764900000000 implements MigrationInterface {
  name = 'RunEvaluation1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "training_runs"
        ADD COLUMN "preparation_s" double precision,
        ADD COLUMN "read_s_sum" double precision NOT NULL DEFAULT 0,
        ADD COLUMN "gpu_s_sum" double precision NOT NULL DEFAULT 0,
        ADD COLUMN "save_s_sum" double precision NOT NULL DEFAULT 0,
        ADD CONSTRAINT "training_runs_preparation_check" CHECK ("preparation_s" IS NULL OR ("preparation_s" >= 0 AND "preparation_s" <= 31622400))`);
    await q.query(`CREATE TABLE "training_run_step_buckets" (
        "run_id" uuid NOT NULL,
        "phase" smallint NOT NULL,
        "bucket" integer NOT NULL,
        "steps" bigint NOT NULL,
        CONSTRAINT "training_run_step_buckets_phase_check" CHECK ("phase" IN (0, 1, 2)),
        CONSTRAINT "training_run_step_buckets_pkey" PRIMARY KEY ("run_id", "phase", "bucket"),
        CONSTRAINT "training_run_step_buckets_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "training_runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )`);
    await q.query(`CREATE TABLE "training_run_power_totals" (
        "run_id" uuid NOT NULL,
        "equipment" text NOT NULL,
        "window_from" timestamptz,
        "window_to" timestamptz,
        "kind" text NOT NULL,
        "site_id" uuid NOT NULL,
        "samples" integer NOT NULL,
        "first_at" timestamptz NOT NULL,
        "last_at" timestamptz NOT NULL,
        "max_gap_s" double precision NOT NULL,
        "joules" double precision NOT NULL,
        "first_watts" double precision NOT NULL,
        "last_watts" double precision NOT NULL,
        CONSTRAINT "training_run_power_totals_pkey" PRIMARY KEY ("run_id", "equipment"),
        CONSTRAINT "training_run_power_totals_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "training_runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )`);
    // Runs recorded before: their aggregates from their stored steps (the buckets by the rule of
    // src/runs/step-histogram.ts, which assigns them at ingest from then on).
    await q.query(`UPDATE training_runs r SET read_s_sum = s.read_s, gpu_s_sum = s.gpu_s, save_s_sum = s.save_s
        FROM (SELECT run_id, sum(read_s) AS read_s, sum(gpu_s) AS gpu_s, sum(save_s) AS save_s FROM training_run_steps GROUP BY run_id) s
       WHERE s.run_id = r.id`);
    await q.query(`INSERT INTO training_run_step_buckets (run_id, phase, bucket, steps)
      SELECT s.run_id, p.phase, CASE WHEN p.seconds <= 0 THEN -1 ELSE greatest(0, floor(ln(p.seconds / 1e-6) / ln(1.01)))::integer END, count(*)
        FROM training_run_steps s CROSS JOIN LATERAL (VALUES (0, s.read_s), (1, s.gpu_s), (2, s.save_s)) AS p(phase, seconds)
       GROUP BY 1, 2, 3`);

    await q.query(`ALTER TABLE "usage_daily_totals" ADD COLUMN "measured_quantity" numeric NOT NULL DEFAULT 0`);
    // Only the service's own shadow events say how they were computed; what others send is never read here.
    await q.query(`CREATE FUNCTION usage_measured_quantity(source text, data jsonb, quantity numeric) RETURNS numeric
      LANGUAGE sql IMMUTABLE PARALLEL SAFE
      AS $$ SELECT CASE
                     WHEN source <> 'urn:apn:orchestrator:metering' THEN 0
                     WHEN data->>'basis' = 'measured' THEN quantity
                     WHEN data->>'basis' = 'mixed' AND data->>'measuredQuantity' ~ '^[0-9]{1,18}(\\.[0-9]{1,9})?$' THEN (data->>'measuredQuantity')::numeric
                     ELSE 0 END $$`);
    await q.query(`CREATE OR REPLACE FUNCTION usage_daily_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO usage_daily_totals AS t (tenant_id, day, type, rate_gbps, distance_class, design, applies_to, quantity, measured_quantity, events)
          SELECT tenant_id, (time AT TIME ZONE 'UTC')::date, type, coalesce(rate_gbps, 0), coalesce(distance_class, ''),
                 coalesce(design, ''), coalesce(applies_to, ''), sum(quantity), sum(usage_measured_quantity(source, data, quantity)), count(*)
            FROM added WHERE NOT superseded
           GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
          ON CONFLICT ON CONSTRAINT usage_daily_totals_pkey
          DO UPDATE SET quantity = t.quantity + excluded.quantity, measured_quantity = t.measured_quantity + excluded.measured_quantity,
                        events = t.events + excluded.events;
        ELSE
          INSERT INTO usage_daily_totals AS t (tenant_id, day, type, rate_gbps, distance_class, design, applies_to, quantity, measured_quantity, events)
          SELECT o.tenant_id, (o.time AT TIME ZONE 'UTC')::date, o.type, coalesce(o.rate_gbps, 0), coalesce(o.distance_class, ''),
                 coalesce(o.design, ''), coalesce(o.applies_to, ''), -sum(o.quantity), -sum(usage_measured_quantity(o.source, o.data, o.quantity)), -count(*)
            FROM removed o JOIN added n ON n.source = o.source AND n.id = o.id
           WHERE n.superseded AND NOT o.superseded
           GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1, 2, 3, 4, 5, 6, 7
          ON CONFLICT ON CONSTRAINT usage_daily_totals_pkey
          DO UPDATE SET quantity = t.quantity + excluded.quantity, measured_quantity = t.measured_quantity + excluded.measured_quantity,
                        events = t.events + excluded.events;
        END IF;
        RETURN NULL;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`CREATE OR REPLACE FUNCTION usage_daily_totals_apply() RETURNS trigger LANGUAGE plpgsql AS $$
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
    await q.query('DROP FUNCTION usage_measured_quantity(text, jsonb, numeric)');
    await q.query('ALTER TABLE "usage_daily_totals" DROP COLUMN "measured_quantity"');
    await q.query('DROP TABLE "training_run_power_totals"');
    await q.query('DROP TABLE "training_run_step_buckets"');
    await q.query(`ALTER TABLE "training_runs" DROP CONSTRAINT "training_runs_preparation_check",
        DROP COLUMN "save_s_sum", DROP COLUMN "gpu_s_sum", DROP COLUMN "read_s_sum", DROP COLUMN "preparation_s"`);
  }
}
