import {
  USAGE_BOUNDS,
  claimedServiceResource,
  distanceClassOf,
  hourSlices,
  meterProblem,
  msToSeconds,
  usageEventId,
  validateUsageEvent,
  isRejection,
  HOUR_MS,
} from './usage-events';

const TENANT = '6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f';
const event = (overrides: Record<string, unknown> = {}) => ({
  specversion: '1.0',
  id: 'e-1',
  source: 'urn:example:agent',
  type: 'gpu.node_seconds',
  subject: TENANT,
  time: '2026-11-21T09:00:00Z',
  data: { quantity: '3600' },
  ...overrides,
});
const check = (overrides: Record<string, unknown> = {}) => validateUsageEvent(event(overrides), 3, (id) => id === TENANT);
const nested = (depth: number): Record<string, unknown> => (depth === 0 ? { leaf: 1 } : { n: nested(depth - 1) });

describe('usage events', () => {
  it('derives the id from meter, resource, window and revision', () => {
    expect(usageEventId('mount.seconds', 'm-1', new Date('2026-11-21T09:00:00Z'), 2)).toBe('mount.seconds:m-1:2026-11-21T09:00:00.000Z:r2');
  });

  it('splits a span into hour windows with the overlap of each', () => {
    const start = Date.parse('2026-11-21T09:59:59.500Z');
    expect(hourSlices(start, start + 1500)).toEqual([
      { windowStart: Date.parse('2026-11-21T09:00:00Z'), ms: 500 },
      { windowStart: Date.parse('2026-11-21T10:00:00Z'), ms: 1000 },
    ]);
    expect(hourSlices(start, start)).toEqual([]);
    expect(hourSlices(0, 2 * HOUR_MS)).toHaveLength(2);
    expect(msToSeconds(2_500)).toBe('2.5');
    expect(msToSeconds(3_000)).toBe('3');
  });

  it('classes distances: METRO up to 100 km, REGIONAL up to 500, LONG_HAUL beyond', () => {
    expect([100, 100.1, 500, 501].map(distanceClassOf)).toEqual(['METRO', 'REGIONAL', 'REGIONAL', 'LONG_HAUL']);
  });

  it('accepts known meters and namespaced external ones, refuses typos in the service’s namespaces', () => {
    expect(meterProblem('lightpath.setup')).toBeNull();
    expect(meterProblem('nfs.bytes_read')).toBeNull();
    expect(meterProblem('gpu.node_second')).toMatch(/reserved/);
    expect(meterProblem('Bytes')).toMatch(/namespaced/);
  });

  it('names the service-metered resource an event claims, only for the service’s own meters and ids that could be one', () => {
    const id = '6F1C2A4E-8D3B-4C5A-9E7F-0A1B2C3D4E5F';
    expect(claimedServiceResource({ type: 'lightpath.wavelength_seconds', resourceId: id })).toBe(id.toLowerCase());
    expect(claimedServiceResource({ type: 'energy.kwh', resourceId: id })).toBe(id.toLowerCase());
    expect(claimedServiceResource({ type: 'network.internet_egress_bytes', resourceId: id })).toBeNull();
    expect(claimedServiceResource({ type: 'nfs.bytes_read', resourceId: id })).toBeNull();
    expect(claimedServiceResource({ type: 'gpu.node_seconds', resourceId: 'alloc-x' })).toBeNull();
  });
});

describe('usage events: accepted rows', () => {
  it('turns a good event into a row with the resource, revision and price attributes', () => {
    const row = check({
      type: 'lightpath.wavelength_seconds',
      revision: 2,
      data: { quantity: '12.5', resourceId: 'r-1', rateGbps: 100, distanceClass: 'METRO' },
    });
    expect(row).toMatchObject({
      tenantId: TENANT,
      resourceId: 'r-1',
      revision: 2,
      quantity: '12.5',
      rateGbps: 100,
      distanceClass: 'METRO',
    });
    expect(check()).toMatchObject({ resourceId: 'urn:example:agent/e-1', revision: 1, data: { quantity: '3600', unit: 'second' } });
  });

  it('accepts every field at its bound', () => {
    const row = check({
      id: '語'.repeat(USAGE_BOUNDS.idLength),
      source: `urn:${'源'.repeat(USAGE_BOUNDS.sourceLength - 4)}`,
      type: `nfs.${'t'.repeat(USAGE_BOUNDS.typeLength - 4)}`,
      revision: USAGE_BOUNDS.maxRevision,
      time: '9999-12-31T23:00:00Z',
      data: {
        quantity: `${'9'.repeat(18)}.${'9'.repeat(9)}`,
        resourceId: 'r'.repeat(200),
        nested: nested(6),
        note: 'paired \ud83d\ude80, tab\tallowed in free text',
      },
    });
    expect(isRejection(row)).toBe(false);
  });
});

