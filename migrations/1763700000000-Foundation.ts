import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Topology, tenancy, reservations with their capacity allocations, and the audit log.
 * No double booking is enforced here, by PostgreSQL: exclusion constraints over half-open tstzrange
 * windows on (link, channel) and on endpoint (btree_gist supplies the equality operator class for
 * uuid and integer inside a GiST index).
 */
export class Foundation1763700000000 implements MigrationInterface {
  name = 'Foundation1763700000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS btree_gist`);

    await q.query(`
      CREATE TABLE "nodes" (
        "id" uuid NOT NULL,
        "code" text NOT NULL,
        "name" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "nodes_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "nodes_code_key" UNIQUE ("code")
      )`);
    await q.query(`
      CREATE TABLE "sites" (
        "id" uuid NOT NULL,
        "code" text NOT NULL,
        "name" text NOT NULL,
        "kind" text NOT NULL,
        "node_id" uuid,
        "pue" double precision NOT NULL,
        "grid_carbon_kg_per_kwh" double precision NOT NULL,
        "energy_price_per_kwh" double precision NOT NULL,
        "renewable_share" double precision NOT NULL DEFAULT 0,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "sites_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "sites_code_key" UNIQUE ("code"),
        CONSTRAINT "sites_kind_check" CHECK ("kind" IN ('USER_OFFICE', 'GREEN_DC', 'STANDARD_DC')),
        CONSTRAINT "sites_pue_check" CHECK ("pue" >= 1),
        CONSTRAINT "sites_node_id_fkey" FOREIGN KEY ("node_id") REFERENCES "nodes"("id") ON DELETE RESTRICT
      )`);
    await q.query(`
      CREATE TABLE "links" (
        "id" uuid NOT NULL,
        "code" text NOT NULL,
        "a_node_id" uuid NOT NULL,
        "b_node_id" uuid NOT NULL,
        "length_km" double precision NOT NULL,
        "channel_count" integer NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "links_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "links_code_key" UNIQUE ("code"),
        CONSTRAINT "links_length_km_check" CHECK ("length_km" > 0),
        CONSTRAINT "links_channel_count_check" CHECK ("channel_count" > 0),
        CONSTRAINT "links_distinct_nodes_check" CHECK ("a_node_id" <> "b_node_id"),
        CONSTRAINT "links_a_node_id_fkey" FOREIGN KEY ("a_node_id") REFERENCES "nodes"("id") ON DELETE RESTRICT,
        CONSTRAINT "links_b_node_id_fkey" FOREIGN KEY ("b_node_id") REFERENCES "nodes"("id") ON DELETE RESTRICT
      )`);
    await q.query(`
      CREATE TABLE "endpoints" (
        "id" uuid NOT NULL,
        "code" text NOT NULL,
        "site_id" uuid NOT NULL,
        "rate_gbps" integer NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "endpoints_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "endpoints_code_key" UNIQUE ("code"),
        CONSTRAINT "endpoints_rate_gbps_check" CHECK ("rate_gbps" IN (10, 100, 400)),
        CONSTRAINT "endpoints_site_id_fkey" FOREIGN KEY ("site_id") REFERENCES "sites"("id") ON DELETE RESTRICT
      )`);
    await q.query(`
      CREATE TABLE "topology_revisions" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "document_name" text NOT NULL,
        "actor" text NOT NULL,
        "imported_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "topology_revisions_pkey" PRIMARY KEY ("id")
      )`);

    await q.query(`
      CREATE TABLE "tenants" (
        "id" uuid NOT NULL,
        "name" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "tenants_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "tenants_name_key" UNIQUE ("name")
      )`);
    await q.query(`
      CREATE TABLE "api_keys" (
        "id" uuid NOT NULL,
        "role" text NOT NULL,
        "tenant_id" uuid,
        "secret_sha256" text NOT NULL,
        "label" text,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "revoked_at" timestamptz,
        CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "api_keys_role_check" CHECK ("role" IN ('OPERATOR', 'TENANT', 'BILLING')),
        CONSTRAINT "api_keys_tenant_role_check" CHECK (("role" = 'TENANT') = ("tenant_id" IS NOT NULL)),
        CONSTRAINT "api_keys_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "api_keys_tenant_id_idx" ON "api_keys" ("tenant_id")`);

