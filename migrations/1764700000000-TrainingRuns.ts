import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Measured training runs: the run (workload, connection, design, sites, security measures, state and the
 * counters of what was ingested), its steps keyed by (run, step) for per-run aggregates, its nfsiostat
 * intervals and power samples keyed by run, and the kept lines of its log.
 */
export class TrainingRuns1764700000000 implements MigrationInterface {
  name = 'TrainingRuns1764700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "training_runs" (
        "id" uuid NOT NULL,
        "tenant_id" uuid NOT NULL,
        "label" text NOT NULL,
        "state" text NOT NULL,
        "model_name" text NOT NULL,
        "dataset_id" uuid,
        "dataset_bytes" bigint NOT NULL,
        "dataset_items" bigint NOT NULL,
        "batch_size" integer NOT NULL,
        "steps_per_epoch" integer NOT NULL,
        "epochs" integer NOT NULL,
        "connection_kind" text NOT NULL,
        "reservation_id" uuid,
        "distance_km" double precision,
        "rtt_ms" double precision,
        "bandwidth_gbps" double precision,
        "design" text NOT NULL,
        "mount_id" uuid,
        "gpu_allocation_id" uuid,
        "gpu_site_id" uuid NOT NULL,
        "storage_site_id" uuid NOT NULL,
        "security_measures" text array NOT NULL,
        "started_at" timestamptz,
        "finished_at" timestamptz,
        "last_step_end_at" timestamptz,
        "failure_reason" text,
        "step_count" bigint NOT NULL DEFAULT 0,
        "io_sample_count" bigint NOT NULL DEFAULT 0,
        "power_sample_count" bigint NOT NULL DEFAULT 0,
        "log_line_count" bigint NOT NULL DEFAULT 0,
        "log_error_count" bigint NOT NULL DEFAULT 0,
        "log_warn_count" bigint NOT NULL DEFAULT 0,
        "log_info_count" bigint NOT NULL DEFAULT 0,
        "log_debug_count" bigint NOT NULL DEFAULT 0,
        "created_by" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "training_runs_state_check" CHECK ("state" IN ('RECORDING', 'COMPLETED', 'FAILED')),
        CONSTRAINT "training_runs_kind_check" CHECK ("connection_kind" IN ('LOCAL', 'APN', 'INTERNET')),
        CONSTRAINT "training_runs_design_check" CHECK ("design" IN ('DIRECT', 'REPLICATION', 'CACHE')),
        CONSTRAINT "training_runs_reservation_check" CHECK (("connection_kind" = 'APN') = ("reservation_id" IS NOT NULL)),
        CONSTRAINT "training_runs_mount_check" CHECK ("mount_id" IS NULL OR "connection_kind" = 'APN'),
        CONSTRAINT "training_runs_workload_check" CHECK ("dataset_bytes" > 0 AND "dataset_items" > 0 AND "batch_size" > 0 AND "steps_per_epoch" > 0 AND "epochs" > 0),
        CONSTRAINT "training_runs_security_check" CHECK (cardinality("security_measures") >= 1 AND "security_measures" <@ ARRAY['NONE', 'NFS_KRB5P', 'NFS_TLS', 'LINK_ENCRYPTION', 'AT_REST_ENCRYPTION']::text[] AND (NOT 'NONE' = ANY ("security_measures") OR cardinality("security_measures") = 1)),
        CONSTRAINT "training_runs_finished_check" CHECK (("state" = 'RECORDING') = ("finished_at" IS NULL) AND ("state" = 'FAILED') = ("failure_reason" IS NOT NULL)),
        CONSTRAINT "training_runs_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "training_runs_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT ON UPDATE NO ACTION,
        CONSTRAINT "training_runs_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE RESTRICT ON UPDATE NO ACTION,
        CONSTRAINT "training_runs_reservation_id_fkey" FOREIGN KEY ("reservation_id") REFERENCES "reservations"("id") ON DELETE RESTRICT ON UPDATE NO ACTION,
        CONSTRAINT "training_runs_mount_id_fkey" FOREIGN KEY ("mount_id") REFERENCES "mounts"("id") ON DELETE RESTRICT ON UPDATE NO ACTION,
        CONSTRAINT "training_runs_gpu_allocation_id_fkey" FOREIGN KEY ("gpu_allocation_id") REFERENCES "gpu_allocations"("id") ON DELETE RESTRICT ON UPDATE NO ACTION,
        CONSTRAINT "training_runs_gpu_site_id_fkey" FOREIGN KEY ("gpu_site_id") REFERENCES "sites"("id") ON DELETE RESTRICT ON UPDATE NO ACTION,
        CONSTRAINT "training_runs_storage_site_id_fkey" FOREIGN KEY ("storage_site_id") REFERENCES "sites"("id") ON DELETE RESTRICT ON UPDATE NO ACTION
      )`);
    // Connections newest first: a tenant's own, and every tenant's for operators.
    await q.query(`CREATE INDEX "training_runs_tenant_created_idx" ON "training_runs" ("tenant_id", "created_at", "id")`);
    await q.query(`CREATE INDEX "training_runs_created_idx" ON "training_runs" ("created_at", "id")`);
    await q.query(`CREATE INDEX "training_runs_reservation_idx" ON "training_runs" ("reservation_id")`);

    await q.query(`CREATE TABLE "training_run_steps" (
        "run_id" uuid NOT NULL,
        "step" integer NOT NULL,
        "epoch" integer,
        "read_s" double precision NOT NULL,
        "gpu_s" double precision NOT NULL,
        "save_s" double precision NOT NULL,
        "start_at" timestamptz,
        "read_end_at" timestamptz,
        "gpu_end_at" timestamptz,
        "save_end_at" timestamptz,
        CONSTRAINT "training_run_steps_step_check" CHECK ("step" >= 0 AND ("epoch" IS NULL OR "epoch" >= 0)),
        CONSTRAINT "training_run_steps_seconds_check" CHECK ("read_s" >= 0 AND "gpu_s" >= 0 AND "save_s" >= 0),
        CONSTRAINT "training_run_steps_pkey" PRIMARY KEY ("run_id", "step"),
        CONSTRAINT "training_run_steps_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "training_runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )`);

    await q.query(`CREATE TABLE "training_run_io_samples" (
        "run_id" uuid NOT NULL,
        "node" text NOT NULL,
        "mount_point" text NOT NULL,
        "report" integer NOT NULL,
        "direction" text NOT NULL,
        "export" text NOT NULL,
        "since_mount" boolean NOT NULL,
        "at" timestamptz,
        "interval_s" double precision,
        "ops_per_s" double precision NOT NULL,
        "kb_per_s" double precision NOT NULL,
        "kb_per_op" double precision NOT NULL,
        "retrans" bigint NOT NULL,
        "avg_rtt_ms" double precision NOT NULL,
        "avg_exe_ms" double precision NOT NULL,
        "avg_queue_ms" double precision,
        "errors" bigint,
        "mount_ops_per_s" double precision,
        "rpc_backlog" double precision,
        CONSTRAINT "training_run_io_samples_direction_check" CHECK ("direction" IN ('READ', 'WRITE')),
        CONSTRAINT "training_run_io_samples_report_check" CHECK ("report" >= 0),
        CONSTRAINT "training_run_io_samples_values_check" CHECK ("ops_per_s" >= 0 AND "kb_per_s" >= 0 AND "kb_per_op" >= 0 AND "retrans" >= 0 AND "avg_rtt_ms" >= 0 AND "avg_exe_ms" >= 0),
        CONSTRAINT "training_run_io_samples_pkey" PRIMARY KEY ("run_id", "node", "mount_point", "report", "direction"),
        CONSTRAINT "training_run_io_samples_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "training_runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )`);

    await q.query(`CREATE TABLE "training_run_power_samples" (
        "run_id" uuid NOT NULL,
        "equipment" text NOT NULL,
        "time" timestamptz NOT NULL,
        "kind" text NOT NULL,
        "site_id" uuid NOT NULL,
        "watts" double precision NOT NULL,
        CONSTRAINT "training_run_power_samples_kind_check" CHECK ("kind" IN ('GPU_NODE', 'STORAGE', 'REPLICA', 'CACHE', 'SWITCH')),
        CONSTRAINT "training_run_power_samples_watts_check" CHECK ("watts" >= 0),
        CONSTRAINT "training_run_power_samples_pkey" PRIMARY KEY ("run_id", "equipment", "time"),
        CONSTRAINT "training_run_power_samples_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "training_runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION,
        CONSTRAINT "training_run_power_samples_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "sites"("id") ON DELETE RESTRICT ON UPDATE NO ACTION
      )`);

    await q.query(`CREATE TABLE "training_run_log_lines" (
        "run_id" uuid NOT NULL,
        "seq" bigint NOT NULL,
        "level" text,
        "text" text NOT NULL,
        CONSTRAINT "training_run_log_lines_level_check" CHECK ("level" IS NULL OR "level" IN ('ERROR', 'WARN', 'INFO', 'DEBUG')),
        CONSTRAINT "training_run_log_lines_pkey" PRIMARY KEY ("run_id", "seq"),
        CONSTRAINT "training_run_log_lines_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "training_runs"("id") ON DELETE CASCADE ON UPDATE NO ACTION
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "training_run_log_lines"');
    await q.query('DROP TABLE "training_run_power_samples"');
    await q.query('DROP TABLE "training_run_io_samples"');
    await q.query('DROP TABLE "training_run_steps"');
    await q.query('DROP TABLE "training_runs"');
  }
}
