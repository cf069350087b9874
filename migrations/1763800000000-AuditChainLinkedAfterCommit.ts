import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Takes the audit hash chain off the write path. A state change inserts its audit entry unlinked, with the
 * id of its transaction; `audit_link()` later gives entries of finished transactions (xid below the oldest
 * running transaction) their place in the chain, in insertion order, under an advisory lock so that only
 * one linker runs at a time. Writers never wait for each other on the chain, and an entry enters the
 * chain only once its transaction has committed, so no rolled-back entry can leave a gap.
 *
 * hash = sha256 over the previous hash and the entry's fields, one per line, with `at` in UTC to the
 * microsecond and `data` in jsonb's canonical text form (keys sorted, no insignificant space).
 */
export class AuditChainLinkedAfterCommit1763800000000 implements MigrationInterface {
  name = 'AuditChainLinkedAfterCommit1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "audit_log" DROP CONSTRAINT "audit_log_pkey"`);
    await q.query(`ALTER TABLE "audit_log" ADD COLUMN "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL`);
    await q.query(`ALTER TABLE "audit_log" ADD COLUMN "xid" bigint NOT NULL DEFAULT 0`);
    await q.query(`ALTER TABLE "audit_log" ALTER COLUMN "xid" DROP DEFAULT`);
    await q.query(`ALTER TABLE "audit_log" ALTER COLUMN "seq" DROP NOT NULL`);
    await q.query(`ALTER TABLE "audit_log" ALTER COLUMN "prev_hash" DROP NOT NULL`);
    await q.query(`ALTER TABLE "audit_log" ALTER COLUMN "hash" DROP NOT NULL`);
    await q.query(`ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")`);
    await q.query(`ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_seq_key" UNIQUE ("seq")`);
    await q.query(
      `ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_linked_check" CHECK (("seq" IS NULL) = ("hash" IS NULL) AND ("seq" IS NULL) = ("prev_hash" IS NULL))`,
    );
    await q.query(`CREATE INDEX "audit_log_unlinked_idx" ON "audit_log" ("id") WHERE "seq" IS NULL`);
    await q.query(`
      CREATE FUNCTION audit_entry_hash(prev text, seq bigint, at timestamptz, actor text, action text,
                                       entity_type text, entity_id text, data jsonb)
      RETURNS text LANGUAGE sql STABLE AS $$
        SELECT encode(sha256(convert_to(concat_ws(E'\\n',
          prev, seq::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
          actor, action, entity_type, coalesce(entity_id, ''), data::text), 'UTF8')), 'hex')
      $$`);
    await q.query(`
      CREATE FUNCTION audit_link(max_entries integer) RETURNS integer LANGUAGE plpgsql AS $$
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
        -- Every transaction with an id below this one has finished: its entries are final.
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
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP FUNCTION audit_link(integer)');
    await q.query('DROP FUNCTION audit_entry_hash(text, bigint, timestamptz, text, text, text, text, jsonb)');
    await q.query(`DELETE FROM "audit_log" WHERE "seq" IS NULL`);
    await q.query(`DROP INDEX "audit_log_unlinked_idx"`);
    await q.query(`ALTER TABLE "audit_log" DROP CONSTRAINT "audit_log_linked_check"`);
    await q.query(`ALTER TABLE "audit_log" DROP CONSTRAINT "audit_log_seq_key"`);
    await q.query(`ALTER TABLE "audit_log" DROP CONSTRAINT "audit_log_pkey"`);
    await q.query(`ALTER TABLE "audit_log" DROP COLUMN "xid"`);
    await q.query(`ALTER TABLE "audit_log" DROP COLUMN "id"`);
    await q.query(`ALTER TABLE "audit_log" ALTER COLUMN "seq" SET NOT NULL`);
    await q.query(`ALTER TABLE "audit_log" ALTER COLUMN "prev_hash" SET NOT NULL`);
    await q.query(`ALTER TABLE "audit_log" ALTER COLUMN "hash" SET NOT NULL`);
    await q.query(`ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_pkey" PRIMARY KEY ("seq")`);
  }
}
