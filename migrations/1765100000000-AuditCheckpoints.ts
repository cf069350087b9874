import { MigrationInterface, QueryRunner } from 'typeorm';

const UUID_RE = `'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'`;

/** The format-1 entry hash, kept here so that `down` can put it back. */
const V1_ENTRY_HASH = `
  CREATE FUNCTION audit_entry_hash(prev text, seq bigint, at timestamptz, actor text, action text,
                                   entity_type text, entity_id text, data jsonb)
  RETURNS text LANGUAGE sql STABLE AS $$
    SELECT encode(sha256(convert_to(concat_ws(E'\\n',
      prev, seq::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
      actor, action, entity_type, coalesce(entity_id, ''), data::text), 'UTF8')), 'hex')
  $$`;

/**
 * A tenant-verifiable audit log (format 2 of the hash chain) and its signed checkpoints:
 *
 * - every entry is attributed to the tenant whose object it is about (`tenant_id`): given by the writer, or,
 *   when it gives none, found at link time from the entity (reservation, mount, dataset, GPU allocation,
 *   training run, API key, tenant) or, failing that, from a `tenantId` in the entry's data;
 * - an entry's hash now covers a content hash (`content_hash`, over its fields, the tenant included, each
 *   length-prefixed so that no field can borrow from the next) and links only that to the previous hash, so
 *   an export can show another tenant's entry as its hashes alone and still be checked link by link (see
 *   src/audit/chain.ts for the formulas the offline verifier recomputes);
 * - `audit_checkpoints`: the chain's head, signed (Ed25519) by the service at intervals.
 *
 * The entries already chained are checked under format 1 first, then chained again under format 2 (no
 * checkpoint has ever been signed over them, so nothing outside the service held their old hashes), and an
 * `audit.chain-upgraded` entry records the format-1 head, the number of entries and whether they verified.
 */
export class AuditCheckpoints1765100000000 implements MigrationInterface {
  name = 'AuditCheckpoints1765100000000';

