import { ChannelSet } from './channel-set';
import { lastFit } from './channel-policy';
import { Occupancy } from './occupancy';
import { PathComputer } from './path-computer';
import { LinkBooking, PceLink, PceNode, Window } from './types';

const HOUR = 3_600_000;
const window: Window = { start: 10 * HOUR, end: 12 * HOUR };

const nodes = (...ids: string[]): PceNode[] => ids.map((id) => ({ id }));
const link = (id: string, a: string, b: string, lengthKm: number, channelCount = 96): PceLink => ({
  id,
  a,
  b,
  lengthKm,
  channelCount,
});
/** Books the given channels of a link over w. */
const book = (linkId: string, channels: number[], w: Window = window): LinkBooking[] =>
  channels.map((channel) => ({ linkId, channel, start: w.start, end: w.end }));
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

// Short route S-X-T (20 km) and long route S-Y-T (60 km), 4 channels each.
const diamond = new PathComputer(nodes('S', 'X', 'Y', 'T'), [
  link('SX', 'S', 'X', 10, 4),
  link('XT', 'X', 'T', 10, 4),
  link('SY', 'S', 'Y', 30, 4),
  link('YT', 'Y', 'T', 30, 4),
]);

describe('PathComputer.computePath', () => {
  it('enforces wavelength continuity: hop-by-hop free channels are not enough', () => {
    // S-X has 2,3 free and X-T has 0,1 free: no single channel across both hops.
    const occupancy = Occupancy.fromBookings([...book('SX', [0, 1]), ...book('XT', [2, 3]), ...book('SY', [0]), ...book('YT', [1])]);
    expect(occupancy.busyChannels('SX', window).size).toBeLessThan(4);
    expect(occupancy.busyChannels('XT', window).size).toBeLessThan(4);

    const path = diamond.computePath({ from: 'S', to: 'T', window, occupancy });
    expect(path).not.toBeNull();
    expect(path!.linkIds).toEqual(['SY', 'YT']);
    expect(path!.nodeIds).toEqual(['S', 'Y', 'T']);
    expect(path!.channel).toBe(2); // lowest of the common free {2, 3}

    occupancy.addLinkBooking(book('SY', [2, 3])[0]);
    occupancy.addLinkBooking(book('SY', [2, 3])[1]);
    expect(diamond.computePath({ from: 'S', to: 'T', window, occupancy })).toBeNull();
  });

  it('first-fit picks the lowest channel free on every hop', () => {
    const occupancy = Occupancy.fromBookings([...book('SX', [0, 2]), ...book('XT', [1])]);
    const path = diamond.computePath({ from: 'S', to: 'T', window, occupancy })!;
    expect(path.linkIds).toEqual(['SX', 'XT']);
    expect(path.channel).toBe(3);
    expect(path.frequencyThz).toBe(191.5);
  });

  it('skips the shortest route when it is full and reports the next one', () => {
    const occupancy = Occupancy.fromBookings(book('XT', range(0, 4)));
    const path = diamond.computePath({ from: 'S', to: 'T', window, occupancy })!;
    expect(path.linkIds).toEqual(['SY', 'YT']);
    expect(path.distanceKm).toBe(60);
    expect(path.latencyMs).toBeCloseTo(60 * 0.0049, 9);
    expect(path.rttMs).toBeCloseTo(2 * 60 * 0.0049, 9);
    expect(path.channel).toBe(0);

    const free = diamond.computePath({ from: 'S', to: 'T', window, occupancy: new Occupancy() })!;
    expect(free.linkIds).toEqual(['SX', 'XT']);
    expect(free.distanceKm).toBe(20);
  });

  it('bookings that only touch the window do not block it; overlapping ones do', () => {
    const before = { start: window.start - HOUR, end: window.start };
    const after = { start: window.end, end: window.end + HOUR };
    const touching = Occupancy.fromBookings([...book('SX', range(0, 4), before), ...book('XT', range(0, 4), after)]);
    const path = diamond.computePath({ from: 'S', to: 'T', window, occupancy: touching })!;
    expect(path.linkIds).toEqual(['SX', 'XT']);
    expect(path.channel).toBe(0);

    const overlapping = Occupancy.fromBookings(book('SX', range(0, 4), { start: window.start - HOUR, end: window.start + 1 }));
    expect(diamond.computePath({ from: 'S', to: 'T', window, occupancy: overlapping })!.linkIds).toEqual(['SY', 'YT']);
  });
});