    await q.query(`
      CREATE TABLE "reservations" (
        "id" uuid NOT NULL,
        "tenant_id" uuid NOT NULL,
        "source_endpoint_id" uuid NOT NULL,
        "destination_endpoint_id" uuid NOT NULL,
        "rate_gbps" integer NOT NULL,
        "start_at" timestamptz NOT NULL,
        "end_at" timestamptz NOT NULL,
        "state" text NOT NULL,
        "channel" integer NOT NULL,
        "path_link_ids" uuid array NOT NULL,
        "distance_km" double precision NOT NULL,
        "hold_expires_at" timestamptz,
        "idempotency_key" text,
        "request_fingerprint" text NOT NULL,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "reservations_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "reservations_window_check" CHECK ("start_at" < "end_at"),
        CONSTRAINT "reservations_state_check" CHECK ("state" IN ('HELD', 'RESERVED', 'PROVISIONING', 'ACTIVE', 'RELEASING', 'RELEASED', 'CANCELLED', 'EXPIRED', 'FAILED', 'NEEDS_CLEANUP')),
        CONSTRAINT "reservations_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE RESTRICT,
        CONSTRAINT "reservations_source_endpoint_id_fkey" FOREIGN KEY ("source_endpoint_id") REFERENCES "endpoints"("id") ON DELETE RESTRICT,
        CONSTRAINT "reservations_destination_endpoint_id_fkey" FOREIGN KEY ("destination_endpoint_id") REFERENCES "endpoints"("id") ON DELETE RESTRICT
      )`);
    await q.query(
      `CREATE UNIQUE INDEX "reservations_tenant_idempotency_key" ON "reservations" ("tenant_id", "idempotency_key") WHERE "idempotency_key" IS NOT NULL`,
    );
    await q.query(`CREATE INDEX "reservations_tenant_created_idx" ON "reservations" ("tenant_id", "created_at", "id")`);
    await q.query(`CREATE INDEX "reservations_created_idx" ON "reservations" ("created_at", "id")`);
    await q.query(`CREATE INDEX "reservations_hold_expiry_idx" ON "reservations" ("hold_expires_at") WHERE "state" = 'HELD'`);

    await q.query(`
      CREATE TABLE "reservation_transitions" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "reservation_id" uuid NOT NULL,
        "from_state" text,
        "to_state" text NOT NULL,
        "at" timestamptz NOT NULL,
        "actor" text NOT NULL,
        "reason" text NOT NULL,
        CONSTRAINT "reservation_transitions_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "reservation_transitions_reservation_id_fkey" FOREIGN KEY ("reservation_id") REFERENCES "reservations"("id") ON DELETE CASCADE
      )`);
    await q.query(`CREATE INDEX "reservation_transitions_reservation_idx" ON "reservation_transitions" ("reservation_id", "id")`);

    await q.query(`
      CREATE TABLE "link_allocations" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "reservation_id" uuid NOT NULL,
        "link_id" uuid NOT NULL,
        "channel" integer NOT NULL,
        "during" tstzrange NOT NULL,
        CONSTRAINT "link_allocations_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "link_allocations_channel_check" CHECK ("channel" >= 0),
        CONSTRAINT "link_allocations_during_check" CHECK (NOT isempty("during") AND lower_inc("during") AND NOT upper_inc("during")),
        CONSTRAINT "link_allocations_reservation_id_fkey" FOREIGN KEY ("reservation_id") REFERENCES "reservations"("id") ON DELETE CASCADE,
        CONSTRAINT "link_allocations_link_id_fkey" FOREIGN KEY ("link_id") REFERENCES "links"("id") ON DELETE RESTRICT,
        CONSTRAINT "link_allocations_no_overlap" EXCLUDE USING gist ("link_id" WITH =, "channel" WITH =, "during" WITH &&)
      )`);
    await q.query(`CREATE INDEX "link_allocations_reservation_idx" ON "link_allocations" ("reservation_id")`);

    await q.query(`
      CREATE TABLE "endpoint_allocations" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "reservation_id" uuid NOT NULL,
        "endpoint_id" uuid NOT NULL,
        "during" tstzrange NOT NULL,
        CONSTRAINT "endpoint_allocations_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "endpoint_allocations_during_check" CHECK (NOT isempty("during") AND lower_inc("during") AND NOT upper_inc("during")),
        CONSTRAINT "endpoint_allocations_reservation_id_fkey" FOREIGN KEY ("reservation_id") REFERENCES "reservations"("id") ON DELETE CASCADE,
        CONSTRAINT "endpoint_allocations_endpoint_id_fkey" FOREIGN KEY ("endpoint_id") REFERENCES "endpoints"("id") ON DELETE RESTRICT,
        CONSTRAINT "endpoint_allocations_no_overlap" EXCLUDE USING gist ("endpoint_id" WITH =, "during" WITH &&)
      )`);
    await q.query(`CREATE INDEX "endpoint_allocations_reservation_idx" ON "endpoint_allocations" ("reservation_id")`);

    await q.query(`
      CREATE TABLE "audit_log" (
        "seq" bigint NOT NULL,
        "at" timestamptz NOT NULL,
        "actor" text NOT NULL,
        "action" text NOT NULL,
        "entity_type" text NOT NULL,
        "entity_id" text,
        "data" jsonb NOT NULL,
        "prev_hash" text NOT NULL,
        "hash" text NOT NULL,
        CONSTRAINT "audit_log_pkey" PRIMARY KEY ("seq")
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'audit_log',
      'endpoint_allocations',
      'link_allocations',
      'reservation_transitions',
      'reservations',
      'api_keys',
      'tenants',
      'topology_revisions',
      'endpoints',
      'links',
      'sites',
      'nodes',
    ]) {
      await q.query(`DROP TABLE "${table}"`);
    }
  }
}
