import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Links the audit hash chain inside PostgreSQL. A BEFORE INSERT trigger takes the chain's advisory lock,
 * reads the last entry (a plpgsql statement gets a fresh snapshot, so it sees every committed append) and
 * fills seq, prev_hash and hash. An append is then one statement, and the lock is held only from that
 * statement to the end of the caller's transaction instead of across three round trips.
 *
 * hash = sha256 over the previous hash and the entry's fields, one per line, with `at` in UTC to the
 * microsecond and `data` in jsonb's canonical text form (keys sorted, no insignificant space).
 */
export class AuditChainInDatabase1763800000000 implements MigrationInterface {
  name = 'AuditChainInDatabase1763800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION audit_entry_hash(prev text, seq bigint, at timestamptz, actor text, action text,
                                       entity_type text, entity_id text, data jsonb)
      RETURNS text LANGUAGE sql STABLE AS $$
        SELECT encode(sha256(convert_to(concat_ws(E'\\n',
          prev, seq::text, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
          actor, action, entity_type, coalesce(entity_id, ''), data::text), 'UTF8')), 'hex')
      $$`);
    await q.query(`
      CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        last_seq bigint;
        last_hash text;
      BEGIN
        PERFORM pg_advisory_xact_lock(7263002);
        SELECT a.seq, a.hash INTO last_seq, last_hash FROM audit_log a ORDER BY a.seq DESC LIMIT 1;
        NEW.seq := coalesce(last_seq, 0) + 1;
        NEW.prev_hash := coalesce(last_hash, repeat('0', 64));
        NEW.at := clock_timestamp();
        NEW.hash := audit_entry_hash(NEW.prev_hash, NEW.seq, NEW.at, NEW.actor, NEW.action,
                                     NEW.entity_type, NEW.entity_id, NEW.data);
        RETURN NEW;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
      FOR EACH ROW EXECUTE FUNCTION audit_log_chain()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TRIGGER audit_log_chain ON audit_log');
    await q.query('DROP FUNCTION audit_log_chain()');
    await q.query('DROP FUNCTION audit_entry_hash(text, bigint, timestamptz, text, text, text, text, jsonb)');
  }
}