describe('PathComputer.computePath, bounds and exclusions', () => {
  it("a link's channelCount bounds the channels of every path through it", () => {
    const line = new PathComputer(nodes('S', 'M', 'T'), [link('narrow', 'S', 'M', 50, 4), link('wide', 'M', 'T', 50, 96)]);
    const st = { from: 'S', to: 'T', window };
    const occupancy = Occupancy.fromBookings(book('narrow', [0, 1, 2, 3]));
    expect(occupancy.busyChannels('wide', window).isEmpty()).toBe(true);
    expect(line.computePath({ ...st, occupancy })).toBeNull();

    // With channel 3 free, last-fit must stop at the narrow link's top channel, not at 95.
    const oneFree = Occupancy.fromBookings(book('narrow', [0, 1, 2]));
    expect(line.computePath({ ...st, occupancy: oneFree, policy: lastFit })!.channel).toBe(3);
    expect(line.computePath({ ...st, occupancy: new Occupancy(), policy: lastFit })!.channel).toBe(3);
    // Even a policy that ignores channelCount only ever sees channels the whole path carries.
    const highest = (mask: ChannelSet) => mask.last();
    expect(line.computePath({ ...st, occupancy: new Occupancy(), policy: highest })!.channel).toBe(3);
    expect(line.computePath({ ...st, occupancy, policy: highest })).toBeNull();
  });

  it('ignores bookings on channels a link does not carry', () => {
    const line = new PathComputer(nodes('S', 'T'), [link('narrow', 'S', 'T', 5, 4)]);
    const occupancy = Occupancy.fromBookings(book('narrow', [10, 50]));
    expect(line.computePath({ from: 'S', to: 'T', window, occupancy })!.channel).toBe(0);
  });

  it('honours excluded links and channels', () => {
    const occupancy = new Occupancy();
    const avoid = diamond.computePath({ from: 'S', to: 'T', window, occupancy, excludeLinkIds: new Set(['XT']) })!;
    expect(avoid.linkIds).toEqual(['SY', 'YT']);
    const noLow = diamond.computePath({ from: 'S', to: 'T', window, occupancy, excludeChannels: [0, 1] })!;
    expect(noLow.channel).toBe(2);
    const allExcluded = ChannelSet.full(4);
    expect(diamond.computePath({ from: 'S', to: 'T', window, occupancy, excludeChannels: allExcluded })).toBeNull();
  });

  it('returns null for the same node and throws on bad input', () => {
    expect(diamond.computePath({ from: 'S', to: 'S', window, occupancy: new Occupancy() })).toBeNull();
    expect(() => diamond.computePath({ from: 'S', to: 'Q', window, occupancy: new Occupancy() })).toThrow(/Q/);
    expect(() => diamond.computePath({ from: 'S', to: 'T', window: { start: 5, end: 5 }, occupancy: new Occupancy() })).toThrow(RangeError);
  });

  it('caches routes per node pair', () => {
    const pc = new PathComputer(nodes('A', 'B', 'C'), [link('ab', 'A', 'B', 1), link('bc', 'B', 'C', 1)]);
    expect(pc.cachedPairCount).toBe(0);
    pc.computePath({ from: 'A', to: 'C', window, occupancy: new Occupancy() });
    pc.computePath({ from: 'A', to: 'C', window: { start: 0, end: 1 }, occupancy: new Occupancy() });
    expect(pc.cachedPairCount).toBe(1);
    pc.kShortestPaths('C', 'A');
    expect(pc.cachedPairCount).toBe(2);
  });
});