describe('usage events: rejections', () => {
  it.each([
    [{ specversion: '0.3' }, 'events[3].specversion'],
    [{ id: '' }, 'events[3].id'],
    [{ source: ' ' }, 'events[3].source'],
    [{ type: 'lightpath.foo' }, 'events[3].type'],
    [{ time: '2026-11-21T09:30:00Z' }, 'events[3].time'],
    [{ time: 'yesterday' }, 'events[3].time'],
    [{ subject: '00000000-0000-4000-8000-000000000000' }, 'events[3].subject'],
    [{ data: { quantity: '-1' } }, 'events[3].data.quantity'],
    [{ data: { quantity: '1e3' } }, 'events[3].data.quantity'],
    [{ data: {} }, 'events[3].data.quantity'],
    [{ revision: 0 }, 'events[3].revision'],
    [{ type: 'mount.seconds' }, 'events[3].data.design'],
    [{ type: 'energy.kwh' }, 'events[3].data.appliesTo'],
    [{ source: 'urn:apn:orchestrator:metering' }, 'events[3].source'],
  ])('rejects %j naming %s', (overrides, field) => {
    const result = check(overrides);
    expect(isRejection(result) && { index: result.index, field: result.field }).toEqual({ index: 3, field });
  });

  it.each([
    [{ id: 'a\u0000b' }, 'events[3].id', /NUL/],
    [{ id: 'line\nbreak' }, 'events[3].id', /control/],
    [{ id: 'x'.repeat(201) }, 'events[3].id', /at most 200/],
    [{ id: '\ud800' }, 'events[3].id', /surrogate/],
    [{ source: `urn:${'s'.repeat(497)}` }, 'events[3].source', /at most 500/],
    [{ source: 'urn:\u0000' }, 'events[3].source', /NUL/],
    [{ type: `nfs.${'t'.repeat(97)}` }, 'events[3].type', /at most 100/],
    [{ time: '2027-02-30T00:00:00Z' }, 'events[3].time', /not a day of the calendar/],
    [{ time: '1969-12-31T23:00:00Z' }, 'events[3].time', /1970/],
    [{ time: `2026-11-21T09:00:00.${'0'.repeat(100)}Z` }, 'events[3].time', /RFC 3339/],
    [{ revision: 2_147_483_648 }, 'events[3].revision', /2147483647/],
    [{ revision: 1.5 }, 'events[3].revision', /whole number/],
    [{ data: { quantity: '1', note: 'a\u0000' } }, 'events[3].data.note', /NUL/],
    [{ data: { quantity: '1', labels: { list: ['ok', '\udc00'] } } }, 'events[3].data.labels.list[1]', /surrogate/],
    [{ data: { quantity: '1', labels: { ['k\u0000']: 1 } } }, 'events[3].data.labels', /key/],
    [{ data: { quantity: '1', 'odd key': { x: '\u0000' } } }, 'events[3].data["odd key"].x', /NUL/],
    [{ data: { quantity: '1', nested: nested(8) } }, `events[3].data.nested${'.n'.repeat(7)}`, /deeper than 8/],
    [{ data: { quantity: '1', note: 'x'.repeat(16_400) } }, 'events[3].data', /16384/],
    [{ data: { quantity: '1'.repeat(19) } }, 'events[3].data.quantity', /at most 18/],
    [{ data: { quantity: '9'.repeat(200_000) } }, 'events[3].data.quantity', /at most 18/],
    [{ data: { quantity: '1.0000000001' } }, 'events[3].data.quantity', /at most 9/],
    [{ data: { quantity: 1e21 } }, 'events[3].data.quantity', /plain decimal/],
    [{ data: { quantity: '1e999999999' } }, 'events[3].data.quantity', /plain decimal/],
    [{ data: { quantity: '1', resourceId: 'r'.repeat(201) } }, 'events[3].data.resourceId', /at most 200/],
    [{ data: { quantity: '1', resourceId: 42 } }, 'events[3].data.resourceId', /text/],
    [{ type: 'energy.kwh', data: { quantity: '1', appliesTo: 'a'.repeat(5000) } }, 'events[3].data.appliesTo', /meter/],
    [
      { type: 'lightpath.wavelength_seconds', data: { quantity: '1', rateGbps: 3_000_000_000, distanceClass: 'METRO' } },
      'events[3].data.rateGbps',
      /at most/,
    ],
  ])('refuses %j, which PostgreSQL could not store whole, naming %s', (overrides, field, reason) => {
    const result = check(overrides);
    expect(isRejection(result) && { field: result.field }).toEqual({ field });
    expect(isRejection(result) && result.reason).toMatch(reason);
  });
});
