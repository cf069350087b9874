import request from 'supertest';
import { RESERVE, createTenantWithKey, endpointIds, gql, gqlOk, startTestService, waitFor, type TestService } from './support/service';

/**
 * Metering end to end: usage derived from the service's own records, deterministic ids and revisions,
 * ingest of external events, rate-card versions, invoice previews, who sees what, and the export.
 */

const HOUR = 3_600_000;
const COLLECT = 'mutation($u: DateTime) { collectUsage(until: $u) }';
const RECORD = 'mutation($e: [UsageEventInput!]!) { recordUsage(events: $e) { accepted duplicates rejected { index field reason } } }';
const INVOICE = `query($p: String!, $t: ID) { invoicePreview(period: $p, tenantId: $t) {
  tenantId period rateCardVersion currency events
  lines { meter description quantity unit unitPrice amount usageQuantity usageUnit rateGbps distanceClass design energyKwh co2Kg }
  totals { amount energyKwh co2Kg } unrated { meter reason } } }`;
const USAGE =
  'query($f: DateTime!, $to: DateTime!, $t: ID, $g: [UsageGroupBy!]) { usage(from: $f, to: $to, tenantId: $t, groupBy: $g) { meter unit quantity events resourceId day tenantId distanceClass } }';

/** Exact decimal arithmetic on seconds with millisecond fractions. */
const secondsText = (ms: number) => (ms % 1000 === 0 ? String(ms / 1000) : (ms / 1000).toFixed(3).replace(/0+$/, ''));

