import {
  countRows,
  createTenantWithKey,
  endpointIds,
  gql,
  gqlOk,
  GqlResult,
  RESERVE,
  startTestService,
  TestService,
  waitFor,
} from './support/service';

const HOUR_MS = 3_600_000;

/** The first instant of the calendar month (UTC) `offset` months from now. */
function monthStart(offset: number): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
}

const label = (month: Date) => month.toISOString().slice(0, 7);

/** [start + fromHour, start + fromHour + hours) as the API takes it. */
function hours(start: Date, fromHour: number, hours: number): { start: string; end: string } {
  const s = start.getTime() + fromHour * HOUR_MS;
  return { start: new Date(s).toISOString(), end: new Date(s + hours * HOUR_MS).toISOString() };
}

const SET_QUOTA = `mutation($t: ID!, $input: TenantQuotaInput!) {
  setTenantQuota(tenantId: $t, input: $input) {
    tenantId maxConcurrentHolds maxWindowSeconds maxChannelHoursPerSpanPerMonth updatedAt
    usage { month holds spans { linkCode channelHours remainingChannelHours } }
  }
}`;
const READ_QUOTA = `query($t: ID, $month: String) {
  tenantQuota(tenantId: $t, month: $month) {
    tenantId maxConcurrentHolds maxWindowSeconds maxChannelHoursPerSpanPerMonth updatedAt
    usage { month holds spans { linkId linkCode channelHours remainingChannelHours } }
  }
}`;
const EXTEND = 'mutation($id: ID!, $end: DateTime!) { extendReservation(id: $id, end: $end) { id end } }';
const COMMIT = 'mutation($id: ID!) { commitReservation(id: $id) { id state } }';
const CANCEL = 'mutation($id: ID!) { cancelReservation(id: $id) { id state } }';

/** Everything a booking or an extension writes. */
const WRITTEN = ['reservations', 'link_allocations', 'endpoint_allocations', 'reservation_transitions', 'audit_log'];

