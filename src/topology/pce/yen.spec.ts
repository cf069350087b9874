import { seededRandom } from './channel-policy';
import { PathComputer } from './path-computer';
import { PceLink, PceNode, RoutedPath } from './types';

const nodes = (...ids: string[]): PceNode[] => ids.map((id) => ({ id }));
const link = (id: string, a: string, b: string, lengthKm: number, channelCount = 96): PceLink => ({
  id,
  a,
  b,
  lengthKm,
  channelCount,
});

/** Every simple path from→to by depth-first search over links (parallel links give distinct paths). */
function allSimplePaths(links: PceLink[], from: string, to: string): Array<{ linkIds: string[]; distanceKm: number }> {
  const out: Array<{ linkIds: string[]; distanceKm: number }> = [];
  const visit = (at: string, visited: Set<string>, path: PceLink[]) => {
    if (at === to) {
      out.push({ linkIds: path.map((l) => l.id), distanceKm: path.reduce((s, l) => s + l.lengthKm, 0) });
      return;
    }
    for (const l of links) {
      const next = l.a === at ? l.b : l.b === at ? l.a : null;
      if (next === null || visited.has(next)) continue;
      visited.add(next);
      visit(next, visited, [...path, l]);
      visited.delete(next);
    }
  };
  visit(from, new Set([from]), []);
  return out.sort((x, y) => x.distanceKm - y.distanceKm);
}

function expectWellFormed(path: RoutedPath, links: PceLink[], from: string, to: string) {
  expect(path.nodeIds.length).toBe(path.linkIds.length + 1);
  expect(path.nodeIds[0]).toBe(from);
  expect(path.nodeIds[path.nodeIds.length - 1]).toBe(to);
  expect(new Set(path.nodeIds).size).toBe(path.nodeIds.length); // loopless
  let distance = 0;
  path.linkIds.forEach((id, i) => {
    const l = links.find((x) => x.id === id)!;
    const [u, v] = [path.nodeIds[i], path.nodeIds[i + 1]];
    expect((l.a === u && l.b === v) || (l.a === v && l.b === u)).toBe(true);
    distance += l.lengthKm;
  });
  expect(path.distanceKm).toBeCloseTo(distance, 6);
}

describe('k shortest paths (Yen)', () => {
  // A—B twice (parallel fibers 1 and 1.2 km), B—D 3, A—C 2, C—D 3, B—C 1.5.
  // Simple A→D paths by hand:
  //   ab1,bd 4 · ab2,bd 4.2 · ac,cd 5 · ab1,bc,cd 5.5 · ab2,bc,cd 5.7 · ac,bc,bd 6.5
  const links = [
    link('ab1', 'A', 'B', 1),
    link('ab2', 'A', 'B', 1.2),
    link('bd', 'B', 'D', 3),
    link('ac', 'A', 'C', 2),
    link('cd', 'C', 'D', 3),
    link('bc', 'B', 'C', 1.5),
  ];
  const pc = new PathComputer(nodes('A', 'B', 'C', 'D'), links);

  it('enumerates all six loopless paths in non-decreasing distance', () => {
    const paths = pc.kShortestPaths('A', 'D', 10);
    expect(paths.map((p) => p.linkIds)).toEqual([
      ['ab1', 'bd'],
      ['ab2', 'bd'],
      ['ac', 'cd'],
      ['ab1', 'bc', 'cd'],
      ['ab2', 'bc', 'cd'],
      ['ac', 'bc', 'bd'],
    ]);
    expect(paths.map((p) => p.distanceKm)).toEqual([4, 4.2, 5, 5.5, 5.7, 6.5]);
    for (const p of paths) expectWellFormed(p, links, 'A', 'D');
  });

  it('returns exactly k when more exist, and the reverse direction mirrors it', () => {
    expect(pc.kShortestPaths('A', 'D', 3).map((p) => p.distanceKm)).toEqual([4, 4.2, 5]);
    const back = pc.kShortestPaths('D', 'A', 10);
    expect(back.map((p) => p.distanceKm)).toEqual([4, 4.2, 5, 5.5, 5.7, 6.5]);
    expect(back[0].nodeIds).toEqual(['D', 'B', 'A']);
    expect(back[0].linkIds).toEqual(['bd', 'ab1']);
  });

  it('returns nothing for the same node or an unreachable one, and throws for an unknown node', () => {
    const island = new PathComputer(nodes('A', 'B', 'Z'), [link('ab', 'A', 'B', 5)]);
    expect(island.kShortestPaths('A', 'A')).toEqual([]);
    expect(island.kShortestPaths('A', 'Z')).toEqual([]);
    expect(() => island.kShortestPaths('A', 'nowhere')).toThrow(/nowhere/);
  });

  it('matches brute-force enumeration on random graphs', () => {
    const rnd = seededRandom(2024);
    for (let trial = 0; trial < 60; trial++) {
      const ids = Array.from({ length: 6 + (trial % 3) }, (_, i) => `n${i}`);
      const randomLinks: PceLink[] = [];
      // A ring keeps the graph connected; chords (sometimes parallel) add alternatives.
      ids.forEach((id, i) => {
        randomLinks.push(link(`r${i}`, id, ids[(i + 1) % ids.length], 1 + Math.floor(rnd() * 50)));
      });
      for (let c = 0; c < 4 + (trial % 4); c++) {
        const a = Math.floor(rnd() * ids.length);
        let b = Math.floor(rnd() * ids.length);
        if (b === a) b = (a + 3) % ids.length;
        randomLinks.push(link(`c${c}`, ids[a], ids[b], 1 + Math.floor(rnd() * 50)));
      }
      const computer = new PathComputer(nodes(...ids), randomLinks);
      const to = `n${1 + (trial % (ids.length - 1))}`;
      const expected = allSimplePaths(randomLinks, 'n0', to);
      const k = 15;
      const got = computer.kShortestPaths('n0', to, k);
      expect(got.length).toBe(Math.min(k, expected.length));
      expect(got.map((p) => p.distanceKm)).toEqual(expected.slice(0, k).map((p) => p.distanceKm));
      expect(new Set(got.map((p) => p.linkIds.join())).size).toBe(got.length);
      for (const p of got) expectWellFormed(p, randomLinks, 'n0', to);
    }
  });
});

describe('topology validation', () => {
  it('names the offending link', () => {
    expect(() => new PathComputer(nodes('A', 'B'), [link('bad-node', 'A', 'X', 10)])).toThrow(/bad-node/);
    expect(() => new PathComputer(nodes('A', 'B'), [link('zero-km', 'A', 'B', 0)])).toThrow(/zero-km/);
    expect(() => new PathComputer(nodes('A', 'B'), [link('neg-km', 'A', 'B', -3)])).toThrow(/neg-km/);
    expect(() => new PathComputer(nodes('A', 'B'), [link('no-ch', 'A', 'B', 10, 0)])).toThrow(/no-ch/);
    expect(() => new PathComputer(nodes('A', 'B'), [link('frac-ch', 'A', 'B', 10, 2.5)])).toThrow(/frac-ch/);
  });

  it('rejects duplicate ids', () => {
    expect(() => new PathComputer(nodes('A', 'A'), [])).toThrow(/duplicate node A/);
    expect(() => new PathComputer(nodes('A', 'B'), [link('l', 'A', 'B', 1), link('l', 'A', 'B', 2)])).toThrow(/duplicate link l/);
  });
});
