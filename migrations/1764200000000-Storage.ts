import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Storage for GPU tenants: NFS storage systems (office servers, replica and cache nodes at data centers),
 * datasets, GPU clusters and nodes, GPU allocations (a node is never held twice in overlapping windows: an
 * exclusion constraint, as for channels), mounts with their history, the custody record of where each
 * dataset's bytes have been, and the storage emulator's state.
 */
export class Storage1764200000000 implements MigrationInterface {
  name = 'Storage1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "storage_systems" (
        "id" uuid NOT NULL,
        "code" text NOT NULL,
        "name" text NOT NULL,
        "kind" text NOT NULL,
        "site_id" uuid NOT NULL,
        "host" text NOT NULL,
        "capacity_bytes" bigint NOT NULL,
        "throughput_gbps" double precision NOT NULL,
        "nfs_versions" text array NOT NULL,
        "rdma" boolean NOT NULL,
        "idmap_domain" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "storage_systems_code_key" UNIQUE ("code"),
        CONSTRAINT "storage_systems_throughput_check" CHECK ("throughput_gbps" > 0),
        CONSTRAINT "storage_systems_capacity_check" CHECK ("capacity_bytes" > 0),
        CONSTRAINT "storage_systems_kind_check" CHECK ("kind" IN ('OFFICE_NFS', 'DC_REPLICA', 'DC_CACHE')),
        CONSTRAINT "storage_systems_pkey" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE TABLE "datasets" (
        "id" uuid NOT NULL,
        "tenant_id" uuid NOT NULL,
        "storage_system_id" uuid NOT NULL,
        "name" text NOT NULL,
        "export_path" text NOT NULL,
        "bytes" bigint NOT NULL,
        "file_count" bigint NOT NULL,
        "sensitivity" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "datasets_export_key" UNIQUE ("storage_system_id", "export_path"),
        CONSTRAINT "datasets_bytes_check" CHECK ("bytes" > 0 AND "file_count" > 0),
        CONSTRAINT "datasets_sensitivity_check" CHECK ("sensitivity" IN ('CONFIDENTIAL', 'INTERNAL')),
        CONSTRAINT "datasets_pkey" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE INDEX "datasets_tenant_idx" ON "datasets" ("tenant_id") `);
    await q.query(`CREATE TABLE "gpu_clusters" (
        "id" uuid NOT NULL,
        "code" text NOT NULL,
        "name" text NOT NULL,
        "site_id" uuid NOT NULL,
        "rdma" boolean NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "gpu_clusters_code_key" UNIQUE ("code"),
        CONSTRAINT "gpu_clusters_pkey" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE TABLE "gpu_nodes" (
        "id" uuid NOT NULL,
        "cluster_id" uuid NOT NULL,
        "name" text NOT NULL,
        "address" text NOT NULL,
        "gpus" integer NOT NULL,
        "rated_power_kw" double precision NOT NULL,
        CONSTRAINT "gpu_nodes_address_key" UNIQUE ("address"),
        CONSTRAINT "gpu_nodes_name_key" UNIQUE ("cluster_id", "name"),
        CONSTRAINT "gpu_nodes_power_check" CHECK ("rated_power_kw" > 0),
        CONSTRAINT "gpu_nodes_gpus_check" CHECK ("gpus" > 0),
        CONSTRAINT "gpu_nodes_pkey" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE TABLE "gpu_allocations" (
        "id" uuid NOT NULL,
        "tenant_id" uuid NOT NULL,
        "cluster_id" uuid NOT NULL,
        "start_at" timestamptz NOT NULL,
        "end_at" timestamptz NOT NULL,
        "state" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "gpu_allocations_state_check" CHECK ("state" IN ('ALLOCATED', 'RELEASED')),
        CONSTRAINT "gpu_allocations_window_check" CHECK ("end_at" > "start_at"),
        CONSTRAINT "gpu_allocations_pkey" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE INDEX "gpu_allocations_tenant_idx" ON "gpu_allocations" ("tenant_id") `);
    await q.query(`CREATE TABLE "gpu_node_allocations" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "allocation_id" uuid NOT NULL,
        "node_id" uuid NOT NULL,
        "during" tstzrange NOT NULL,
        CONSTRAINT "gpu_node_allocations_during_check" CHECK (NOT isempty("during") AND lower_inc("during") AND NOT upper_inc("during")),
        CONSTRAINT "gpu_node_allocations_no_overlap" EXCLUDE USING gist ("node_id" WITH =, "during" WITH &&),
        CONSTRAINT "gpu_node_allocations_pkey" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE INDEX "gpu_node_allocations_allocation_idx" ON "gpu_node_allocations" ("allocation_id") `);
    await q.query(`CREATE TABLE "mounts" (
        "id" uuid NOT NULL,
        "tenant_id" uuid NOT NULL,
        "reservation_id" uuid NOT NULL,
        "dataset_id" uuid NOT NULL,
        "gpu_allocation_id" uuid NOT NULL,
        "design" text NOT NULL,
        "protocol" text NOT NULL,
        "state" text NOT NULL,
        "storage_node_id" uuid,
        "bytes_total" bigint NOT NULL,
        "bytes_copied" bigint NOT NULL DEFAULT 0,
        "copy_rate_bps" double precision NOT NULL,
        "reason" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "mounts_bytes_check" CHECK ("bytes_copied" >= 0 AND "bytes_copied" <= "bytes_total"),
        CONSTRAINT "mounts_copy_node_check" CHECK (("design" = 'DIRECT') = ("storage_node_id" IS NULL)),
        CONSTRAINT "mounts_state_check" CHECK ("state" IN ('PENDING', 'REPLICATING', 'WARMING', 'ATTACHED', 'DETACHING', 'DETACHED', 'FAILED')),
        CONSTRAINT "mounts_protocol_check" CHECK ("protocol" IN ('NFS_TCP', 'NFS_RDMA')),
        CONSTRAINT "mounts_design_check" CHECK ("design" IN ('DIRECT', 'REPLICATION', 'CACHE')),
        CONSTRAINT "mounts_pkey" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE INDEX "mounts_tenant_idx" ON "mounts" ("tenant_id") `);
    await q.query(`CREATE INDEX "mounts_dataset_idx" ON "mounts" ("dataset_id") `);
    await q.query(`CREATE INDEX "mounts_reservation_idx" ON "mounts" ("reservation_id") `);
    await q.query(`CREATE TABLE "mount_transitions" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "mount_id" uuid NOT NULL,
        "from_state" text,
        "to_state" text NOT NULL,
        "at" timestamptz NOT NULL,
        "reason" text NOT NULL,
        CONSTRAINT "mount_transitions_pkey" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE INDEX "mount_transitions_mount_idx" ON "mount_transitions" ("mount_id", "id") `);
    await q.query(`CREATE TABLE "dataset_custody" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "dataset_id" uuid NOT NULL,
        "mount_id" uuid NOT NULL,
        "kind" text NOT NULL,
        "storage_system_id" uuid NOT NULL,
        "gpu_node_addresses" text array NOT NULL,
        "since" timestamptz NOT NULL,
        "bytes_held" bigint,
        "purged_at" timestamptz,
        CONSTRAINT "dataset_custody_mount_key" UNIQUE ("mount_id"),
        CONSTRAINT "dataset_custody_kind_check" CHECK ("kind" IN ('DIRECT_READ', 'REPLICA', 'CACHE')),
        CONSTRAINT "dataset_custody_pkey" PRIMARY KEY ("id")
      )`);
    await q.query(`CREATE INDEX "dataset_custody_dataset_idx" ON "dataset_custody" ("dataset_id") `);
    await q.query(`CREATE TABLE "emulator_storage_copies" (
        "copy_id" uuid NOT NULL,
        "dataset_id" uuid NOT NULL,
        "storage_system_id" uuid NOT NULL,
        "kind" text NOT NULL,
        "bytes_total" bigint NOT NULL,
        "rate_bps" double precision NOT NULL,
        "started_at" timestamptz NOT NULL,
        CONSTRAINT "emulator_storage_copies_pkey" PRIMARY KEY ("copy_id")
      )`);
    await q.query(`CREATE INDEX "emulator_storage_copies_dataset_idx" ON "emulator_storage_copies" ("dataset_id") `);
    await q.query(`CREATE TABLE "emulator_nfs_exports" (
        "mount_id" uuid NOT NULL,
        "storage_system_id" uuid NOT NULL,
        "export_path" text NOT NULL,
        "clients" text array NOT NULL,
        CONSTRAINT "emulator_nfs_exports_pkey" PRIMARY KEY ("mount_id", "storage_system_id")
      )`);
    await q.query(
      `ALTER TABLE "storage_systems" ADD CONSTRAINT "storage_systems_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "sites"("id") ON DELETE RESTRICT`,
    );
    await q.query(
      `ALTER TABLE "datasets" ADD CONSTRAINT "datasets_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT`,
    );
    await q.query(
      `ALTER TABLE "datasets" ADD CONSTRAINT "datasets_storage_system_id_fkey" FOREIGN KEY ("storage_system_id") REFERENCES "storage_systems"("id") ON DELETE RESTRICT`,
    );
    await q.query(
      `ALTER TABLE "gpu_clusters" ADD CONSTRAINT "gpu_clusters_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "sites"("id") ON DELETE RESTRICT`,
    );
    await q.query(
      `ALTER TABLE "gpu_nodes" ADD CONSTRAINT "gpu_nodes_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "gpu_clusters"("id") ON DELETE CASCADE`,
    );
    await q.query(
      `ALTER TABLE "gpu_allocations" ADD CONSTRAINT "gpu_allocations_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT`,
    );
    await q.query(
      `ALTER TABLE "gpu_allocations" ADD CONSTRAINT "gpu_allocations_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "gpu_clusters"("id") ON DELETE RESTRICT`,
    );
    await q.query(
      `ALTER TABLE "gpu_node_allocations" ADD CONSTRAINT "gpu_node_allocations_allocation_id_fkey" FOREIGN KEY ("allocation_id") REFERENCES "gpu_allocations"("id") ON DELETE CASCADE`,
    );
    await q.query(
      `ALTER TABLE "gpu_node_allocations" ADD CONSTRAINT "gpu_node_allocations_node_id_fkey" FOREIGN KEY ("node_id") REFERENCES "gpu_nodes"("id") ON DELETE RESTRICT`,
    );
    await q.query(
      `ALTER TABLE "mounts" ADD CONSTRAINT "mounts_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT`,
    );
    await q.query(
      `ALTER TABLE "mounts" ADD CONSTRAINT "mounts_reservation_id_fkey" FOREIGN KEY ("reservation_id") REFERENCES "reservations"("id") ON DELETE RESTRICT`,
    );
    await q.query(
      `ALTER TABLE "mounts" ADD CONSTRAINT "mounts_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE RESTRICT`,
    );
    await q.query(
      `ALTER TABLE "mounts" ADD CONSTRAINT "mounts_gpu_allocation_id_fkey" FOREIGN KEY ("gpu_allocation_id") REFERENCES "gpu_allocations"("id") ON DELETE RESTRICT`,
    );
    await q.query(
      `ALTER TABLE "mounts" ADD CONSTRAINT "mounts_storage_node_id_fkey" FOREIGN KEY ("storage_node_id") REFERENCES "storage_systems"("id") ON DELETE RESTRICT`,
    );
    await q.query(
      `ALTER TABLE "mount_transitions" ADD CONSTRAINT "mount_transitions_mount_id_fkey" FOREIGN KEY ("mount_id") REFERENCES "mounts"("id") ON DELETE CASCADE`,
    );
    await q.query(
      `ALTER TABLE "dataset_custody" ADD CONSTRAINT "dataset_custody_dataset_id_fkey" FOREIGN KEY ("dataset_id") REFERENCES "datasets"("id") ON DELETE RESTRICT`,
    );
    await q.query(
      `ALTER TABLE "dataset_custody" ADD CONSTRAINT "dataset_custody_mount_id_fkey" FOREIGN KEY ("mount_id") REFERENCES "mounts"("id") ON DELETE RESTRICT`,
    );
    await q.query(
      `ALTER TABLE "dataset_custody" ADD CONSTRAINT "dataset_custody_storage_system_id_fkey" FOREIGN KEY ("storage_system_id") REFERENCES "storage_systems"("id") ON DELETE RESTRICT`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "emulator_nfs_exports"');
    await q.query('DROP TABLE "emulator_storage_copies"');
    await q.query('DROP TABLE "dataset_custody"');
    await q.query('DROP TABLE "mount_transitions"');
    await q.query('DROP TABLE "mounts"');
    await q.query('DROP TABLE "gpu_node_allocations"');
    await q.query('DROP TABLE "gpu_allocations"');
    await q.query('DROP TABLE "gpu_nodes"');
    await q.query('DROP TABLE "gpu_clusters"');
    await q.query('DROP TABLE "datasets"');
    await q.query('DROP TABLE "storage_systems"');
  }
}