  async up(q: QueryRunner): Promise<void> {
    const v1 = await verifyFormat1(q);

    await q.query(`ALTER TABLE "audit_log" ADD COLUMN "tenant_id" uuid, ADD COLUMN "content_hash" text`);
    await q.query(`ALTER TABLE "audit_log" DROP CONSTRAINT "audit_log_linked_check"`);
    await q.query(`DROP INDEX IF EXISTS "audit_log_tenant_seq_idx"`);
    await q.query(`CREATE INDEX "audit_log_tenant_seq_idx" ON "audit_log" ("tenant_id", "seq")`);
    await q.query(`CREATE INDEX "audit_log_entity_seq_idx" ON "audit_log" ("entity_id", "seq")`);

    await q.query(`
      CREATE FUNCTION audit_field(value text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE WHEN value IS NULL THEN E'~\\n' ELSE octet_length(convert_to(value, 'UTF8'))::text || ':' || value || E'\\n' END
      $$`);
    await q.query(`
      CREATE FUNCTION audit_content_hash(at timestamptz, actor text, action text, entity_type text, entity_id text,
                                         tenant_id uuid, data jsonb)
      RETURNS text LANGUAGE sql STABLE AS $$
        SELECT encode(sha256(convert_to('apn-audit-entry/2' || E'\\n'
          || audit_field(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
          || audit_field(actor) || audit_field(action) || audit_field(entity_type) || audit_field(entity_id)
          || audit_field(tenant_id::text) || audit_field(data::text), 'UTF8')), 'hex')
      $$`);
    await q.query(`
      CREATE FUNCTION audit_link_hash(prev text, seq bigint, content text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
        SELECT encode(sha256(convert_to('apn-audit-link/2' || E'\\n' || prev || E'\\n' || seq::text || E'\\n' || content, 'UTF8')), 'hex')
      $$`);
    await q.query(`
      CREATE FUNCTION audit_entry_tenant(p_type text, p_id text, p_data jsonb) RETURNS uuid LANGUAGE plpgsql STABLE AS $$
      DECLARE
        t uuid;
      BEGIN
        IF p_id ~ ${UUID_RE} THEN
          CASE p_type
            WHEN 'tenant' THEN t := p_id::uuid;
            WHEN 'reservation' THEN SELECT r.tenant_id INTO t FROM reservations r WHERE r.id = p_id::uuid;
            WHEN 'mount' THEN SELECT m.tenant_id INTO t FROM mounts m WHERE m.id = p_id::uuid;
            WHEN 'dataset' THEN SELECT d.tenant_id INTO t FROM datasets d WHERE d.id = p_id::uuid;
            WHEN 'gpu_allocation' THEN SELECT g.tenant_id INTO t FROM gpu_allocations g WHERE g.id = p_id::uuid;
            WHEN 'training_run' THEN SELECT tr.tenant_id INTO t FROM training_runs tr WHERE tr.id = p_id::uuid;
            WHEN 'api-key' THEN SELECT k.tenant_id INTO t FROM api_keys k WHERE k.id = p_id::uuid;
            ELSE t := NULL;
          END CASE;
        END IF;
        IF t IS NULL AND jsonb_typeof(p_data -> 'tenantId') = 'string' AND (p_data ->> 'tenantId') ~ ${UUID_RE} THEN
          t := (p_data ->> 'tenantId')::uuid;
        END IF;
        RETURN t;
      END
      $$`);

    // Chain again, in seq order, under format 2.
    await q.query(`
      DO $$
      DECLARE
        last_hash text := repeat('0', 64);
        t uuid;
        c text;
        entry record;
      BEGIN
        FOR entry IN SELECT a.id, a.seq, a.at, a.actor, a.action, a.entity_type, a.entity_id, a.data FROM audit_log a
                      WHERE a.seq IS NOT NULL ORDER BY a.seq
        LOOP
          t := audit_entry_tenant(entry.entity_type, entry.entity_id, entry.data);
          c := audit_content_hash(entry.at, entry.actor, entry.action, entry.entity_type, entry.entity_id, t, entry.data);
          UPDATE audit_log SET tenant_id = t, content_hash = c, prev_hash = last_hash,
                 hash = audit_link_hash(last_hash, entry.seq, c)
           WHERE id = entry.id
          RETURNING hash INTO last_hash;
        END LOOP;
      END
      $$`);
    await q.query(
      `ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_linked_check" CHECK (("seq" IS NULL) = ("hash" IS NULL) AND ("seq" IS NULL) = ("prev_hash" IS NULL) AND ("seq" IS NULL) = ("content_hash" IS NULL))`,
    );

    await q.query(`DROP FUNCTION audit_entry_hash(text, bigint, timestamptz, text, text, text, text, jsonb)`);
    await q.query(`
      CREATE OR REPLACE FUNCTION audit_link(max_entries integer) RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        last_seq bigint;
        last_hash text;
        horizon bigint;
        entry record;
        t uuid;
        c text;
        linked integer := 0;
      BEGIN
        PERFORM pg_advisory_xact_lock(7263002);
        SELECT a.seq, a.hash INTO last_seq, last_hash FROM audit_log a
         WHERE a.seq IS NOT NULL ORDER BY a.seq DESC LIMIT 1;
        last_seq := coalesce(last_seq, 0);
        last_hash := coalesce(last_hash, repeat('0', 64));
        -- Every transaction with an id below this one has finished: its entries are final.
        horizon := pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
        FOR entry IN
          SELECT a.id, a.at, a.actor, a.action, a.entity_type, a.entity_id, a.tenant_id, a.data FROM audit_log a
           WHERE a.seq IS NULL AND a.xid < horizon ORDER BY a.id LIMIT max_entries
        LOOP
          last_seq := last_seq + 1;
          t := coalesce(entry.tenant_id, audit_entry_tenant(entry.entity_type, entry.entity_id, entry.data));
          c := audit_content_hash(entry.at, entry.actor, entry.action, entry.entity_type, entry.entity_id, t, entry.data);
          UPDATE audit_log SET seq = last_seq, prev_hash = last_hash, tenant_id = t, content_hash = c,
                 hash = audit_link_hash(last_hash, last_seq, c)
           WHERE id = entry.id
          RETURNING hash INTO last_hash;
          linked := linked + 1;
        END LOOP;
        RETURN linked;
      END
      $$`);

    if (v1.entries > 0) {
      await q.query(
        `INSERT INTO audit_log (xid, at, actor, action, entity_type, entity_id, data)
         VALUES (pg_current_xact_id()::text::bigint, clock_timestamp(), 'system', 'audit.chain-upgraded', 'audit', NULL, $1::jsonb)`,
        [
          JSON.stringify({
            format: 'apn-audit-entry/2',
            entries: v1.entries,
            format1Head: v1.head,
            format1Verified: v1.ok,
            format1FirstBrokenSeq: v1.firstBrokenSeq,
          }),
        ],
      );
    }

    await q.query(`
      CREATE TABLE "audit_checkpoints" (
        "id" uuid NOT NULL,
        "seq" bigint NOT NULL,
        "entry_id" bigint NOT NULL,
        "head_hash" text NOT NULL,
        "entries" bigint NOT NULL,
        "at" timestamptz NOT NULL,
        "key_id" text NOT NULL,
        "signature" text NOT NULL,
        CONSTRAINT "audit_checkpoints_pkey" PRIMARY KEY ("id"),
        CONSTRAINT "audit_checkpoints_seq_key" UNIQUE ("seq")
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "audit_checkpoints"`);
    await q.query(`DELETE FROM "audit_log" WHERE "action" = 'audit.chain-upgraded'`);
    await q.query(V1_ENTRY_HASH);
    await q.query(`
      CREATE OR REPLACE FUNCTION audit_link(max_entries integer) RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        last_seq bigint;
        last_hash text;
        horizon bigint;
        entry record;
        linked integer := 0;
      BEGIN
        PERFORM pg_advisory_xact_lock(7263002);
        SELECT a.seq, a.hash INTO last_seq, last_hash FROM audit_log a
         WHERE a.seq IS NOT NULL ORDER BY a.seq DESC LIMIT 1;
        last_seq := coalesce(last_seq, 0);
        last_hash := coalesce(last_hash, repeat('0', 64));
        horizon := pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
        FOR entry IN
          SELECT a.id, a.at, a.actor, a.action, a.entity_type, a.entity_id, a.data FROM audit_log a
           WHERE a.seq IS NULL AND a.xid < horizon ORDER BY a.id LIMIT max_entries
        LOOP
          last_seq := last_seq + 1;
          UPDATE audit_log SET seq = last_seq, prev_hash = last_hash,
                 hash = audit_entry_hash(last_hash, last_seq, entry.at, entry.actor, entry.action,
                                         entry.entity_type, entry.entity_id, entry.data)
           WHERE id = entry.id
          RETURNING hash INTO last_hash;
          linked := linked + 1;
        END LOOP;
        RETURN linked;
      END
      $$`);
    await q.query(`ALTER TABLE "audit_log" DROP CONSTRAINT "audit_log_linked_check"`);
    // Renumber without the removed entry, then chain again under format 1.
    await q.query(`
      DO $$
      DECLARE
        last_hash text := repeat('0', 64);
        n bigint := 0;
        entry record;
      BEGIN
        UPDATE audit_log SET seq = -seq WHERE seq IS NOT NULL;
        FOR entry IN SELECT a.id, a.at, a.actor, a.action, a.entity_type, a.entity_id, a.data FROM audit_log a
                      WHERE a.seq IS NOT NULL ORDER BY a.seq DESC
        LOOP
          n := n + 1;
          UPDATE audit_log SET seq = n, prev_hash = last_hash,
                 hash = audit_entry_hash(last_hash, n, entry.at, entry.actor, entry.action, entry.entity_type, entry.entity_id, entry.data)
           WHERE id = entry.id
          RETURNING hash INTO last_hash;
        END LOOP;
      END
      $$`);
    await q.query(`DROP FUNCTION audit_entry_tenant(text, text, jsonb)`);
    await q.query(`DROP FUNCTION audit_link_hash(text, bigint, text)`);
    await q.query(`DROP FUNCTION audit_content_hash(timestamptz, text, text, text, text, uuid, jsonb)`);
    await q.query(`DROP FUNCTION audit_field(text)`);
    await q.query(`DROP INDEX "audit_log_entity_seq_idx"`);
    await q.query(`DROP INDEX "audit_log_tenant_seq_idx"`);
    await q.query(`ALTER TABLE "audit_log" DROP COLUMN "content_hash", DROP COLUMN "tenant_id"`);
    await q.query(
      `ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_linked_check" CHECK (("seq" IS NULL) = ("hash" IS NULL) AND ("seq" IS NULL) = ("prev_hash" IS NULL))`,
    );
  }
}

