import referenceTopology from '../reference-topology.json';
import { graphFromDocument } from './document-graph';
import { Occupancy } from './occupancy';
import { PathComputer } from './path-computer';
import { Window } from './types';

const HOUR = 3_600_000;
const window: Window = { start: Date.UTC(2025, 0, 6, 9), end: Date.UTC(2025, 0, 6, 17) };

const { nodes, links } = graphFromDocument(referenceTopology);
const pce = new PathComputer(nodes, links);
const endpointsAt = (site: string) => referenceTopology.endpoints.filter((e) => e.site === site).map((e) => e.code);

/** Shortest simple path length by exhaustive search, independent of the engine's Dijkstra/Yen. */
function bruteForceShortestKm(from: string, to: string): number {
  let best = Infinity;
  const visit = (at: string, seen: Set<string>, km: number) => {
    if (km >= best) return;
    if (at === to) {
      best = km;
      return;
    }
    for (const l of links) {
      const next = l.a === at ? l.b : l.b === at ? l.a : null;
      if (next === null || seen.has(next)) continue;
      seen.add(next);
      visit(next, seen, km + l.lengthKm);
      seen.delete(next);
    }
  };
  visit(from, new Set([from]), 0);
  return best;
}

describe('reference topology', () => {
  const aomHkd = referenceTopology.links.find((l) => l.code === 'AOM-HKD')!;

  it('AOM–HKD is the 8-channel span the scenario relies on', () => {
    expect(aomHkd.channelCount).toBe(8);
  });

  it('OTE→ISK lightpaths are bounded by the AOM–HKD span', () => {
    const occupancy = new Occupancy();
    expect(pce.countLightpaths({ from: 'OTE', to: 'ISK', window, occupancy })).toBe(aomHkd.channelCount);
    expect(
      pce.countLightpaths({
        from: 'OTE',
        to: 'ISK',
        window,
        occupancy,
        sourceEndpointIds: endpointsAt('OTE-HQ'),
        destinationEndpointIds: endpointsAt('ISK-GDC'),
      }),
    ).toBe(6); // OTE-HQ has only 6 transponder ports
    const threeBooked = Occupancy.fromBookings(
      [0, 1, 2].map((channel) => ({ linkId: 'AOM-HKD', channel, start: window.start, end: window.end })),
    );
    expect(pce.countLightpaths({ from: 'OTE', to: 'ISK', window, occupancy: threeBooked })).toBe(5);
  });

  it('the lowest-latency OTE→ISK path crosses AOM–HKD and is the shortest simple path', () => {
    const path = pce.computePath({ from: 'OTE', to: 'ISK', window, occupancy: new Occupancy() })!;
    expect(path.linkIds).toContain('AOM-HKD');
    expect(path.nodeIds[0]).toBe('OTE');
    expect(path.nodeIds[path.nodeIds.length - 1]).toBe('ISK');
    expect(path.distanceKm).toBe(bruteForceShortestKm('OTE', 'ISK'));
    expect(path.latencyMs).toBeCloseTo(path.distanceKm * 0.0049, 6);
    expect(path.channel).toBe(0);
  });

  it('when AOM–HKD is full, OTE→ISK has no path and the earliest start is when it frees up', () => {
    const occupancy = Occupancy.fromBookings(
      Array.from({ length: 8 }, (_, channel) => ({
        linkId: 'AOM-HKD',
        channel,
        start: window.start - HOUR,
        end: window.end + channel * HOUR,
      })),
    );
    expect(pce.computePath({ from: 'OTE', to: 'ISK', window, occupancy })).toBeNull();
    const durationMs = 4 * HOUR;
    const earliest = pce.earliestStart({ from: 'OTE', to: 'ISK', durationMs, notBefore: window.start, occupancy })!;
    expect(earliest.start).toBe(window.end);
    expect(earliest.path.channel).toBe(0);
  });

  it('every office→data-center pair is routable with free capacity', () => {
    const siteNode = new Map(referenceTopology.sites.map((s) => [s.code, s.node]));
    const offices = referenceTopology.sites.filter((s) => s.kind === 'USER_OFFICE');
    const dcs = referenceTopology.sites.filter((s) => s.kind !== 'USER_OFFICE');
    for (const o of offices) {
      for (const d of dcs) {
        const from = siteNode.get(o.code)!;
        const to = siteNode.get(d.code)!;
        const path = pce.computePath({ from, to, window, occupancy: new Occupancy() });
        expect(path?.distanceKm).toBe(bruteForceShortestKm(from, to));
      }
    }
  });
});
