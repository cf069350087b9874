import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-tenant quotas, enforced by PostgreSQL as capacity is: no check-then-insert that two concurrent
 * requests could both pass.
 *
 * `tenant_quotas` holds at most one row per tenant; a tenant without a row has no quota. Statement-level
 * AFTER triggers on `reservations` and `link_allocations` see every row a statement wrote (a booking's
 * single statement included: its CTEs have all run when they fire), find the tenants concerned that have a
 * quota row (one indexed lookup; tenants without one stop there and take no lock), and only when the
 * statement raised what a quota bounds:
 *  - take a transaction-scoped advisory lock per tenant (in tenant order), so that two transactions of one
 *    tenant check one after the other, the second seeing what the first committed;
 *  - recompute the usage from the tables themselves (a fresh snapshot after the lock) and refuse with
 *    SQLSTATE AQ001 when it exceeds the quota: the message says what, the hint what to do, and the detail
 *    is a JSON object (quota, limit, requested, used, and the span and month where they apply).
 *
 * Quotas only refuse growth: a statement that lowers or keeps a usage (committing a hold, a state change, a
 * reroute onto the same spans' hours) passes even when an operator has set a quota below the current usage.
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

    // Seconds of a window inside one calendar month (UTC); the month is given by its first day.
    await q.query(`
      CREATE FUNCTION "quota_month_seconds"(p_during tstzrange, p_month date) RETURNS numeric LANGUAGE sql IMMUTABLE AS $$
        SELECT coalesce(extract(epoch FROM upper(x) - lower(x)), 0)
          FROM (SELECT p_during * tstzrange(p_month::timestamp AT TIME ZONE 'UTC',
                                            (p_month + interval '1 month') AT TIME ZONE 'UTC') AS x) AS s
      $$`);

    // The calendar months (UTC) a half-open window touches, by their first day.
    await q.query(`
      CREATE FUNCTION "quota_months"(p_during tstzrange) RETURNS SETOF date LANGUAGE sql IMMUTABLE AS $$
        SELECT m::date FROM generate_series(date_trunc('month', lower(p_during) AT TIME ZONE 'UTC'),
                                            date_trunc('month', (upper(p_during) AT TIME ZONE 'UTC') - interval '1 microsecond'),
                                            interval '1 month') AS m
      $$`);

    // What the channel-hour quota bounds: the tenant's seconds on one link in one month. The API shows the same.
    await q.query(`
      CREATE FUNCTION "tenant_span_seconds"(p_tenant uuid, p_link uuid, p_month date) RETURNS numeric LANGUAGE sql STABLE AS $$
        SELECT coalesce(sum(quota_month_seconds(a.during, p_month)), 0)
          FROM link_allocations a
          JOIN reservations r ON r.id = a.reservation_id
         WHERE a.link_id = p_link
           AND r.tenant_id = p_tenant
           AND a.during && tstzrange(p_month::timestamp AT TIME ZONE 'UTC', (p_month + interval '1 month') AT TIME ZONE 'UTC')
      $$`);

    // What the hold quota bounds.
    await q.query(`
      CREATE FUNCTION "tenant_held_count"(p_tenant uuid) RETURNS integer LANGUAGE sql STABLE AS $$
        SELECT count(*)::int FROM reservations WHERE tenant_id = p_tenant AND state = 'HELD'
      $$`);

    // Holds and window length: what a statement on reservations can raise.
    await q.query(`
      CREATE FUNCTION "tenant_quota_reservations_check"() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        tenants uuid[];
        added_holds integer[];
        window_seconds numeric[];
        t uuid;
        refusal record;
      BEGIN
        -- Rows that added a hold or lengthened a window, of tenants with a quota row: one indexed lookup.
        IF TG_OP = 'INSERT' THEN
          SELECT array_agg(n.tenant_id), array_agg((n.state = 'HELD')::int),
                 array_agg(extract(epoch FROM n.end_at - n.start_at))
            INTO tenants, added_holds, window_seconds
            FROM new_rows n JOIN tenant_quotas q ON q.tenant_id = n.tenant_id;
        ELSE
          SELECT array_agg(n.tenant_id), array_agg((n.state = 'HELD' AND o.state <> 'HELD')::int),
                 array_agg(CASE WHEN n.end_at - n.start_at > o.end_at - o.start_at THEN extract(epoch FROM n.end_at - n.start_at) END)
            INTO tenants, added_holds, window_seconds
            FROM new_rows n
            JOIN old_rows o ON o.id = n.id
            JOIN tenant_quotas q ON q.tenant_id = n.tenant_id
           WHERE (n.state = 'HELD' AND o.state <> 'HELD') OR n.end_at - n.start_at > o.end_at - o.start_at;
        END IF;
        IF tenants IS NULL THEN
          RETURN NULL;
        END IF;

        -- A window's length depends on its own row only: no lock needed.
        SELECT c.seconds, q.max_window_seconds AS quota INTO refusal
          FROM unnest(tenants, window_seconds) AS c(tenant_id, seconds)
          JOIN tenant_quotas q ON q.tenant_id = c.tenant_id
         WHERE c.seconds > q.max_window_seconds
         ORDER BY c.seconds DESC
         LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION USING
            ERRCODE = 'AQ001',
            MESSAGE = format('Quota MAX_WINDOW_SECONDS: a reservation of this tenant may last at most %s s; this one would last %s s.',
                             refusal.quota, trim_scale(refusal.seconds)),
            DETAIL = json_build_object('quota', 'MAX_WINDOW_SECONDS', 'limit', refusal.quota,
                                       'requested', trim_scale(refusal.seconds))::text,
            HINT = 'Shorten the window, or ask the operator to raise the quota.';
        END IF;

        FOR t IN
          SELECT DISTINCT c.tenant_id
            FROM unnest(tenants, added_holds) AS c(tenant_id, added)
            JOIN tenant_quotas q ON q.tenant_id = c.tenant_id
           WHERE c.added > 0 AND q.max_concurrent_holds IS NOT NULL
           ORDER BY 1
        LOOP
          PERFORM tenant_quota_lock(t);
        END LOOP;
        IF NOT FOUND THEN
          RETURN NULL;
        END IF;
        -- From here on every query sees what the transactions that held the lock before us committed.
        SELECT a.added, h.held, q.max_concurrent_holds AS quota INTO refusal
          FROM (SELECT c.tenant_id, sum(c.added)::int AS added
                  FROM unnest(tenants, added_holds) AS c(tenant_id, added)
                 WHERE c.added > 0 GROUP BY 1) AS a
          JOIN tenant_quotas q ON q.tenant_id = a.tenant_id
          CROSS JOIN LATERAL (SELECT tenant_held_count(a.tenant_id) AS held) AS h
         WHERE h.held > q.max_concurrent_holds
         ORDER BY a.tenant_id
         LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION USING
            ERRCODE = 'AQ001',
            MESSAGE = format('Quota MAX_CONCURRENT_HOLDS: this tenant may have %s %s at once; this request would make %s.',
                             refusal.quota, CASE WHEN refusal.quota = 1 THEN 'reservation HELD' ELSE 'reservations HELD' END, refusal.held),
            DETAIL = json_build_object('quota', 'MAX_CONCURRENT_HOLDS', 'limit', refusal.quota,
                                       'requested', refusal.held, 'used', refusal.held - refusal.added)::text,
            HINT = 'Commit or cancel a hold first, book with autoCommit, or ask the operator to raise the quota.';
        END IF;
        RETURN NULL;
      END
      $$`);

    // Channel-hours per span and month: what a statement on link_allocations can raise.
    await q.query(`
      CREATE FUNCTION "tenant_quota_link_allocations_check"() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        tenants uuid[];
        reservation_ids uuid[];
        link_ids uuid[];
        durings tstzrange[];
        signs integer[];
        t uuid;
        refusal record;
      BEGIN
        -- The tenants of the rows written that have a channel-hour quota: one indexed lookup.
        SELECT array_agg(DISTINCT r.tenant_id ORDER BY r.tenant_id) INTO tenants
          FROM (SELECT DISTINCT reservation_id FROM new_rows) AS n
          JOIN reservations r ON r.id = n.reservation_id
          JOIN tenant_quotas q ON q.tenant_id = r.tenant_id
         WHERE q.max_channel_hours_per_span_per_month IS NOT NULL;
        IF tenants IS NULL THEN
          RETURN NULL;
        END IF;
        FOREACH t IN ARRAY tenants LOOP
          PERFORM tenant_quota_lock(t);
        END LOOP;

        -- The rows written count in, the rows they replaced (an UPDATE's old rows) count out.
        IF TG_OP = 'INSERT' THEN
          SELECT array_agg(reservation_id), array_agg(link_id), array_agg(during), array_agg(1)
            INTO reservation_ids, link_ids, durings, signs FROM new_rows;
        ELSE
          SELECT array_agg(c.reservation_id), array_agg(c.link_id), array_agg(c.during), array_agg(c.sign)
            INTO reservation_ids, link_ids, durings, signs
            FROM (SELECT reservation_id, link_id, during, 1 AS sign FROM new_rows
                  UNION ALL
                  SELECT reservation_id, link_id, during, -1 FROM old_rows) AS c;
        END IF;

        -- From here on every query sees what the transactions that held the lock before us committed.
        WITH change AS (
          SELECT r.tenant_id, c.link_id, m.month, sum(c.sign * quota_month_seconds(c.during, m.month)) AS seconds
            FROM unnest(reservation_ids, link_ids, durings, signs) AS c(reservation_id, link_id, during, sign)
            JOIN reservations r ON r.id = c.reservation_id AND r.tenant_id = ANY (tenants)
            CROSS JOIN LATERAL quota_months(c.during) AS m(month)
           GROUP BY 1, 2, 3
        )
        SELECT c.tenant_id, c.link_id, l.code AS link_code, c.month, q.max_channel_hours_per_span_per_month AS quota,
               u.seconds - c.seconds AS used_seconds, u.seconds AS requested_seconds
          INTO refusal
          FROM change c
          JOIN tenant_quotas q ON q.tenant_id = c.tenant_id
          JOIN links l ON l.id = c.link_id
          CROSS JOIN LATERAL (SELECT tenant_span_seconds(c.tenant_id, c.link_id, c.month) AS seconds) AS u
         WHERE c.seconds > 0
           AND u.seconds > q.max_channel_hours_per_span_per_month * 3600::numeric
         ORDER BY c.month, l.code
         LIMIT 1;
        IF FOUND THEN
          RAISE EXCEPTION USING
            ERRCODE = 'AQ001',
            MESSAGE = format('Quota MAX_CHANNEL_HOURS_PER_SPAN_PER_MONTH: this tenant may hold %s channel-hours on span %s in %s (UTC); this request would bring it to %s (%s held already).',
                             refusal.quota, refusal.link_code, to_char(refusal.month, 'YYYY-MM'),
                             trim_scale(round(refusal.requested_seconds / 3600, 4)), trim_scale(round(refusal.used_seconds / 3600, 4))),
            DETAIL = json_build_object('quota', 'MAX_CHANNEL_HOURS_PER_SPAN_PER_MONTH', 'limit', refusal.quota,
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

    // Transition tables allow one event per trigger: INSERT and UPDATE each have their own.
    await q.query(`
      CREATE TRIGGER "reservations_quota_insert" AFTER INSERT ON "reservations"
      REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION "tenant_quota_reservations_check"()`);
    await q.query(`
      CREATE TRIGGER "reservations_quota_update" AFTER UPDATE ON "reservations"
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION "tenant_quota_reservations_check"()`);
    await q.query(`
      CREATE TRIGGER "link_allocations_quota_insert" AFTER INSERT ON "link_allocations"
      REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION "tenant_quota_link_allocations_check"()`);
    await q.query(`
      CREATE TRIGGER "link_allocations_quota_update" AFTER UPDATE ON "link_allocations"
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION "tenant_quota_link_allocations_check"()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TRIGGER "link_allocations_quota_update" ON "link_allocations"');
    await q.query('DROP TRIGGER "link_allocations_quota_insert" ON "link_allocations"');
    await q.query('DROP TRIGGER "reservations_quota_update" ON "reservations"');
    await q.query('DROP TRIGGER "reservations_quota_insert" ON "reservations"');
    await q.query('DROP FUNCTION "tenant_quota_link_allocations_check"()');
    await q.query('DROP FUNCTION "tenant_quota_reservations_check"()');
    await q.query('DROP FUNCTION "tenant_held_count"(uuid)');
    await q.query('DROP FUNCTION "tenant_span_seconds"(uuid, uuid, date)');
    await q.query('DROP FUNCTION "quota_months"(tstzrange)');
    await q.query('DROP FUNCTION "quota_month_seconds"(tstzrange, date)');
    await q.query('DROP FUNCTION "tenant_quota_lock"(uuid)');
    await q.query('DROP TABLE "tenant_quotas"');
  }
}
