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
const USAGE = 'query($f: DateTime!, $to: DateTime!, $t: ID, $g: [UsageGroupBy!]) { usage(from: $f, to: $to, tenantId: $t, groupBy: $g) { meter unit quantity events resourceId day tenantId distanceClass } }';

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
    const r = (await gqlOk(t.url, tenant.token, RESERVE, {
      input: { sourceEndpointId: ep[src], destinationEndpointId: ep[dst], rateGbps: 100, autoCommit: true,
        start: new Date(start).toISOString(), end: new Date(start + lengthMs).toISOString() },
    })).reserveLightpath as { id: string; distanceKm: number };
    const stateOf = async () => (await gqlOk(t.url, tenant.token, 'query($id: ID!) { reservation(id: $id) { state history { state at } } }', { id: r.id })).reservation;
    if (beforeEnd) {
      await waitFor(async () => (await stateOf()).state === 'ACTIVE', 20_000, 'ACTIVE');
      await beforeEnd();
    }
    const done = await waitFor(async () => {
      const s = await stateOf();
      return s.state === 'RELEASED' ? s : null;
    }, 30_000, 'RELEASED');
    // ACTIVE lasts from its transition to the next one.
    const history = done.history as Array<{ state: string; at: string }>;
    const i = history.findIndex((h) => h.state === 'ACTIVE');
    const activeMs = Date.parse(history[i + 1].at) - Date.parse(history[i].at);
    return { id: r.id, distanceKm: r.distanceKm, activeMs };
  };

  const seriesOf = async (resourceId: string, type: string) =>
    (await t.sql.query('SELECT id, revision, quantity::text AS quantity, superseded FROM usage_events WHERE resource_id = $1 AND type = $2 ORDER BY time, revision', [resourceId, type])).rows;

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
    expect(invoice.lines.find((l: { meter: string }) => l.meter === 'lightpath.setup')).toMatchObject({ quantity: '2.000000', unit: 'setup' });
    expect(await collect()).toBe(0);
    // The daily totals invoices read agree with the latest revisions themselves.
    const raw = await t.sql.query(`SELECT type, sum(quantity)::text AS q, count(*)::int AS n FROM usage_events WHERE NOT superseded GROUP BY type ORDER BY type`);
    const totals = await t.sql.query(`SELECT type, sum(quantity)::text AS q, sum(events)::int AS n FROM usage_daily_totals GROUP BY type HAVING sum(events) > 0 ORDER BY type`);
    expect(totals.rows.map((r) => [r.type, Number(r.q), r.n])).toEqual(raw.rows.map((r) => [r.type, Number(r.q), r.n]));
  });

  it('ingests a mixed batch: keeps the good, counts duplicates once, names each bad event by index and field', async () => {
    const hour = new Date(hourNow - HOUR).toISOString();
    const good = { specversion: '1.0', source: 'urn:example:gpu-agent', id: 'g-1', type: 'gpu.node_seconds', subject: tenant.tenantId, time: hour, data: { quantity: '7200', resourceId: 'alloc-x' } };
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
    expect((await gqlOk(t.url, t.adminToken, RECORD, { e: [good] })).recordUsage).toMatchObject({ accepted: 0, duplicates: 1, rejected: [] });

    const refused = await gql(t.url, tenant.token, RECORD, { e: [good] });
    expect(refused.errors![0].extensions.code).toBe('FORBIDDEN');
  });

  it('versions rate cards by effective date and prices invoices with the card in force', async () => {
    const cards = (await gqlOk(t.url, tenant.token, '{ rateCards { version effectiveFrom prices } }')).rateCards;
    expect(cards).toEqual([expect.objectContaining({ version: 1 })]);
    const prices = { ...cards[0].prices, gpuNodeHourUsd: '30' };
    const create = (effectiveFrom: string, p: unknown) =>
      gql(t.url, t.adminToken, 'mutation($i: CreateRateCardInput!) { createRateCard(input: $i) { version effectiveFrom } }', { i: { effectiveFrom, prices: p } });
    const monthStart = `${period}-01T00:00:00Z`;
    const midMonth = await create(`${period}-15T00:00:00Z`, prices);
    expect(midMonth.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.effectiveFrom' });
    const badPrice = await create(monthStart, { ...prices, gpuNodeHourUsd: '-1' });
    expect(badPrice.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.prices.gpuNodeHourUsd' });
    expect((await create(monthStart, prices)).data!.createRateCard.version).toBe(2);
    const next = new Date(Date.UTC(Number(period.slice(0, 4)), Number(period.slice(5, 7)), 1));
    expect((await create(next.toISOString(), { ...prices, gpuNodeHourUsd: '40' })).data!.createRateCard.version).toBe(3);
    const forbidden = await gql(t.url, tenant.token, 'mutation($i: CreateRateCardInput!) { createRateCard(input: $i) { version } }', { i: { effectiveFrom: monthStart, prices } });
    expect(forbidden.errors![0].extensions.code).toBe('FORBIDDEN');

    const invoice = (await gqlOk(t.url, billingToken, INVOICE, { p: period, t: tenant.tenantId })).invoicePreview;
    expect(invoice).toMatchObject({ tenantId: tenant.tenantId, period, rateCardVersion: 2, currency: 'USD' });
    expect(invoice.lines.find((l: { meter: string }) => l.meter === 'gpu.node_seconds')).toMatchObject({
      quantity: '2.000000', unit: 'node-hour', unitPrice: '30', amount: '60.000000',
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
    const all = (await gqlOk(t.url, billingToken, USAGE, { ...range, g: ['TENANT', 'DAY'] })).usage as Array<{ tenantId: string; day: string }>;
    expect(all.map((u) => u.tenantId)).toContain(tenant.tenantId);
    expect(all.every((u) => u.day.endsWith('T00:00:00.000Z'))).toBe(true);
  });

  it('exports the latest revisions as NDJSON CloudEvents and as CSV', async () => {
    const query = { from: range.f, to: range.to };
    const json = await request(t.url).get('/usage/export').query({ ...query, format: 'json' }).set('authorization', `Bearer ${tenant.token}`).buffer(true).parse((res, cb) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => cb(null, body));
    });
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toMatch(/application\/x-ndjson/);
    const events = (json.body as string).trim().split('\n').map((l) => JSON.parse(l));
    const count = (await t.sql.query('SELECT count(*)::int AS n FROM usage_events WHERE tenant_id = $1 AND NOT superseded', [tenant.tenantId])).rows[0].n;
    expect(events).toHaveLength(count);
    expect(events.every((e) => e.specversion === '1.0' && e.subject === tenant.tenantId && typeof e.data.quantity === 'string')).toBe(true);

    const csv = await request(t.url).get('/usage/export').query({ ...query, format: 'csv', tenantId: tenant.tenantId }).set('authorization', `Bearer ${billingToken}`);
    expect(csv.status).toBe(200);
    const lines = csv.text.trim().split('\r\n');
    expect(lines[0]).toBe('specversion,id,source,type,subject,time,revision,quantity,unit,resourceId,rateGbps,distanceClass,design,site,appliesTo,data');
    expect(lines).toHaveLength(count + 1);

    const foreign = await request(t.url).get('/usage/export').query({ ...query, format: 'csv', tenantId: tenant.tenantId }).set('authorization', `Bearer ${other.token}`);
    expect(foreign.text.trim().split('\r\n')).toHaveLength(1);
    expect((await request(t.url).get('/usage/export').query(query)).status).toBe(401);
    const bad = await request(t.url).get('/usage/export').query({ ...query, format: 'xml' }).set('authorization', `Bearer ${billingToken}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'BAD_USER_INPUT', field: 'format' });
  });
});
