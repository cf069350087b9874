import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-tenant quotas, enforced by PostgreSQL as capacity is: no check-then-insert that two concurrent
 * requests could both pass.
 *
 * `tenant_quotas` holds at most one row per tenant; a tenant without a row has no quota. A reservation row
 * states what it claims (its path and window; its link_allocations are that claim), so every writer of
 * capacity writes it: a booking inserts it, an extension moves its end, a reroute replaces its path. Two
 * constraint triggers on `reservations`, deferred to commit, check each row inserted and each row whose
 * claim grew or which became HELD (a WHEN clause, evaluated without calling anything, lets every other
 * update through: a commit, any state change). At commit the transaction's allocations are all written,
 * whatever statements wrote them.
 *
 * The check costs a tenant without quotas one lookup by primary key and no lock. For a tenant with quotas
 * it refuses only growth (a lower quota never refuses a commit or what the tenant already holds), and
 * where the hold count or channel-hours could grow it
 *  - takes a transaction-scoped advisory lock on the tenant, so that the checks of two transactions of one
 *    tenant run one after the other, the second seeing what the first committed;
 *  - recomputes the usage from the tables themselves (a fresh snapshot after the lock) and refuses with
 *    SQLSTATE AQ001: the message says what, the hint what to do, and the detail is a JSON object (quota,
 *    limit, requested, used, and the span and month where they apply). The transaction rolls back whole.
 *
 * Channel-hours are counted per link and calendar month (UTC): the part of each allocation's window that
 * falls in the month. Every row of link_allocations counts; reservations in final states have none.
 */
