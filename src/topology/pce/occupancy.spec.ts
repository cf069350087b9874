import { Occupancy } from './occupancy';
import { seededRandom } from './channel-policy';
import { LinkBooking, windowsOverlap } from './types';

describe('Occupancy', () => {
  it('treats windows that merely touch as not conflicting', () => {
    const occ = Occupancy.fromBookings([{ linkId: 'L', channel: 3, start: 100, end: 200 }]);
    expect(occ.busyChannels('L', { start: 200, end: 300 }).has(3)).toBe(false);
    expect(occ.busyChannels('L', { start: 0, end: 100 }).has(3)).toBe(false);
    expect(occ.busyChannels('L', { start: 199, end: 300 }).has(3)).toBe(true);
    expect(occ.busyChannels('L', { start: 0, end: 101 }).has(3)).toBe(true);
    expect(occ.busyChannels('L', { start: 120, end: 130 }).has(3)).toBe(true);
    expect(occ.busyChannels('L', { start: 0, end: 1000 }).toArray()).toEqual([3]);
  });

  it('reports only the link asked about', () => {
    const occ = Occupancy.fromBookings([
      { linkId: 'L1', channel: 1, start: 0, end: 10 },
      { linkId: 'L2', channel: 2, start: 0, end: 10 },
    ]);
    expect(occ.busyChannels('L1', { start: 0, end: 10 }).toArray()).toEqual([1]);
    expect(occ.busyChannels('L3', { start: 0, end: 10 }).isEmpty()).toBe(true);
  });

  it('finds a long booking that started well before shorter later ones', () => {
    const occ = new Occupancy();
    occ.addLinkBooking({ linkId: 'L', channel: 7, start: 0, end: 1_000_000 });
    for (let i = 0; i < 100; i++) occ.addLinkBooking({ linkId: 'L', channel: 1, start: 1000 * i, end: 1000 * i + 10 });
    expect(occ.busyChannels('L', { start: 500_000, end: 500_005 }).toArray()).toEqual([7]);
  });

  it('endpoints are exclusive per window with half-open semantics', () => {
    const occ = Occupancy.fromBookings([], [{ endpointId: 'E', start: 100, end: 200 }]);
    expect(occ.endpointFree('E', { start: 200, end: 250 })).toBe(true);
    expect(occ.endpointFree('E', { start: 50, end: 100 })).toBe(true);
    expect(occ.endpointFree('E', { start: 150, end: 160 })).toBe(false);
    expect(occ.endpointFree('other', { start: 150, end: 160 })).toBe(true);
    occ.addEndpointBooking({ endpointId: 'E', start: 300, end: 400 });
    expect(occ.endpointFree('E', { start: 250, end: 301 })).toBe(false);
  });

  it('clone is independent of the original', () => {
    const occ = Occupancy.fromBookings([{ linkId: 'L', channel: 0, start: 0, end: 10 }]);
    const copy = occ.clone();
    copy.addLinkBooking({ linkId: 'L', channel: 1, start: 0, end: 10 });
    expect(occ.busyChannels('L', { start: 0, end: 10 }).toArray()).toEqual([0]);
    expect(copy.busyChannels('L', { start: 0, end: 10 }).toArray()).toEqual([0, 1]);
  });

  it('rejects empty or inverted windows and negative channels', () => {
    const occ = new Occupancy();
    expect(() => occ.addLinkBooking({ linkId: 'L', channel: 0, start: 10, end: 10 })).toThrow(/L/);
    expect(() => occ.addLinkBooking({ linkId: 'L', channel: -1, start: 0, end: 10 })).toThrow(RangeError);
    expect(() => occ.busyChannels('L', { start: 5, end: 1 })).toThrow(RangeError);
  });
});

describe('Occupancy over many bookings', () => {
  it('agrees with a brute-force scan on random bookings, whichever way they were loaded', () => {
    const rnd = seededRandom(7);
    const bookings: LinkBooking[] = [];
    for (let i = 0; i < 2000; i++) {
      const start = Math.floor(rnd() * 10_000);
      bookings.push({
        linkId: `L${Math.floor(rnd() * 5)}`,
        channel: Math.floor(rnd() * 40),
        start,
        end: start + 1 + Math.floor(rnd() * (rnd() < 0.05 ? 5000 : 200)),
      });
    }
    const bulk = Occupancy.fromBookings(bookings);
    const incremental = new Occupancy();
    for (const b of bookings) incremental.addLinkBooking(b);
    for (let q = 0; q < 300; q++) {
      const start = Math.floor(rnd() * 10_000);
      const w = { start, end: start + 1 + Math.floor(rnd() * 300) };
      const linkId = `L${Math.floor(rnd() * 5)}`;
      const expected = [...new Set(bookings.filter((b) => b.linkId === linkId && windowsOverlap(b, w)).map((b) => b.channel))].sort(
        (x, y) => x - y,
      );
      expect(bulk.busyChannels(linkId, w).toArray()).toEqual(expected);
      expect(incremental.busyChannels(linkId, w).toArray()).toEqual(expected);
    }
  });

  it('lists booking end times within a range', () => {
    const occ = Occupancy.fromBookings([
      { linkId: 'L', channel: 0, start: 0, end: 100 },
      { linkId: 'L', channel: 1, start: 50, end: 300 },
      { linkId: 'L', channel: 2, start: 10, end: 40 },
    ]);
    expect(occ.linkBookingEnds('L', 40).sort((a, b) => a - b)).toEqual([100, 300]);
    expect(occ.linkBookingEnds('L', 40, 200)).toEqual([100]);
  });
});