describe('PathComputer.countLightpaths', () => {
  // S—A and B—T are wide; A—B is the only way across and carries 8 channels.
  const bottleneck = new PathComputer(nodes('S', 'A', 'B', 'T'), [
    link('SA', 'S', 'A', 20),
    link('SA-2', 'S', 'A', 25),
    link('AB', 'A', 'B', 100, 8),
    link('BT', 'B', 'T', 20),
  ]);

  it('is bounded by the narrow span', () => {
    expect(bottleneck.countLightpaths({ from: 'S', to: 'T', window, occupancy: new Occupancy() })).toBe(8);
  });

  it('counts fewer when some channels are booked, without touching the caller occupancy', () => {
    const occupancy = Occupancy.fromBookings(book('AB', [1, 4, 6]));
    expect(bottleneck.countLightpaths({ from: 'S', to: 'T', window, occupancy })).toBe(5);
    expect(occupancy.busyChannels('AB', window).toArray()).toEqual([1, 4, 6]);
    expect(occupancy.linkBookingCount).toBe(3);
    // A booking outside the window does not reduce the count.
    const elsewhere = Occupancy.fromBookings(book('AB', range(0, 8), { start: 0, end: window.start }));
    expect(bottleneck.countLightpaths({ from: 'S', to: 'T', window, occupancy: elsewhere })).toBe(8);
  });

  it('is bounded by free endpoint candidates and by limit', () => {
    const occupancy = Occupancy.fromBookings([], [{ endpointId: 's2', start: window.start, end: window.end }]);
    const base = { from: 'S', to: 'T', window, occupancy };
    expect(bottleneck.countLightpaths({ ...base, sourceEndpointIds: ['s1', 's2', 's3'] })).toBe(2);
    expect(bottleneck.countLightpaths({ ...base, destinationEndpointIds: ['t1'] })).toBe(1);
    expect(bottleneck.countLightpaths({ ...base, sourceEndpointIds: [] })).toBe(0);
    expect(bottleneck.countLightpaths({ ...base, limit: 3 })).toBe(3);
  });

  it('adds up capacity over disjoint routes', () => {
    const twoRoutes = new PathComputer(nodes('S', 'X', 'Y', 'T'), [
      link('SX', 'S', 'X', 10, 4),
      link('XT', 'X', 'T', 10, 4),
      link('SY', 'S', 'Y', 30, 6),
      link('YT', 'Y', 'T', 30, 6),
    ]);
    expect(twoRoutes.countLightpaths({ from: 'S', to: 'T', window, occupancy: new Occupancy() })).toBe(10);
  });
});

describe('PathComputer.earliestStart', () => {
  const line = new PathComputer(nodes('S', 'M', 'T'), [link('SM', 'S', 'M', 10, 2), link('MT', 'M', 'T', 10, 2)]);
  const durationMs = 2 * HOUR;

  it('returns notBefore when the lightpath fits right away', () => {
    const occupancy = new Occupancy();
    const result = line.earliestStart({ from: 'S', to: 'T', durationMs, notBefore: window.start, occupancy })!;
    expect(result.start).toBe(window.start);
    expect(result.path.linkIds).toEqual(['SM', 'MT']);
  });

  it('returns the end of the blocking booking when the link is full now', () => {
    const blockedUntil = window.start + 3 * HOUR;
    const occupancy = Occupancy.fromBookings([
      { linkId: 'MT', channel: 0, start: 0, end: blockedUntil },
      { linkId: 'MT', channel: 1, start: 0, end: blockedUntil + HOUR },
    ]);
    const result = line.earliestStart({ from: 'S', to: 'T', durationMs, notBefore: window.start, occupancy })!;
    expect(result.start).toBe(blockedUntil);
    expect(result.path.channel).toBe(0);
    const horizon = blockedUntil + HOUR;
    const tooLate = line.earliestStart({ from: 'S', to: 'T', durationMs, notBefore: window.start, horizon, occupancy });
    expect(tooLate).toBeNull();
  });

  it('waits past a later booking the lightpath would collide with', () => {
    // Both channels free now but booked from +1 h to +4 h: a 2 h lightpath cannot start now.
    const later = { start: window.start + HOUR, end: window.start + 4 * HOUR };
    const occupancy = Occupancy.fromBookings(book('SM', [0, 1], later));
    const result = line.earliestStart({ from: 'S', to: 'T', durationMs, notBefore: window.start, occupancy })!;
    expect(result.start).toBe(window.start + 4 * HOUR);
  });

  it('waits for a free endpoint at each end', () => {
    const occupancy = Occupancy.fromBookings(
      [],
      [
        { endpointId: 'src', start: 0, end: window.start + HOUR },
        { endpointId: 'dst', start: 0, end: window.start + 5 * HOUR },
      ],
    );
    const base = { from: 'S', to: 'T', durationMs, notBefore: window.start, occupancy };
    const oneEach = line.earliestStart({ ...base, sourceEndpointIds: ['src'], destinationEndpointIds: ['dst'] })!;
    expect(oneEach.start).toBe(window.start + 5 * HOUR);
    const twoDestinations = ['dst', 'dst-2'];
    const spare = line.earliestStart({ ...base, sourceEndpointIds: ['src'], destinationEndpointIds: twoDestinations })!;
    expect(spare.start).toBe(window.start + HOUR);
    expect(line.earliestStart({ ...base, sourceEndpointIds: [] })).toBeNull();
  });
});