export class TenantQuotas1764600000000 implements MigrationInterface {
  name = 'TenantQuotas1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "tenant_quotas" (
        "tenant_id" uuid NOT NULL,
        "max_concurrent_holds" integer,
        "max_window_seconds" integer,
        "max_channel_hours_per_span_per_month" integer,
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        "updated_by" text NOT NULL,
        CONSTRAINT "tenant_quotas_pkey" PRIMARY KEY ("tenant_id"),
        CONSTRAINT "tenant_quotas_tenant_id_fkey" FOREIGN KEY ("tenant_id") REFERENCES "tenants"("id") ON DELETE CASCADE,
        CONSTRAINT "tenant_quotas_max_concurrent_holds_check" CHECK ("max_concurrent_holds" BETWEEN 0 AND 10000),
        CONSTRAINT "tenant_quotas_max_window_seconds_check" CHECK ("max_window_seconds" BETWEEN 60 AND 315360000),
        CONSTRAINT "tenant_quotas_max_channel_hours_check" CHECK ("max_channel_hours_per_span_per_month" BETWEEN 0 AND 1000000),
        CONSTRAINT "tenant_quotas_some_limit_check" CHECK (num_nonnulls("max_concurrent_holds", "max_window_seconds", "max_channel_hours_per_span_per_month") > 0)
      )`);

    // Serializes the quota checks (and quota changes) of one tenant; ends with the transaction.
    await q.query(`
      CREATE FUNCTION "tenant_quota_lock"(p_tenant uuid) RETURNS void LANGUAGE sql AS $$
        SELECT pg_advisory_xact_lock(hashtextextended('tenant-quota:' || p_tenant::text, 0))
      $$`);

    // Seconds of a window inside one calendar month (UTC); the month is given by its first day. One
    // expression, so that PostgreSQL inlines it into the queries that call it.
    await q.query(`
      CREATE FUNCTION "quota_month_seconds"(p_during tstzrange, p_month date) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
        SELECT coalesce(extract(epoch FROM
                 upper(p_during * tstzrange(p_month::timestamp AT TIME ZONE 'UTC', (p_month + interval '1 month') AT TIME ZONE 'UTC'))
               - lower(p_during * tstzrange(p_month::timestamp AT TIME ZONE 'UTC', (p_month + interval '1 month') AT TIME ZONE 'UTC'))), 0)
      $$`);

    // The calendar months (UTC) a half-open window touches, by their first day.
    await q.query(`
      CREATE FUNCTION "quota_months"(p_during tstzrange) RETURNS SETOF date LANGUAGE sql IMMUTABLE AS $$
        SELECT m::date FROM generate_series(date_trunc('month', lower(p_during) AT TIME ZONE 'UTC'),
                                            date_trunc('month', (upper(p_during) AT TIME ZONE 'UTC') - interval '1 microsecond'),
                                            interval '1 month') AS m
      $$`);

    // The reservations a tenant holds capacity with, by end: what the channel-hour check reads, so that it
    // costs a tenant what its own reservations cost, however busy the spans and however long its history.
    await q.query(`
      CREATE INDEX "reservations_tenant_claims_idx" ON "reservations" ("tenant_id", "end_at")
      WHERE "state" <> ALL (ARRAY['RELEASED', 'CANCELLED', 'EXPIRED', 'FAILED'])`);

    // What the channel-hour quota bounds: the tenant's seconds on each link in one month. The API shows the same.
    await q.query(`
      CREATE FUNCTION "tenant_span_usage"(p_tenant uuid, p_month date) RETURNS TABLE (link_id uuid, seconds numeric)
      LANGUAGE sql STABLE AS $$
        SELECT a.link_id,
               sum(extract(epoch FROM greatest(least(upper(a.during), m.month_end) - greatest(lower(a.during), m.month_start), interval '0')))
          FROM (SELECT p_month::timestamp AT TIME ZONE 'UTC' AS month_start,
                       (p_month + interval '1 month') AT TIME ZONE 'UTC' AS month_end) AS m
          JOIN reservations r ON r.tenant_id = p_tenant
                             AND r.state <> ALL (ARRAY['RELEASED', 'CANCELLED', 'EXPIRED', 'FAILED'])
                             AND r.end_at > m.month_start AND r.start_at < m.month_end
          -- By reservation only: the window's overlap is computed, not searched, so no plan scans the span's index.
          JOIN link_allocations a ON a.reservation_id = r.id
         GROUP BY a.link_id
      $$`);

    // What the hold quota bounds.
    await q.query(`
      CREATE FUNCTION "tenant_held_count"(p_tenant uuid) RETURNS integer LANGUAGE sql STABLE AS $$
        SELECT count(*)::int FROM reservations WHERE tenant_id = p_tenant AND state = 'HELD'
      $$`);

    // Checks one reservation that was inserted, or whose claim (path, window) grew or which became HELD.
    await q.query(`
      CREATE FUNCTION "tenant_quota_check"() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        quota tenant_quotas%ROWTYPE;
        inserted boolean := TG_OP = 'INSERT';
        added_hold boolean;
        refusal record;
      BEGIN
        -- What a tenant without quotas pays: this one lookup by primary key.
        SELECT * INTO quota FROM tenant_quotas WHERE tenant_id = NEW.tenant_id;
        IF NOT FOUND OR NEW.state IN ('RELEASED', 'CANCELLED', 'EXPIRED', 'FAILED') THEN
          RETURN NULL;
        END IF;

        -- A window's length depends on its own row only: no lock needed.
        IF extract(epoch FROM NEW.end_at - NEW.start_at) > quota.max_window_seconds
           AND (inserted OR NEW.end_at - NEW.start_at > OLD.end_at - OLD.start_at) THEN
          RAISE EXCEPTION USING
            ERRCODE = 'AQ001',
            MESSAGE = format('Quota MAX_WINDOW_SECONDS: a reservation of this tenant may last at most %s s; this one would last %s s.',
                             quota.max_window_seconds, trim_scale(extract(epoch FROM NEW.end_at - NEW.start_at))),
            DETAIL = json_build_object('quota', 'MAX_WINDOW_SECONDS', 'limit', quota.max_window_seconds,
                                       'requested', trim_scale(extract(epoch FROM NEW.end_at - NEW.start_at)))::text,
            HINT = 'Shorten the window, or ask the operator to raise the quota.';
        END IF;

        added_hold := NEW.state = 'HELD' AND (inserted OR OLD.state <> 'HELD');
        IF NOT (added_hold AND quota.max_concurrent_holds IS NOT NULL) AND quota.max_channel_hours_per_span_per_month IS NULL THEN
          RETURN NULL;
        END IF;
        PERFORM tenant_quota_lock(NEW.tenant_id);
        -- From here on every query sees what the transactions that held the lock before us committed, the
        -- quota included.
        SELECT * INTO quota FROM tenant_quotas WHERE tenant_id = NEW.tenant_id;
        IF NOT FOUND THEN
          RETURN NULL;
        END IF;

        IF added_hold AND quota.max_concurrent_holds IS NOT NULL THEN
          SELECT h.held INTO refusal FROM (SELECT tenant_held_count(NEW.tenant_id) AS held) AS h
           WHERE h.held > quota.max_concurrent_holds;
          IF FOUND THEN
            RAISE EXCEPTION USING
              ERRCODE = 'AQ001',
              MESSAGE = format('Quota MAX_CONCURRENT_HOLDS: this tenant may have %s %s at once; this request would make %s.',
                               quota.max_concurrent_holds,
                               CASE WHEN quota.max_concurrent_holds = 1 THEN 'reservation HELD' ELSE 'reservations HELD' END, refusal.held),
              DETAIL = json_build_object('quota', 'MAX_CONCURRENT_HOLDS', 'limit', quota.max_concurrent_holds,
                                         'requested', refusal.held, 'used', refusal.held - 1)::text,
              HINT = 'Commit or cancel a hold first, book with autoCommit, or ask the operator to raise the quota.';
          END IF;
        END IF;

        IF quota.max_channel_hours_per_span_per_month IS NULL THEN
          RETURN NULL;
        END IF;
        -- What the reservation claims now less what it claimed before, per link and month; where that grew,
        -- the usage recomputed from link_allocations (this transaction's rows included) must stay within the quota.
        WITH claim AS (
          SELECT l AS link_id, m.month, quota_month_seconds(tstzrange(NEW.start_at, NEW.end_at), m.month) AS seconds
            FROM unnest(NEW.path_link_ids) AS l, quota_months(tstzrange(NEW.start_at, NEW.end_at)) AS m(month)
          UNION ALL
          SELECT l, m.month, -quota_month_seconds(tstzrange(OLD.start_at, OLD.end_at), m.month)
            FROM unnest(OLD.path_link_ids) AS l, quota_months(tstzrange(OLD.start_at, OLD.end_at)) AS m(month)
           WHERE NOT inserted AND OLD.state NOT IN ('RELEASED', 'CANCELLED', 'EXPIRED', 'FAILED')
        ), grown AS (
          SELECT c.link_id, c.month, sum(c.seconds) AS seconds FROM claim c GROUP BY 1, 2 HAVING sum(c.seconds) > 0
        ), usage AS MATERIALIZED (
          SELECT m.month, u.link_id, u.seconds
            FROM (SELECT DISTINCT g.month FROM grown g) AS m
            CROSS JOIN LATERAL tenant_span_usage(NEW.tenant_id, m.month) AS u
        )
        SELECT g.link_id, l.code AS link_code, g.month, u.seconds - g.seconds AS used_seconds, u.seconds AS requested_seconds
          INTO refusal
          FROM grown g
          JOIN usage u ON u.month = g.month AND u.link_id = g.link_id
          JOIN links l ON l.id = g.link_id
         WHERE u.seconds > quota.max_channel_hours_per_span_per_month * 3600::numeric
         ORDER BY g.month, l.code
         LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION USING
            ERRCODE = 'AQ001',
            MESSAGE = format('Quota MAX_CHANNEL_HOURS_PER_SPAN_PER_MONTH: this tenant may hold %s channel-hours on span %s in %s (UTC); this request would bring it to %s (%s held already).',
                             quota.max_channel_hours_per_span_per_month, refusal.link_code, to_char(refusal.month, 'YYYY-MM'),
                             trim_scale(round(refusal.requested_seconds / 3600, 4)), trim_scale(round(refusal.used_seconds / 3600, 4))),
            DETAIL = json_build_object('quota', 'MAX_CHANNEL_HOURS_PER_SPAN_PER_MONTH', 'limit', quota.max_channel_hours_per_span_per_month,
                                       'requested', trim_scale(round(refusal.requested_seconds / 3600, 4)),
                                       'used', trim_scale(round(refusal.used_seconds / 3600, 4)),
                                       'linkId', refusal.link_id, 'linkCode', refusal.link_code,
                                       'month', to_char(refusal.month, 'YYYY-MM'))::text,
            HINT = format('Ask the operator to raise the quota, cancel reservations on %s in %s, or book a shorter window or another month.',
                          refusal.link_code, to_char(refusal.month, 'YYYY-MM'));
        END IF;
        RETURN NULL;
      END
      $$`);

    // Deferred to commit, so the check sees everything the transaction wrote, in whatever statements: the
    // booking's single statement as much as an extension's or a reroute's several.
    await q.query(`
      CREATE CONSTRAINT TRIGGER "reservations_quota_insert" AFTER INSERT ON "reservations"
      DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW EXECUTE FUNCTION "tenant_quota_check"()`);
    // Only a change of what a reservation claims invokes it; a state change, a commit included, does not.
    await q.query(`
      CREATE CONSTRAINT TRIGGER "reservations_quota_update" AFTER UPDATE ON "reservations"
      DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW
      WHEN (NEW.path_link_ids IS DISTINCT FROM OLD.path_link_ids
            OR NEW.start_at IS DISTINCT FROM OLD.start_at
            OR NEW.end_at IS DISTINCT FROM OLD.end_at
            OR (NEW.state = 'HELD' AND OLD.state IS DISTINCT FROM 'HELD'))
      EXECUTE FUNCTION "tenant_quota_check"()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TRIGGER "reservations_quota_update" ON "reservations"');
    await q.query('DROP TRIGGER "reservations_quota_insert" ON "reservations"');
    await q.query('DROP FUNCTION "tenant_quota_check"()');
    await q.query('DROP FUNCTION "tenant_held_count"(uuid)');
    await q.query('DROP FUNCTION "tenant_span_usage"(uuid, date)');
    await q.query('DROP INDEX "reservations_tenant_claims_idx"');
    await q.query('DROP FUNCTION "quota_months"(tstzrange)');
    await q.query('DROP FUNCTION "quota_month_seconds"(tstzrange, date)');
    await q.query('DROP FUNCTION "tenant_quota_lock"(uuid)');
    await q.query('DROP TABLE "tenant_quotas"');
  }
}