describe('metering', () => {
  let t: TestService;
  let ep: Record<string, string>;
  let tenant: { tenantId: string; token: string };
  let other: { tenantId: string; token: string };
  let billingToken: string;
  const hourNow = Math.floor(Date.now() / HOUR) * HOUR;
  const period = new Date().toISOString().slice(0, 7);
  const range = { f: new Date(hourNow - 2 * HOUR).toISOString(), to: new Date(hourNow + 3 * HOUR).toISOString() };
  const op = (query: string, variables: Record<string, unknown> = {}) => gqlOk(t.url, t.adminToken, query, variables);
  /** Closes every window up to the end of the next hour. */
  const collect = async () => (await op(COLLECT, { u: new Date(hourNow + 2 * HOUR).toISOString() })).collectUsage as number;

  const bookAndRun = async (src: string, dst: string, lengthMs: number, beforeEnd?: () => Promise<void>) => {
    const start = Date.now() + 1000;
    const r = (
      await gqlOk(t.url, tenant.token, RESERVE, {
        input: {
          sourceEndpointId: ep[src],
          destinationEndpointId: ep[dst],
          rateGbps: 100,
          autoCommit: true,
          start: new Date(start).toISOString(),
          end: new Date(start + lengthMs).toISOString(),
        },
      })
    ).reserveLightpath as { id: string; distanceKm: number };
    const stateOf = async () =>
      (await gqlOk(t.url, tenant.token, 'query($id: ID!) { reservation(id: $id) { state history { state at } } }', { id: r.id }))
        .reservation;
    if (beforeEnd) {
      await waitFor(async () => (await stateOf()).state === 'ACTIVE', 20_000, 'ACTIVE');
      await beforeEnd();
    }
    const done = await waitFor(
      async () => {
        const s = await stateOf();
        return s.state === 'RELEASED' ? s : null;
      },
      30_000,
      'RELEASED',
    );
    // ACTIVE lasts from its transition to the next one.
    const history = done.history as Array<{ state: string; at: string }>;
    const i = history.findIndex((h) => h.state === 'ACTIVE');
    const activeMs = Date.parse(history[i + 1].at) - Date.parse(history[i].at);
    return { id: r.id, distanceKm: r.distanceKm, activeMs };
  };

  const seriesOf = async (resourceId: string, type: string) =>
    (
      await t.sql.query(
        'SELECT id, revision, quantity::text AS quantity, superseded FROM usage_events WHERE resource_id = $1 AND type = $2 ORDER BY time, revision',
        [resourceId, type],
      )
    ).rows;

  beforeAll(async () => {
    t = await startTestService({ APN_MIN_DURATION_S: '1', APN_EMULATOR_HOP_MS: '10', APN_RECONCILE_INTERVAL_S: '1' });
    ep = await endpointIds(t);
    tenant = await createTenantWithKey(t, 'Metered Co');
    other = await createTenantWithKey(t, 'Other Co');
    billingToken = (await op('mutation { createApiKey(role: BILLING) { secret } }')).createApiKey.secret;
  });
  afterAll(async () => {
    await t?.stop();
  });

  let first: { id: string; distanceKm: number; activeMs: number };

  it('meters a lightpath’s ACTIVE time as wavelength-seconds, with one setup and shadow energy', async () => {
    first = await bookAndRun('SDI-LAB-100G-1', 'ISK-GDC-100G-1', 2500);
    expect(await collect()).toBeGreaterThan(0);
    const events = await seriesOf(first.id, 'lightpath.wavelength_seconds');
    const total = events.filter((e) => !e.superseded).reduce((ms, e) => ms + Math.round(Number(e.quantity) * 1000), 0);
    expect(total).toBe(first.activeMs);
    expect(events[0].id).toMatch(new RegExp(`^lightpath\\.wavelength_seconds:${first.id}:\\d{4}-\\d\\d-\\d\\dT\\d\\d:00:00\\.000Z:r1$`));
    expect(await seriesOf(first.id, 'lightpath.setup')).toEqual([expect.objectContaining({ quantity: '1', revision: 1 })]);
    const energy = await seriesOf(first.id, 'energy.kwh');
    expect(Number(energy[0].quantity)).toBeGreaterThan(0);

    const usage = (await gqlOk(t.url, tenant.token, USAGE, { ...range, g: ['RESOURCE'] })).usage as Array<Record<string, string>>;
    const line = usage.find((u) => u.meter === 'lightpath.wavelength_seconds' && u.resourceId === first.id)!;
    expect(line).toMatchObject({ unit: 'second', quantity: secondsText(first.activeMs) });
  });

  it('writes nothing new when collecting again: ids are deterministic', async () => {
    const before = (await t.sql.query('SELECT count(*)::int AS n FROM usage_events')).rows[0].n;
    expect(await collect()).toBe(0);
    expect((await t.sql.query('SELECT count(*)::int AS n FROM usage_events')).rows[0].n).toBe(before);
  });

  let second: { id: string; distanceKm: number; activeMs: number };

  it('corrects provisional usage with revision 2, and the invoice counts only the latest', async () => {
    second = await bookAndRun('SDI-LAB-100G-2', 'ISK-GDC-100G-2', 4000, async () => {
      await new Promise((r) => setTimeout(r, 500));
      expect(await collect()).toBeGreaterThan(0);
    });
    expect(await collect()).toBeGreaterThan(0);
    const events = await seriesOf(second.id, 'lightpath.wavelength_seconds');
    const latest = events.filter((e) => !e.superseded);
    expect(events.some((e) => e.revision === 2 && e.id.endsWith(':r2'))).toBe(true);
    expect(events.filter((e) => e.revision === 1).every((e) => e.superseded || latest.includes(e))).toBe(true);
    const total = latest.reduce((ms, e) => ms + Math.round(Number(e.quantity) * 1000), 0);
    expect(total).toBe(second.activeMs);

    const invoice = (await gqlOk(t.url, tenant.token, INVOICE, { p: period })).invoicePreview;
    const lightpath = invoice.lines.find((l: { meter: string }) => l.meter === 'lightpath.wavelength_seconds');
    expect(lightpath.usageQuantity).toBe(secondsText(first.activeMs + second.activeMs));
    expect(invoice.lines.find((l: { meter: string }) => l.meter === 'lightpath.setup')).toMatchObject({
      quantity: '2.000000',
      unit: 'setup',
    });
    expect(await collect()).toBe(0);
    // The daily totals invoices read agree with the latest revisions themselves.
    const raw = await t.sql.query(
      `SELECT type, sum(quantity)::text AS q, count(*)::int AS n FROM usage_events WHERE NOT superseded GROUP BY type ORDER BY type`,
    );
    const totals = await t.sql.query(
      `SELECT type, sum(quantity)::text AS q, sum(events)::int AS n FROM usage_daily_totals GROUP BY type HAVING sum(events) > 0 ORDER BY type`,
    );
    expect(totals.rows.map((r) => [r.type, Number(r.q), r.n])).toEqual(raw.rows.map((r) => [r.type, Number(r.q), r.n]));
  });

  it('ingests a mixed batch: keeps the good, counts duplicates once, names each bad event by index and field', async () => {
    const hour = new Date(hourNow - HOUR).toISOString();
    const good = {
      specversion: '1.0',
      source: 'urn:example:gpu-agent',
      id: 'g-1',
      type: 'gpu.node_seconds',
      subject: tenant.tenantId,
      time: hour,
      data: { quantity: '7200', resourceId: 'alloc-x' },
    };
    const external = { ...good, id: 'n-1', type: 'nfs.bytes_read', data: { quantity: '123456789' } };
    const batch = [
      good,
      good,
      { ...good, id: 'bad-time', time: new Date(hourNow - HOUR + 60_000).toISOString() },
      { ...good, id: 'bad-subject', subject: '00000000-0000-4000-8000-000000000000' },
      { ...good, id: 'bad-quantity', data: { quantity: '-1' } },
      { ...good, id: 'bad-type', type: 'gpu.node_second' },
      external,
    ];
    const result = (await gqlOk(t.url, billingToken, RECORD, { e: batch })).recordUsage;
    expect(result).toMatchObject({ accepted: 2, duplicates: 1 });
    expect(result.rejected.map((r: { index: number; field: string }) => [r.index, r.field])).toEqual([
      [2, 'events[2].time'],
      [3, 'events[3].subject'],
      [4, 'events[4].data.quantity'],
      [5, 'events[5].type'],
    ]);
    expect((await gqlOk(t.url, t.adminToken, RECORD, { e: [good] })).recordUsage).toMatchObject({
      accepted: 0,
      duplicates: 1,
      rejected: [],
    });

    const refused = await gql(t.url, tenant.token, RECORD, { e: [good] });
    expect(refused.errors![0].extensions.code).toBe('FORBIDDEN');
  });

  it('versions rate cards by effective date and prices invoices with the card in force', async () => {
    const cards = (await gqlOk(t.url, tenant.token, '{ rateCards { version effectiveFrom prices } }')).rateCards;
    expect(cards).toEqual([expect.objectContaining({ version: 1 })]);
    const prices = { ...cards[0].prices, gpuNodeHourUsd: '30' };
    const create = (effectiveFrom: string, p: unknown) =>
      gql(t.url, t.adminToken, 'mutation($i: CreateRateCardInput!) { createRateCard(input: $i) { version effectiveFrom } }', {
        i: { effectiveFrom, prices: p },
      });
    const monthStart = `${period}-01T00:00:00Z`;
    const midMonth = await create(`${period}-15T00:00:00Z`, prices);
    expect(midMonth.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.effectiveFrom' });
    const badPrice = await create(monthStart, { ...prices, gpuNodeHourUsd: '-1' });
    expect(badPrice.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.prices.gpuNodeHourUsd' });
    expect((await create(monthStart, prices)).data!.createRateCard.version).toBe(2);
    const next = new Date(Date.UTC(Number(period.slice(0, 4)), Number(period.slice(5, 7)), 1));
    expect((await create(next.toISOString(), { ...prices, gpuNodeHourUsd: '40' })).data!.createRateCard.version).toBe(3);
    const forbidden = await gql(t.url, tenant.token, 'mutation($i: CreateRateCardInput!) { createRateCard(input: $i) { version } }', {
      i: { effectiveFrom: monthStart, prices },
    });
    expect(forbidden.errors![0].extensions.code).toBe('FORBIDDEN');

    const invoice = (await gqlOk(t.url, billingToken, INVOICE, { p: period, t: tenant.tenantId })).invoicePreview;
    expect(invoice).toMatchObject({ tenantId: tenant.tenantId, period, rateCardVersion: 2, currency: 'USD' });
    expect(invoice.lines.find((l: { meter: string }) => l.meter === 'gpu.node_seconds')).toMatchObject({
      quantity: '2.000000',
      unit: 'node-hour',
      unitPrice: '30',
      amount: '60.000000',
    });
    const lightpath = invoice.lines.find((l: { meter: string }) => l.meter === 'lightpath.wavelength_seconds');
    expect(lightpath).toMatchObject({ rateGbps: 100, unit: 'wavelength-hour' });
    expect(Number(lightpath.energyKwh)).toBeGreaterThan(0);
    expect(Number(lightpath.co2Kg)).toBeGreaterThan(0);
    expect(invoice.unrated).toEqual([expect.objectContaining({ meter: 'nfs.bytes_read' })]);
    const sum = invoice.lines.reduce((s: number, l: { amount: string }) => s + Math.round(Number(l.amount) * 1e6), 0);
    expect(Math.round(Number(invoice.totals.amount) * 1e6)).toBe(sum);
    const nextMonth = (await gqlOk(t.url, billingToken, INVOICE, { p: next.toISOString().slice(0, 7), t: tenant.tenantId })).invoicePreview;
    expect(nextMonth).toMatchObject({ rateCardVersion: 3, lines: [], totals: { amount: '0.000000' } });
    const badPeriod = await gql(t.url, billingToken, INVOICE, { p: '2026-13' });
    expect(badPeriod.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'period' });
  });

  it('shows tenants their own usage only; BILLING sees every tenant', async () => {
    expect((await gqlOk(t.url, other.token, USAGE, { ...range, t: tenant.tenantId })).usage).toEqual([]);
    const theirs = (await gqlOk(t.url, other.token, INVOICE, { p: period, t: tenant.tenantId })).invoicePreview;
    expect(theirs).toMatchObject({ tenantId: other.tenantId, lines: [], events: 0 });
    const all = (await gqlOk(t.url, billingToken, USAGE, { ...range, g: ['TENANT', 'DAY'] })).usage as Array<{
      tenantId: string;
      day: string;
    }>;
    expect(all.map((u) => u.tenantId)).toContain(tenant.tenantId);
    expect(all.every((u) => u.day.endsWith('T00:00:00.000Z'))).toBe(true);
  });

  it('exports the latest revisions as NDJSON CloudEvents and as CSV', async () => {
    const query = { from: range.f, to: range.to };
    const json = await request(t.url)
      .get('/usage/export')
      .query({ ...query, format: 'json' })
      .set('authorization', `Bearer ${tenant.token}`)
      .buffer(true)
      .parse((res, cb) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => cb(null, body));
      });
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toMatch(/application\/x-ndjson/);
    const events = (json.body as string)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const count = (
      await t.sql.query('SELECT count(*)::int AS n FROM usage_events WHERE tenant_id = $1 AND NOT superseded', [tenant.tenantId])
    ).rows[0].n;
    expect(events).toHaveLength(count);
    expect(events.every((e) => e.specversion === '1.0' && e.subject === tenant.tenantId && typeof e.data.quantity === 'string')).toBe(true);

    const csv = await request(t.url)
      .get('/usage/export')
      .query({ ...query, format: 'csv', tenantId: tenant.tenantId })
      .set('authorization', `Bearer ${billingToken}`);
    expect(csv.status).toBe(200);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe(
      'specversion,id,source,type,subject,time,revision,quantity,unit,resourceId,rateGbps,distanceClass,design,site,appliesTo,data',
    );
    expect(lines).toHaveLength(count + 1);

    const foreign = await request(t.url)
      .get('/usage/export')
      .query({ ...query, format: 'csv', tenantId: tenant.tenantId })
      .set('authorization', `Bearer ${other.token}`);
    expect(foreign.text.trim().split('\r\n')).toHaveLength(1);
    expect((await request(t.url).get('/usage/export').query(query)).status).toBe(401);
    const bad = await request(t.url)
      .get('/usage/export')
      .query({ ...query, format: 'xml' })
      .set('authorization', `Bearer ${billingToken}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'format' });
  });
  describe('corrections', () => {
    const INVOICE_OF = (token: string, tenantId: string) =>
      gqlOk(t.url, token, INVOICE, { p: period, t: tenantId }).then((d) => d.invoicePreview);
    const record = async (events: unknown[]) => (await gqlOk(t.url, billingToken, RECORD, { e: events })).recordUsage;
    const total = async (token: string, resourceId: string, meter: string) => {
      const rows = (await gqlOk(t.url, token, USAGE, { ...range, g: ['RESOURCE'] })).usage as Array<{
        meter: string;
        resourceId: string;
        quantity: string;
      }>;
      return rows.find((r) => r.meter === meter && r.resourceId === resourceId)?.quantity ?? null;
    };

    it('refuses external reports of the service’s own meters for resources it meters: its events and the invoice stay as they are', async () => {
      const [own] = (
        await t.sql.query(
          `SELECT id, time, quantity::text AS quantity FROM usage_events
          WHERE resource_id = $1 AND type = 'lightpath.wavelength_seconds' AND NOT superseded ORDER BY time LIMIT 1`,
          [first.id],
        )
      ).rows;
      const before = await INVOICE_OF(billingToken, tenant.tenantId);
      const attack = (over: Record<string, unknown>, data: Record<string, unknown> = {}) => ({
        specversion: '1.0',
        source: 'urn:example:mallory',
        type: 'lightpath.wavelength_seconds',
        subject: other.tenantId,
        time: new Date(own.time).toISOString(),
        revision: 2,
        ...over,
        data: { quantity: '0', resourceId: first.id, rateGbps: 100, distanceClass: 'LONG_HAUL', ...data },
      });
      const result = await record([
        attack({ id: 'm-1' }),
        attack({ id: 'm-2', subject: tenant.tenantId }),
        attack({ id: 'm-3' }, { resourceId: first.id.toUpperCase() }),
        attack({ id: 'm-4', type: 'energy.kwh', revision: 7 }, { appliesTo: 'lightpath.wavelength_seconds' }),
      ]);
      expect(result).toMatchObject({ accepted: 0, duplicates: 0 });
      expect(result.rejected.map((r: { index: number; field: string }) => [r.index, r.field])).toEqual([
        [0, 'events[0].data.resourceId'],
        [1, 'events[1].data.resourceId'],
        [2, 'events[2].data.resourceId'],
        [3, 'events[3].data.resourceId'],
      ]);
      expect(result.rejected[0].reason).toMatch(/metered by the service/);
      const [after] = (
        await t.sql.query('SELECT superseded, quantity::text AS quantity FROM usage_events WHERE source = $1 AND id = $2', [
          'urn:apn:orchestrator:metering',
          own.id,
        ])
      ).rows;
      expect(after).toEqual({ superseded: false, quantity: own.quantity });
      expect(await INVOICE_OF(billingToken, tenant.tenantId)).toEqual(before);
      expect((await INVOICE_OF(billingToken, other.tenantId)).lines).toEqual([]);
      expect(await collect()).toBe(0);
    });

    it('lets a source correct its own series only: another source’s higher revision supersedes nothing', async () => {
      const hour = new Date(hourNow - HOUR).toISOString();
      const report = (source: string, id: string, revision: number, quantity: string) => ({
        specversion: '1.0',
        source,
        id,
        type: 'nfs.bytes_written',
        subject: tenant.tenantId,
        time: hour,
        revision,
        data: { quantity, resourceId: 'vol-shared' },
      });
      expect(await record([report('urn:example:nfs-agent-a', 'a-1', 1, '100')])).toMatchObject({ accepted: 1 });
      expect(await record([report('urn:example:nfs-agent-b', 'b-1', 2, '5')])).toMatchObject({ accepted: 1 });
      expect(await total(tenant.token, 'vol-shared', 'nfs.bytes_written')).toBe('105');
      // The first source corrects its own report.
      expect(await record([report('urn:example:nfs-agent-a', 'a-2', 2, '150')])).toMatchObject({ accepted: 1, rejected: [] });
      expect(await total(tenant.token, 'vol-shared', 'nfs.bytes_written')).toBe('155');
      const rows = (
        await t.sql.query(
          `SELECT source, revision, superseded FROM usage_events WHERE resource_id = 'vol-shared' ORDER BY source, revision`,
        )
      ).rows;
      expect(rows).toEqual([
        { source: 'urn:example:nfs-agent-a', revision: 1, superseded: true },
        { source: 'urn:example:nfs-agent-a', revision: 2, superseded: false },
        { source: 'urn:example:nfs-agent-b', revision: 2, superseded: false },
      ]);
    });

    it('refuses a correction naming another tenant than the series’, by index and field, and keeps the rest', async () => {
      const hour = new Date(hourNow - 2 * HOUR).toISOString();
      const report = (id: string, revision: number, subject: string, quantity: string, resourceId = 'vol-9') => ({
        specversion: '1.0',
        source: 'urn:example:nfs-agent-a',
        id,
        type: 'nfs.bytes_read',
        subject,
        time: hour,
        revision,
        data: { quantity, resourceId },
      });
      expect(await record([report('v9-1', 1, tenant.tenantId, '1000')])).toMatchObject({ accepted: 1 });
      const result = await record([
        report('v9-other', 2, other.tenantId, '0'),
        report('v9-2', 2, tenant.tenantId, '1200'),
        // A new series in one batch: its first revision names the owner.
        report('v10-1', 1, tenant.tenantId, '7', 'vol-10'),
        report('v10-2', 2, other.tenantId, '0', 'vol-10'),
      ]);
      expect(result).toMatchObject({ accepted: 2, duplicates: 0 });
      expect(result.rejected.map((r: { index: number; field: string }) => [r.index, r.field])).toEqual([
        [0, 'events[0].subject'],
        [3, 'events[3].subject'],
      ]);
      expect(result.rejected[0].reason).toMatch(/tenant/);
      expect(await total(tenant.token, 'vol-9', 'nfs.bytes_read')).toBe('1200');
      expect(await total(tenant.token, 'vol-10', 'nfs.bytes_read')).toBe('7');
      expect(await total(other.token, 'vol-9', 'nfs.bytes_read')).toBeNull();
      expect(await total(other.token, 'vol-10', 'nfs.bytes_read')).toBeNull();
    });
  });

  describe('bounds', () => {
    const hour = new Date(hourNow - HOUR).toISOString();
    const event = (id: string, over: Record<string, unknown> = {}, data: Record<string, unknown> = {}) => ({
      specversion: '1.0',
      source: 'urn:example:bounds',
      id,
      type: 'nfs.ops',
      subject: tenant.tenantId,
      time: hour,
      ...over,
      data: { quantity: '1', ...data },
    });
    /** Text that does not compress, so that its size in an index is its size. */
    const cjk = (length: number, seed: number) => {
      let x = seed;
      return Array.from({ length }, () => {
        x = (x * 1103515245 + 12345) % 2147483648;
        return String.fromCharCode(0x4e00 + (x % 20000));
      }).join('');
    };
    const expectRefusals = async (batch: unknown[], accepted: number, refusals: Array<[number, string]>) => {
      const r = await gql(t.url, billingToken, RECORD, { e: batch });
      expect(r.errors).toBeUndefined();
      const result = r.data!.recordUsage;
      expect(result.rejected.map((x: { index: number; field: string }) => [x.index, x.field])).toEqual(refusals);
      expect(result).toMatchObject({ accepted, duplicates: 0 });
      for (const x of result.rejected)
        expect(x.reason).not.toMatch(/syntax|violates|invalid input|SQLSTATE|constraint|unsupported Unicode/i);
      return result;
    };

    it('refuses NUL characters and unpaired surrogates event by event, and keeps the good events of the batch', async () => {
      await expectRefusals(
        [
          event('nul-ok-1'),
          event('nul\u0000id'),
          event('nul-source', { source: 'urn:example:\u0000' }),
          event('nul-data', {}, { note: 'a\u0000b' }),
          event('nul-key', {}, { labels: { ['k\u0000']: 'v' } }),
          event('surrogate-data', {}, { note: 'x\ud800y' }),
          event('surrogate-nested', {}, { labels: { list: ['ok', '\udc00'] } }),
          event('surrogate-id-\ud83d'),
          event('nul-resource', {}, { resourceId: 'vol\u0000' }),
          event('nul-ok-2', {}, { note: 'paired \ud83d\ude80 is fine' }),
        ],
        2,
        [
          [1, 'events[1].id'],
          [2, 'events[2].source'],
          [3, 'events[3].data.note'],
          [4, 'events[4].data.labels'],
          [5, 'events[5].data.note'],
          [6, 'events[6].data.labels.list[1]'],
          [7, 'events[7].id'],
          [8, 'events[8].data.resourceId'],
        ],
      );
      const stored = (
        await t.sql.query(`SELECT data->>'note' AS note FROM usage_events WHERE source = 'urn:example:bounds' AND id = 'nul-ok-2'`)
      ).rows[0];
      expect(stored.note).toBe('paired \ud83d\ude80 is fine');
    });

    it('bounds every field of an event, refuses each excess by index and field, and stores the largest accepted', async () => {
      const nested = (depth: number): Record<string, unknown> => (depth === 0 ? { leaf: 1 } : { n: nested(depth - 1) });
      const result = await expectRefusals(
        [
          // The largest ids and source the bounds allow, in text that takes three bytes a character and does not compress.
          event(cjk(200, 1), { source: `urn:x:${cjk(494, 2)}` }),
          event(cjk(201, 3)),
          event('long-source', { source: `urn:x:${'s'.repeat(495)}` }),
          event('long-type', { type: `nfs.${'t'.repeat(97)}` }),
          event('long-resource', {}, { resourceId: 'r'.repeat(201) }),
          event('quantity-digits', {}, { quantity: '1'.repeat(19) }),
          event('quantity-decimals', {}, { quantity: '1.0000000001' }),
          event('quantity-huge', {}, { quantity: '9'.repeat(140_000) }),
          event('deep', {}, { nested: nested(8) }),
          event('large', {}, { note: 'x'.repeat(17_000) }),
          event('applies-to', { type: 'energy.kwh' }, { appliesTo: 'a'.repeat(5_000) }),
          event('rate', { type: 'lightpath.wavelength_seconds' }, { rateGbps: 3_000_000_000, distanceClass: 'METRO' }),
          event('impossible-day', { time: '2027-02-30T00:00:00Z' }),
          event('before-1970', { time: '1969-12-31T23:00:00Z' }),
          event('max-revision', { revision: 2_147_483_647 }, { quantity: '999999999999999999.999999999', nested: nested(6) }),
        ],
        2,
        [
          [1, 'events[1].id'],
          [2, 'events[2].source'],
          [3, 'events[3].type'],
          [4, 'events[4].data.resourceId'],
          [5, 'events[5].data.quantity'],
          [6, 'events[6].data.quantity'],
          [7, 'events[7].data.quantity'],
          [8, `events[8].data.nested${'.n'.repeat(7)}`],
          [9, 'events[9].data'],
          [10, 'events[10].data.appliesTo'],
          [11, 'events[11].data.rateGbps'],
          [12, 'events[12].time'],
          [13, 'events[13].time'],
        ],
      );
      expect(result.rejected[0].reason).toMatch(/200/);
      const stored = (await t.sql.query(`SELECT count(*)::int AS n FROM usage_events WHERE id = $1 OR id = 'max-revision'`, [cjk(200, 1)]))
        .rows[0];
      expect(stored.n).toBe(2);
      const tooMany = await gql(t.url, billingToken, RECORD, { e: Array.from({ length: 5001 }, (_, i) => event(`many-${i}`)) });
      expect(tooMany.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'events' });
    });

    it('keeps the good events when the database refuses one anyway, naming it without the database’s words', async () => {
      // A rule only the database knows, standing in for any the checks before it could miss.
      await t.sql.query(`ALTER TABLE usage_events ADD CONSTRAINT usage_events_test_refusal CHECK (id <> 'refused-by-the-database')`);
      try {
        const result = await expectRefusals([event('fallback-1'), event('refused-by-the-database'), event('fallback-2')], 2, [
          [1, 'events[1]'],
        ]);
        expect(result.rejected[0].reason).toMatch(/could not be stored/);
        const ids = (await t.sql.query(`SELECT id FROM usage_events WHERE id LIKE 'fallback-%' ORDER BY id`)).rows.map((r) => r.id);
        expect(ids).toEqual(['fallback-1', 'fallback-2']);
      } finally {
        await t.sql.query('ALTER TABLE usage_events DROP CONSTRAINT usage_events_test_refusal');
      }
    });
  });

  describe('queries and rate cards refuse what is not a value', () => {
    const exportWith = (query: Record<string, string>) =>
      request(t.url)
        .get('/usage/export')
        .query({ from: range.f, to: range.to, ...query })
        .set('authorization', `Bearer ${billingToken}`);

    it('answers the export 400 naming the field for dates that do not exist or lie beyond 9999, and ids that are not ids', async () => {
      const cases: Array<[Record<string, string>, string]> = [
        [{ from: '2027-02-30T00:00:00Z' }, 'from'],
        [{ to: '+010000-01-01T00:00:00Z' }, 'to'],
        [{ to: '99999-01-01' }, 'to'],
        [{ from: '1969-12-31T00:00:00Z' }, 'from'],
        [{ from: '2026-01-01T00:00:00Z\u0000' }, 'from'],
        [{ tenantId: 'not-a-tenant' }, 'tenantId'],
        [{ tenantId: `${tenant.tenantId}\u0000` }, 'tenantId'],
      ];
      for (const [query, field] of cases) {
        const res = await exportWith(query);
        expect({ query, status: res.status, error: res.body.error }).toEqual({
          query,
          status: 400,
          error: { code: 'BAD_USER_INPUT', field, message: expect.any(String) },
        });
      }
    });

    it('refuses usage and invoice arguments that are not ids or months, naming the field', async () => {
      const usage = await gql(t.url, billingToken, USAGE, { ...range, t: 'not-a-tenant' });
      expect(usage.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'tenantId' });
      for (const p of ['2026-13', '0000-01', '1969-12', '10000-01', '9999-12', '2026-1', '2026-00']) {
        const r = await gql(t.url, billingToken, INVOICE, { p, t: tenant.tenantId });
        expect({ p, extensions: r.errors?.[0].extensions }).toEqual({
          p,
          extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field: 'period' }),
        });
      }
      const invoice = await gql(t.url, billingToken, INVOICE, { p: period, t: 'not-a-tenant' });
      expect(invoice.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'tenantId' });
      const SEND = 'mutation($t: ID!, $p: String!) { sendInvoicePreview(tenantId: $t, period: $p) }';
      expect((await gql(t.url, billingToken, SEND, { t: 'not-a-tenant', p: period })).errors![0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'tenantId',
      });
      expect((await gql(t.url, billingToken, SEND, { t: tenant.tenantId, p: '0000-01' })).errors![0].extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'period',
      });
      const collectBad = await gql(t.url, t.adminToken, COLLECT, { u: '2027-02-30T00:00:00Z' });
      expect(collectBad.errors![0].extensions.code).toBe('BAD_USER_INPUT');
    });

    it('refuses rate cards whose prices are out of range, too precise or not prices, naming the field, and stores none of them', async () => {
      const cards = (await gqlOk(t.url, t.adminToken, '{ rateCards { version prices } }')).rateCards;
      const prices = cards[0].prices;
      const create = (p: unknown, effectiveFrom = '2040-01-01T00:00:00Z') =>
        gql(t.url, t.adminToken, 'mutation($i: CreateRateCardInput!) { createRateCard(input: $i) { version } }', {
          i: { effectiveFrom, prices: p },
        });
      const tiers = [...Array.from({ length: 3000 }, (_, i) => ({ upToGb: i + 1, usdPerGb: '0.01' })), { upToGb: null, usdPerGb: '0.01' }];
      const cases: Array<[unknown, string]> = [
        [{ ...prices, gpuNodeHourUsd: 1e308 }, 'input.prices.gpuNodeHourUsd'],
        [{ ...prices, gpuNodeHourUsd: '1e999999999' }, 'input.prices.gpuNodeHourUsd'],
        [{ ...prices, gpuNodeHourUsd: '-0.5' }, 'input.prices.gpuNodeHourUsd'],
        [{ ...prices, gpuNodeHourUsd: 'NaN' }, 'input.prices.gpuNodeHourUsd'],
        [{ ...prices, gpuNodeHourUsd: 'Infinity' }, 'input.prices.gpuNodeHourUsd'],
        [{ ...prices, gpuNodeHourUsd: '0.0000000001' }, 'input.prices.gpuNodeHourUsd'],
        [{ ...prices, lightpathSetupUsd: '1'.repeat(40) }, 'input.prices.lightpathSetupUsd'],
        [
          { ...prices, distanceClassMultiplier: { ...prices.distanceClassMultiplier, METRO: 1e30 } },
          'input.prices.distanceClassMultiplier.METRO',
        ],
        [
          { ...prices, distanceClassMultiplier: { ...prices.distanceClassMultiplier, ORBITAL: 2 } },
          'input.prices.distanceClassMultiplier.ORBITAL',
        ],
        [{ ...prices, lightpathHourUsd: { ...prices.lightpathHourUsd, '1e400': '1' } }, 'input.prices.lightpathHourUsd.1e400'],
        [{ ...prices, internetEgressTiers: tiers }, 'input.prices.internetEgressTiers'],
        [{ ...prices, basis: { ...prices.basis, gpuNodeHourUsd: 'list price\u0000' } }, 'input.prices.basis.gpuNodeHourUsd'],
        [{ ...prices, basis: { ...prices.basis, gpuNodeHourUsd: 'b'.repeat(501) } }, 'input.prices.basis.gpuNodeHourUsd'],
      ];
      for (const [p, field] of cases) {
        const r = await create(p);
        expect({ field, extensions: r.errors?.[0].extensions }).toEqual({
          field,
          extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', field }),
        });
      }
      const impossible = await create(prices, '2027-02-30T00:00:00Z');
      expect(impossible.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect((await gqlOk(t.url, t.adminToken, '{ rateCards { version } }')).rateCards).toHaveLength(cards.length);
    });
  });

  describe('collection over bad stored data', () => {
    const ALLOCATE = 'mutation($i: AllocateGpusInput!) { allocateGpus(input: $i) { id } }';
    const CLUSTER = 'mutation($i: CreateGpuClusterInput!) { createGpuCluster(input: $i) { id } }';

    it('meters every other resource when one cannot be metered, leaves what it metered before, and counts it', async () => {
      const sites = Object.fromEntries(
        ((await op('{ sites { id code } }')).sites as Array<{ id: string; code: string }>).map((s) => [s.code, s.id]),
      );
      const cluster = async (code: string, address: string) =>
        (
          await op(CLUSTER, {
            i: {
              code,
              name: code,
              siteId: sites['TAM-GDC'],
              nodes: [{ name: `${code.toLowerCase()}-n1`, address, gpus: 8, ratedPowerKw: 10.2 }],
            },
          })
        ).createGpuCluster.id as string;
      const good = await cluster('MTR-GOOD', '10.40.0.1');
      const legacy = await cluster('MTR-LEGACY', '10.40.0.2');
      const huge = await cluster('MTR-HUGE', '10.40.0.3');
      const allocate = async (clusterId: string, fromHour: number) =>
        (
          await op(ALLOCATE, {
            i: {
              tenantId: tenant.tenantId,
              clusterId,
              nodeCount: 1,
              start: new Date(hourNow - fromHour * HOUR).toISOString(),
              end: new Date(hourNow - (fromHour - 1) * HOUR).toISOString(),
            },
          })
        ).allocateGpus.id as string;
      const legacyHold = await allocate(legacy, 3);
      expect(await collect()).toBeGreaterThan(0);
      const energyBefore = await seriesOf(legacyHold, 'energy.kwh');
      expect(energyBefore).toEqual([expect.objectContaining({ revision: 1, superseded: false })]);

      // Legacy data: rated powers so large that energy is infinite, or a number of 300 digits.
      await t.sql.query('UPDATE gpu_nodes SET rated_power_kw = 1e308 WHERE cluster_id = $1', [legacy]);
      await t.sql.query('UPDATE gpu_nodes SET rated_power_kw = 1e300 WHERE cluster_id = $1', [huge]);
      const goodHold = await allocate(good, 4);
      const newcomer = await allocate(huge, 5);
      expect(await collect()).toBeGreaterThan(0);
      expect((await seriesOf(goodHold, 'gpu.node_seconds')).map((e) => e.quantity)).toEqual(['3600']);
      expect(Number((await seriesOf(goodHold, 'energy.kwh'))[0].quantity)).toBeGreaterThan(0);
      expect(Number((await seriesOf(goodHold, 'carbon.kg'))[0].quantity)).toBeGreaterThan(0);
      // The allocations on bad nodes are still billed for their time; only their shadow figures wait.
      expect((await seriesOf(newcomer, 'gpu.node_seconds')).map((e) => e.quantity)).toEqual(['3600']);
      expect(await seriesOf(newcomer, 'energy.kwh')).toEqual([]);
      expect(await seriesOf(legacyHold, 'energy.kwh')).toEqual(energyBefore);
      const metrics = (await request(t.url).get('/metrics')).text;
      expect(metrics).toMatch(/^apn_metering_unmetered_total\{meter="energy\.kwh"\} [1-9]/m);
      expect(metrics).toMatch(/^apn_metering_unmetered_total\{meter="carbon\.kg"\} [1-9]/m);

      // Once the data is repaired, the next run meters what it had left.
      await t.sql.query('UPDATE gpu_nodes SET rated_power_kw = 10.2 WHERE cluster_id = ANY($1::uuid[])', [[legacy, huge]]);
      expect(await collect()).toBeGreaterThan(0);
      expect(await seriesOf(newcomer, 'energy.kwh')).toEqual([expect.objectContaining({ revision: 1, superseded: false })]);
      expect(await seriesOf(legacyHold, 'energy.kwh')).toEqual(energyBefore);
    });
  });

  describe('energy measured by training runs', () => {
    it('writes a GPU node-hour’s energy from a run’s power samples instead of its rated power, as a new revision, never both; the invoice says which', async () => {
      const sites = Object.fromEntries(
        ((await op('{ sites { id code } }')).sites as Array<{ id: string; code: string }>).map((s) => [s.code, s.id]),
      );
      const owner = await createTenantWithKey(t, 'Measured Power Co');
      const cluster = (
        await op('mutation($i: CreateGpuClusterInput!) { createGpuCluster(input: $i) { id } }', {
          i: {
            code: 'MTR-MEASURED',
            name: 'MTR-MEASURED',
            siteId: sites['TAM-GDC'],
            nodes: [{ name: 'mtr-measured-n1', address: '10.40.9.1', gpus: 8, ratedPowerKw: 10.2 }],
          },
        })
      ).createGpuCluster.id as string;
      const windowStart = hourNow - 6 * HOUR;
      const allocation = (
        await op('mutation($i: AllocateGpusInput!) { allocateGpus(input: $i) { id } }', {
          i: {
            tenantId: owner.tenantId,
            clusterId: cluster,
            nodeCount: 1,
            start: new Date(windowStart).toISOString(),
            end: new Date(windowStart + HOUR).toISOString(),
          },
        })
      ).allocateGpus.id as string;
      const shadow = async (type: string) =>
        (
          await t.sql.query(
            'SELECT revision, quantity::text AS quantity, superseded, data FROM usage_events WHERE resource_id = $1 AND type = $2 ORDER BY revision',
            [allocation, type],
          )
        ).rows;

      // Rated first: 10.2 kW for the hour at TAM-GDC's PUE of 1.3.
      await collect();
      const rated = await shadow('energy.kwh');
      expect(rated).toEqual([
        expect.objectContaining({ revision: 1, quantity: '13.26', superseded: false, data: expect.objectContaining({ basis: 'rated' }) }),
      ]);
      const carbonPerKwh = Number((await shadow('carbon.kg'))[0].quantity) / 13.26;

      // A training run on that allocation uploads the node's power, one sample a minute over the hour: 6 kW.
      const run = (
        await gqlOk(t.url, owner.token, 'mutation($i: CreateTrainingRunInput!) { createTrainingRun(input: $i) { id } }', {
          i: {
            label: 'metered run',
            workload: { modelName: 'm', datasetBytes: '1', datasetItems: '1', batchSize: 1, steps: 1 },
            connection: { kind: 'LOCAL' },
            gpuSiteId: sites['TAM-GDC'],
            gpuAllocationId: allocation,
          },
        })
      ).createTrainingRun.id as string;
      const samples = Array.from({ length: 61 }, (_, i) =>
        JSON.stringify({
          equipment: 'mtr-measured-n1',
          kind: 'GPU_NODE',
          site: 'TAM-GDC',
          time: new Date(windowStart + i * 60_000).toISOString(),
          watts: 6000,
        }),
      );
      const uploaded = await request(t.url)
        .post(`/runs/${run}/power`)
        .set('authorization', `Bearer ${owner.token}`)
        .set('content-type', 'application/x-ndjson')
        .send(samples.join('\n') + '\n');
      expect(uploaded.body).toMatchObject({ accepted: 61, rejectedCount: 0 });

      // Measured replaces rated: revision 2, the rated one superseded, never added to it.
      expect(await collect()).toBeGreaterThan(0);
      const energy = await shadow('energy.kwh');
      expect(energy).toEqual([
        expect.objectContaining({ revision: 1, quantity: '13.26', superseded: true }),
        expect.objectContaining({
          revision: 2,
          quantity: '7.8',
          superseded: false,
          data: expect.objectContaining({ basis: 'measured', appliesTo: 'gpu.node_seconds' }),
        }),
      ]);
      const carbon = await shadow('carbon.kg');
      expect(carbon.filter((e) => !e.superseded)).toEqual([
        expect.objectContaining({ revision: 2, data: expect.objectContaining({ basis: 'measured' }) }),
      ]);
      expect(Number(carbon.find((e) => !e.superseded)!.quantity)).toBeCloseTo(7.8 * carbonPerKwh, 6);
      expect(await collect()).toBe(0);

      const period = new Date(windowStart).toISOString().slice(0, 7);
      const invoice = (
        await gqlOk(
          t.url,
          owner.token,
          `query($p: String!) { invoicePreview(period: $p) { lines { meter usageQuantity energyKwh energyMeasuredKwh energyBasis co2Kg } totals { energyKwh } } }`,
          { p: period },
        )
      ).invoicePreview;
      const line = invoice.lines.find((l: { meter: string }) => l.meter === 'gpu.node_seconds');
      expect(line).toMatchObject({ usageQuantity: '3600', energyKwh: '7.8', energyMeasuredKwh: '7.8', energyBasis: 'measured' });
      expect(invoice.totals.energyKwh).toBe('7.8');
      // What invoices read agrees with the latest revisions.
      const totals = (
        await t.sql.query(
          `SELECT sum(quantity)::text AS q, sum(measured_quantity)::text AS m FROM usage_daily_totals WHERE tenant_id = $1 AND type = 'energy.kwh'`,
          [owner.tenantId],
        )
      ).rows[0];
      expect([Number(totals.q), Number(totals.m)]).toEqual([7.8, 7.8]);

      // Reports of the service's own meters for what it meters are still refused: no reading adds to it.
      const external = await gqlOk(t.url, t.adminToken, RECORD, {
        e: [
          {
            specversion: '1.0',
            source: 'urn:example:dcgm',
            id: 'power-1',
            type: 'energy.kwh',
            subject: owner.tenantId,
            time: new Date(windowStart).toISOString(),
            data: { quantity: '6', resourceId: allocation, appliesTo: 'gpu.node_seconds', basis: 'measured' },
          },
        ],
      });
      expect(external.recordUsage).toMatchObject({ accepted: 0, rejected: [{ index: 0, field: 'events[0].data.resourceId' }] });
    });
  });
});
