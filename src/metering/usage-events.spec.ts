import { distanceClassOf, hourSlices, meterProblem, msToSeconds, usageEventId, validateUsageEvent, isRejection, HOUR_MS } from './usage-events';

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

  it('turns a good event into a row with the resource, revision and price attributes', () => {
    const row = check({ type: 'lightpath.wavelength_seconds', revision: 2, data: { quantity: '12.5', resourceId: 'r-1', rateGbps: 100, distanceClass: 'METRO' } });
    expect(row).toMatchObject({ tenantId: TENANT, resourceId: 'r-1', revision: 2, quantity: '12.5', rateGbps: 100, distanceClass: 'METRO' });
    expect(check()).toMatchObject({ resourceId: 'urn:example:agent/e-1', revision: 1, data: { quantity: '3600', unit: 'second' } });
  });

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
});