describe('tenant quotas, enforced by the database (e2e over HTTP)', () => {
  let t: TestService;
  let ep: Record<string, string>;
  /** A month wholly in the future, and the next one. */
  const month = monthStart(2);
  const nextMonth = monthStart(3);

  beforeAll(async () => {
    // Holds outlive the file, so no expiry writes anything while a test counts rows.
    // Setup gives up quickly (a rerouted lightpath's fate is one of the tests).
    t = await startTestService({
      LOG_LEVEL: 'warn',
      APN_HOLD_TTL_S: '3600',
      APN_JOB_ATTEMPTS: '2',
      APN_JOB_BACKOFF_MS: '100',
      APN_EMULATOR_HOP_MS: '10',
    });
    ep = await endpointIds(t);
  });
  afterAll(() => t?.stop());

  const setQuota = (tenantId: string, input: Record<string, unknown>, token = t.adminToken) =>
    gql(t.url, token, SET_QUOTA, { t: tenantId, input });
  const written = () => Promise.all(WRITTEN.map((table) => countRows(t, table)));
  /** Otemachi to Ishikari: nine spans, AOM–HKD among them. */
  const toIshikari = (token: string, w: { start: string; end: string }, extra: Record<string, unknown> = {}, n = 1) =>
    gql(t.url, token, RESERVE, {
      input: {
        sourceEndpointId: ep[`OTE-HQ-100G-${n}`],
        destinationEndpointId: ep[`ISK-GDC-100G-${n}`],
        rateGbps: 100,
        autoCommit: true,
        ...w,
        ...extra,
      },
    });
  const refusal = (r: GqlResult) => {
    expect(r.data).toBeNull();
    expect(r.errors).toHaveLength(1);
    return r.errors![0];
  };

  it('refuses the booking that would exceed the channel-hours on AOM–HKD in a month, naming quota, span and month, and writes nothing', async () => {
    const capped = await createTenantWithKey(t, 'Capped Corp');
    const other = await createTenantWithKey(t, 'Unlimited Inc');
    const set = await setQuota(capped.tenantId, { maxChannelHoursPerSpanPerMonth: 3 });
    expect(set.errors).toBeUndefined();
    expect(set.data!.setTenantQuota).toMatchObject({
      tenantId: capped.tenantId,
      maxChannelHoursPerSpanPerMonth: 3,
      maxConcurrentHolds: null,
      maxWindowSeconds: null,
    });

    const first = await toIshikari(capped.token, hours(month, 10, 1));
    const second = await toIshikari(capped.token, hours(month, 20, 2));
    expect([first.errors, second.errors]).toEqual([undefined, undefined]);

    const before = await written();
    const third = refusal(await toIshikari(capped.token, hours(month, 30, 1)));
    expect(third.extensions).toMatchObject({
      code: 'NO_CAPACITY',
      quota: 'MAX_CHANNEL_HOURS_PER_SPAN_PER_MONTH',
      limit: 3,
      requested: 4,
      used: 3,
      linkCode: 'AOM-HKD',
      month: label(month),
    });
    expect(third.message).toContain('MAX_CHANNEL_HOURS_PER_SPAN_PER_MONTH');
    expect(third.message).toContain(`span AOM-HKD in ${label(month)}`);
    expect(third.message).toMatch(/ask the operator/i);
    expect(await written()).toEqual(before);

    // Another tenant books the very same window and ports; the tenant itself still books other months and spans.
    expect((await toIshikari(other.token, hours(month, 30, 1))).errors).toBeUndefined();
    expect((await toIshikari(capped.token, hours(nextMonth, 30, 3))).errors).toBeUndefined();
    const tama = await gql(t.url, capped.token, RESERVE, {
      input: {
        sourceEndpointId: ep['OTE-HQ-100G-2'],
        destinationEndpointId: ep['TAM-GDC-100G-1'],
        rateGbps: 100,
        autoCommit: true,
        ...hours(month, 30, 3),
      },
    });
    expect(tama.errors).toBeUndefined();

    // Extending a booking past the quota is refused the same way, and the end stays where it was.
    const id = first.data!.reserveLightpath.id as string;
    const longer = new Date(new Date(hours(month, 10, 1).end).getTime() + HOUR_MS / 2).toISOString();
    const beforeExtension = await written();
    const extension = refusal(await gql(t.url, capped.token, EXTEND, { id, end: longer }));
    expect(extension.extensions).toMatchObject({
      code: 'NO_CAPACITY',
      quota: 'MAX_CHANNEL_HOURS_PER_SPAN_PER_MONTH',
      limit: 3,
      requested: 3.5,
      used: 3,
      linkCode: 'AOM-HKD',
    });
    expect(await written()).toEqual(beforeExtension);
    const stored = await t.sql.query('SELECT end_at FROM reservations WHERE id = $1', [id]);
    expect(new Date(stored.rows[0].end_at).toISOString()).toBe(hours(month, 10, 1).end);

    // A reroute is held to it too. Written as the service writes one (ReservationsService.reroute), around a
    // downed OTE-OMY onto OTE-TAM, where the tenant holds its 3 channel-hours already: the commit is refused.
    const linkIds = Object.fromEntries((await t.sql.query('SELECT code, id FROM links')).rows.map((l) => [l.code, l.id]));
    const around = ['OTE-TAM', 'TAM-OMY', 'OMY-UTN', 'UTN-SRK', 'SRK-SDI', 'SDI-MRK', 'MRK-AOM', 'AOM-HKD', 'HKD-SPR', 'SPR-ISK'].map(
      (code) => linkIds[code],
    );
    const w = hours(month, 10, 1);
    const beforeReroute = await written();
    await t.sql.query('BEGIN');
    try {
      await t.sql.query('DELETE FROM link_allocations WHERE reservation_id = $1', [id]);
      await t.sql.query(
        'INSERT INTO link_allocations (reservation_id, link_id, channel, during) SELECT $1, l, $2, $3::tstzrange FROM unnest($4::uuid[]) AS l',
        [id, first.data!.reserveLightpath.channel, `[${w.start},${w.end})`, around],
      );
      await t.sql.query('UPDATE reservations SET path_link_ids = $2::uuid[], updated_at = now() WHERE id = $1', [id, around]);
      const commit = t.sql.query('COMMIT');
      await expect(commit).rejects.toMatchObject({ code: 'AQ001', message: expect.stringContaining('span OTE-TAM') });
      const detail = await commit.catch((error: { detail: string }) => JSON.parse(error.detail));
      expect(detail).toMatchObject({ quota: 'MAX_CHANNEL_HOURS_PER_SPAN_PER_MONTH', limit: 3, requested: 4, used: 3, linkCode: 'OTE-TAM' });
    } finally {
      await t.sql.query('ROLLBACK');
    }
    expect(await written()).toEqual(beforeReroute);

    // The tenant sees where it stands.
    const seen = await gqlOk(t.url, capped.token, READ_QUOTA, { month: label(month) });
    const spans = seen.tenantQuota.usage.spans as Array<{ linkCode: string; channelHours: number; remainingChannelHours: number }>;
    expect(spans.find((s) => s.linkCode === 'AOM-HKD')).toMatchObject({ channelHours: 3, remainingChannelHours: 0 });
    expect(spans.find((s) => s.linkCode === 'OTE-TAM')).toMatchObject({ channelHours: 3, remainingChannelHours: 0 });
  });

  it('counts a window that crosses months in each month for the part inside it', async () => {
    const straddler = await createTenantWithKey(t, 'Straddler Ltd');
    await gqlOk(t.url, t.adminToken, SET_QUOTA, { t: straddler.tenantId, input: { maxChannelHoursPerSpanPerMonth: 1 } });
    // Two hours across midnight at the turn of the month: one hour in each, each within the quota.
    const across = await toIshikari(straddler.token, hours(nextMonth, -1, 2), {}, 3);
    expect(across.errors).toBeUndefined();
    for (const m of [month, nextMonth]) {
      const seen = await gqlOk(t.url, straddler.token, READ_QUOTA, { month: label(m) });
      expect(seen.tenantQuota.usage.spans.find((s: { linkCode: string }) => s.linkCode === 'AOM-HKD')).toMatchObject({
        channelHours: 1,
        remainingChannelHours: 0,
      });
    }
    const more = refusal(await toIshikari(straddler.token, hours(month, 50, 0.5), {}, 3));
    expect(more.extensions).toMatchObject({
      quota: 'MAX_CHANNEL_HOURS_PER_SPAN_PER_MONTH',
      limit: 1,
      requested: 1.5,
      used: 1,
      month: label(month),
    });
  });

  it('twelve concurrent bookings of a tenant with 5 channel-hours a month: exactly five pass, decided by the database', async () => {
    const racer = await createTenantWithKey(t, 'Racing Labs');
    await gqlOk(t.url, t.adminToken, SET_QUOTA, { t: racer.tenantId, input: { maxChannelHoursPerSpanPerMonth: 5 } });
    // Twelve one-hour windows that collide on nothing: only the quota can refuse any of them.
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => toIshikari(racer.token, hours(month, 100 + 2 * i, 1), {}, 4)));
    const refused = results.filter((r) => r.errors).map((r) => r.errors![0].extensions);
    expect({ booked: results.length - refused.length, refused: refused.length }).toEqual({ booked: 5, refused: 7 });
    for (const e of refused)
      expect(e).toMatchObject({ code: 'NO_CAPACITY', quota: 'MAX_CHANNEL_HOURS_PER_SPAN_PER_MONTH', limit: 5, linkCode: 'AOM-HKD' });
    const held = await t.sql.query(
      `SELECT l.code, sum(extract(epoch FROM upper(a.during) - lower(a.during)) / 3600)::float8 AS hours
         FROM link_allocations a JOIN reservations r ON r.id = a.reservation_id JOIN links l ON l.id = a.link_id
        WHERE r.tenant_id = $1 GROUP BY l.code`,
      [racer.tenantId],
    );
    expect(held.rows).toHaveLength(9);
    for (const row of held.rows) expect(row.hours).toBe(5);
  });

  it('ten concurrent holds of a tenant allowed three: exactly three are held', async () => {
    const holder = await createTenantWithKey(t, 'Concurrent Holders');
    await gqlOk(t.url, t.adminToken, SET_QUOTA, { t: holder.tenantId, input: { maxConcurrentHolds: 3 } });
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => toIshikari(holder.token, hours(month, 200 + 2 * i, 1), { autoCommit: false }, 1)),
    );
    expect(results.filter((r) => !r.errors).length).toBe(3);
    for (const r of results.filter((x) => x.errors))
      expect(r.errors![0].extensions).toMatchObject({ quota: 'MAX_CONCURRENT_HOLDS', limit: 3, requested: 4, used: 3 });
    const held = await t.sql.query(`SELECT count(*)::int AS n FROM reservations WHERE tenant_id = $1 AND state = 'HELD'`, [
      holder.tenantId,
    ]);
    expect(held.rows[0].n).toBe(3);
  });

  it('refuses the hold beyond maxConcurrentHolds; committing or cancelling a hold frees room, and a commit is never refused', async () => {
    const holder = await createTenantWithKey(t, 'Hold Happy');
    await gqlOk(t.url, t.adminToken, SET_QUOTA, { t: holder.tenantId, input: { maxConcurrentHolds: 2 } });
    const hold = (hour: number) => toIshikari(holder.token, hours(month, hour, 1), { autoCommit: false }, 2);
    const a = await hold(300);
    const b = await hold(302);
    expect([a.errors, b.errors]).toEqual([undefined, undefined]);
    expect(a.data!.reserveLightpath.state).toBe('HELD');

    const before = await written();
    const third = refusal(await hold(304));
    expect(third.extensions).toMatchObject({ code: 'NO_CAPACITY', quota: 'MAX_CONCURRENT_HOLDS', limit: 2, requested: 3, used: 2 });
    expect(third.message).toContain('MAX_CONCURRENT_HOLDS');
    expect(third.message).toMatch(/commit or cancel a hold/i);
    expect(await written()).toEqual(before);
    // A booking straight to RESERVED is no hold.
    expect((await toIshikari(holder.token, hours(month, 306, 1), {}, 2)).errors).toBeUndefined();

    await gqlOk(t.url, holder.token, COMMIT, { id: a.data!.reserveLightpath.id });
    const c = await hold(304);
    expect(c.errors).toBeUndefined();
    expect(refusal(await hold(308)).extensions.quota).toBe('MAX_CONCURRENT_HOLDS');
    await gqlOk(t.url, holder.token, CANCEL, { id: b.data!.reserveLightpath.id });
    const d = await hold(308);
    expect(d.errors).toBeUndefined();

    // Lowered below what the tenant holds: new holds are refused, committing one of them is not.
    await gqlOk(t.url, t.adminToken, SET_QUOTA, { t: holder.tenantId, input: { maxConcurrentHolds: 1 } });
    expect(refusal(await hold(310)).extensions).toMatchObject({ quota: 'MAX_CONCURRENT_HOLDS', limit: 1, requested: 3, used: 2 });
    expect((await gqlOk(t.url, holder.token, COMMIT, { id: c.data!.reserveLightpath.id })).commitReservation.state).toBe('RESERVED');
    const seen = await gqlOk(t.url, holder.token, READ_QUOTA);
    expect(seen.tenantQuota).toMatchObject({ maxConcurrentHolds: 1, usage: { holds: 1 } });
  });

  it('refuses a booking longer than maxWindowSeconds and an extension beyond it', async () => {
    const windowed = await createTenantWithKey(t, 'Short Windows');
    await gqlOk(t.url, t.adminToken, SET_QUOTA, { t: windowed.tenantId, input: { maxWindowSeconds: 7200 } });
    const before = await written();
    const long = refusal(await toIshikari(windowed.token, hours(month, 400, 3), {}, 3));
    expect(long.extensions).toMatchObject({ code: 'NO_CAPACITY', quota: 'MAX_WINDOW_SECONDS', limit: 7200, requested: 10800 });
    expect(long.message).toContain('MAX_WINDOW_SECONDS');
    expect(long.message).toMatch(/shorten the window/i);
    expect(await written()).toEqual(before);

    const w = hours(month, 400, 2);
    const ok = await toIshikari(windowed.token, w, {}, 3);
    expect(ok.errors).toBeUndefined();
    const id = ok.data!.reserveLightpath.id as string;
    const longer = new Date(new Date(w.end).getTime() + HOUR_MS / 2).toISOString();
    const beforeExtension = await written();
    const extension = refusal(await gql(t.url, windowed.token, EXTEND, { id, end: longer }));
    expect(extension.extensions).toMatchObject({ code: 'NO_CAPACITY', quota: 'MAX_WINDOW_SECONDS', limit: 7200, requested: 9000 });
    expect(await written()).toEqual(beforeExtension);

    // Cleared, the quota no longer applies.
    const cleared = await gqlOk(t.url, t.adminToken, SET_QUOTA, { t: windowed.tenantId, input: { maxWindowSeconds: null } });
    expect(cleared.setTenantQuota).toMatchObject({ maxWindowSeconds: null, updatedAt: null });
    expect((await gqlOk(t.url, windowed.token, EXTEND, { id, end: longer })).extendReservation.end).toBe(longer);
  });

  it('a tenant reads its own quota and usage, not another’s; operators read any', async () => {
    const reader = await createTenantWithKey(t, 'Quota Reader');
    const stranger = await createTenantWithKey(t, 'Quota Stranger');
    const none = await gqlOk(t.url, reader.token, READ_QUOTA);
    expect(none.tenantQuota).toMatchObject({
      tenantId: reader.tenantId,
      maxConcurrentHolds: null,
      maxWindowSeconds: null,
      maxChannelHoursPerSpanPerMonth: null,
      updatedAt: null,
      usage: { month: new Date().toISOString().slice(0, 7), holds: 0, spans: [] },
    });
    await gqlOk(t.url, t.adminToken, SET_QUOTA, {
      t: reader.tenantId,
      input: { maxChannelHoursPerSpanPerMonth: 10, maxConcurrentHolds: 4 },
    });
    await gqlOk(t.url, reader.token, RESERVE, {
      input: {
        sourceEndpointId: ep['SDI-LAB-100G-1'],
        destinationEndpointId: ep['ISK-GDC-100G-5'],
        rateGbps: 100,
        ...hours(month, 500, 2),
      },
    });
    const own = await gqlOk(t.url, reader.token, READ_QUOTA, { t: reader.tenantId, month: label(month) });
    expect(own.tenantQuota).toMatchObject({
      maxChannelHoursPerSpanPerMonth: 10,
      maxConcurrentHolds: 4,
      usage: { month: label(month), holds: 1 },
    });
    expect(own.tenantQuota.updatedAt).toEqual(expect.any(String));
    expect(own.tenantQuota.usage.spans.find((s: { linkCode: string }) => s.linkCode === 'AOM-HKD')).toMatchObject({
      channelHours: 2,
      remainingChannelHours: 8,
    });

    const other = await gql(t.url, reader.token, READ_QUOTA, { t: stranger.tenantId });
    expect(other.data).toBeNull();
    expect(other.errors![0].extensions.code).toBe('FORBIDDEN');
    const byOperator = await gqlOk(t.url, t.adminToken, READ_QUOTA, { t: reader.tenantId, month: label(month) });
    expect(byOperator.tenantQuota.usage).toEqual(own.tenantQuota.usage);

    const unnamed = await gql(t.url, t.adminToken, READ_QUOTA);
    expect(unnamed.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'tenantId' });
    const unknown = await gql(t.url, t.adminToken, READ_QUOTA, { t: '00000000-0000-4000-8000-000000000000' });
    expect(unknown.errors![0].extensions.code).toBe('NOT_FOUND');
    const badMonth = await gql(t.url, reader.token, READ_QUOTA, { month: '2026-13' });
    expect(badMonth.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'month' });
  });

  it('only operators set quotas; each value is bounded, a bad one names its field and changes nothing; changes are audited', async () => {
    const target = await createTenantWithKey(t, 'Quota Target');
    const billing = (await gqlOk(t.url, t.adminToken, 'mutation { createApiKey(role: BILLING) { secret } }')).createApiKey.secret as string;
    for (const token of [target.token, billing]) {
      const r = await setQuota(target.tenantId, { maxConcurrentHolds: 100 }, token);
      expect(r.errors![0].extensions.code).toBe('FORBIDDEN');
    }

    await gqlOk(t.url, t.adminToken, SET_QUOTA, { t: target.tenantId, input: { maxConcurrentHolds: 5, maxWindowSeconds: 3600 } });
    const stored = () =>
      t.sql.query(
        'SELECT max_concurrent_holds, max_window_seconds, max_channel_hours_per_span_per_month FROM tenant_quotas WHERE tenant_id = $1',
        [target.tenantId],
      );
    const before = (await stored()).rows;
    const audits = await countRows(t, 'audit_log');
    const cases: Array<[string, number]> = [
      ['maxConcurrentHolds', -1],
      ['maxConcurrentHolds', 10_001],
      ['maxWindowSeconds', 59],
      ['maxWindowSeconds', 315_360_001],
      ['maxChannelHoursPerSpanPerMonth', -1],
      ['maxChannelHoursPerSpanPerMonth', 1_000_001],
    ];
    for (const [field, value] of cases) {
      const r = await setQuota(target.tenantId, { maxConcurrentHolds: 7, [field]: value });
      expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: `input.${field}` });
      expect(r.errors![0].message).toContain(`input.${field}`);
    }
    expect((await stored()).rows).toEqual(before);
    expect(await countRows(t, 'audit_log')).toBe(audits);
    const unknown = await setQuota('00000000-0000-4000-8000-000000000000', { maxConcurrentHolds: 1 });
    expect(unknown.errors![0].extensions.code).toBe('NOT_FOUND');

    // null clears one quota, a field left out keeps its value; clearing the last removes the row.
    const partly = await gqlOk(t.url, t.adminToken, SET_QUOTA, {
      t: target.tenantId,
      input: { maxConcurrentHolds: null, maxChannelHoursPerSpanPerMonth: 0 },
    });
    expect(partly.setTenantQuota).toMatchObject({ maxConcurrentHolds: null, maxWindowSeconds: 3600, maxChannelHoursPerSpanPerMonth: 0 });
    await gqlOk(t.url, t.adminToken, SET_QUOTA, {
      t: target.tenantId,
      input: { maxWindowSeconds: null, maxChannelHoursPerSpanPerMonth: null },
    });
    expect((await stored()).rows).toEqual([]);
    const entries = await t.sql.query(
      `SELECT actor, data FROM audit_log WHERE action = 'tenant-quota.set' AND entity_id = $1 ORDER BY id`,
      [target.tenantId],
    );
    expect(entries.rows.map((e) => e.data.to)).toEqual([
      { maxConcurrentHolds: 5, maxWindowSeconds: 3600, maxChannelHoursPerSpanPerMonth: null },
      { maxConcurrentHolds: null, maxWindowSeconds: 3600, maxChannelHoursPerSpanPerMonth: 0 },
      { maxConcurrentHolds: null, maxWindowSeconds: null, maxChannelHoursPerSpanPerMonth: null },
    ]);
    expect(entries.rows[0].actor).toBe('admin-token');
  });
  it('a reroute around a downed link that would exceed a quota is refused: the setup fails naming the quota', async () => {
    const rerouted = await createTenantWithKey(t, 'Rerouted Ltd');
    // Set up at its start, by which time the link is down: the quota and the fault take a few requests.
    const start = Date.now() + 4000;
    const booked = await gqlOk(t.url, rerouted.token, RESERVE, {
      input: {
        sourceEndpointId: ep['OTE-HQ-100G-3'],
        destinationEndpointId: ep['TAM-GDC-100G-2'],
        rateGbps: 100,
        autoCommit: true,
        start: new Date(start).toISOString(),
        end: new Date(start + 60_000).toISOString(),
      },
    });
    const id = booked.reserveLightpath.id as string;
    expect(booked.reserveLightpath.path.map((l: { code: string }) => l.code)).toEqual(['OTE-TAM']);
    // A quota lowered below what the tenant holds keeps its booking; growth onto other spans is refused.
    await gqlOk(t.url, t.adminToken, SET_QUOTA, { t: rerouted.tenantId, input: { maxChannelHoursPerSpanPerMonth: 0 } });
    const links = await gqlOk(t.url, t.adminToken, '{ links { id code } }');
    const oteTam = links.links.find((l: { code: string }) => l.code === 'OTE-TAM').id as string;
    await gqlOk(t.url, t.adminToken, 'mutation($i: InjectFaultInput!) { injectFault(input: $i) { kind } }', {
      i: { kind: 'LINK_DOWN', linkId: oteTam },
    });
    try {
      const failed = await waitFor(
        async () => {
          const r = (
            await gqlOk(t.url, rerouted.token, 'query($id: ID!) { reservation(id: $id) { state history { state reason } } }', { id })
          ).reservation;
          return r.state === 'FAILED' || r.state === 'ACTIVE' ? r : null;
        },
        30_000,
        'the setup to end',
      );
      expect(failed.state).toBe('FAILED');
      expect(failed.history.at(-1).reason).toMatch(/MAX_CHANNEL_HOURS_PER_SPAN_PER_MONTH.*span (OTE-SNG|SNG-TAM)/);
      const held = await t.sql.query('SELECT count(*)::int AS n FROM link_allocations WHERE reservation_id = $1', [id]);
      expect(held.rows[0].n).toBe(0);
    } finally {
      await gqlOk(t.url, t.adminToken, 'mutation($k: FaultKind!, $id: ID!) { clearFault(kind: $k, targetId: $id) }', {
        k: 'LINK_DOWN',
        id: oteTam,
      });
    }
  });
});