/** Recomputes the format-1 chain, as verifyAuditLog did, before it is replaced. */
async function verifyFormat1(q: QueryRunner): Promise<{ entries: number; head: string; ok: boolean; firstBrokenSeq: string | null }> {
  const batch = 5000;
  let prev = '0'.repeat(64);
  let expected = 1n;
  let entries = 0;
  let firstBrokenSeq: string | null = null;
  for (;;) {
    const rows = (await q.query(
      `SELECT a.seq::text AS seq, a.prev_hash, a.hash,
              audit_entry_hash(a.prev_hash, a.seq, a.at, a.actor, a.action, a.entity_type, a.entity_id, a.data) AS recomputed
         FROM audit_log a WHERE a.seq >= $1 ORDER BY a.seq LIMIT ${batch}`,
      [expected.toString()],
    )) as Array<{ seq: string; prev_hash: string; hash: string; recomputed: string }>;
    for (const row of rows) {
      entries += 1;
      if (firstBrokenSeq === null && (BigInt(row.seq) !== expected || row.prev_hash !== prev || row.recomputed !== row.hash)) {
        firstBrokenSeq = BigInt(row.seq) !== expected ? expected.toString() : row.seq;
      }
      prev = row.hash;
      expected = BigInt(row.seq) + 1n;
    }
    if (rows.length < batch) break;
  }
  return { entries, head: prev, ok: firstBrokenSeq === null, firstBrokenSeq };
}
