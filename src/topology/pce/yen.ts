import { FiberGraph, IndexedPath } from './graph';

/** An accepted or candidate path and the hop index where it left its parent path. */
interface YenPath extends IndexedPath {
  deviation: number;
}

/**
 * Yen's k shortest loopless paths (J. Y. Yen, Management Science 17(11), 1971),
 * by fiber length, which is proportional to latency.
 *
 * Paths are told apart by their links, not their nodes: two parallel fibers
 * between the same ROADMs give two paths, because each has its own channels.
 * `excludedLinks[l] = 1` removes link l from consideration entirely.
 *
 * Order: non-decreasing distance, then fewer hops, then link indices, so the
 * result is deterministic for a given topology.
 *
 * Spur searches start at each path's deviation hop (Lawler, Management Science
 * 18(7), 1972): before it, the path shares its next hop with its parent, so the
 * banned set, and therefore the spur result, is the one already in the
 * candidate pool. This roughly halves the Dijkstra runs.
 */
export function yenKShortestPaths(graph: FiberGraph, source: number, target: number, k: number, excludedLinks?: Uint8Array): IndexedPath[] {
  if (k <= 0 || source === target) return [];
  const bannedNodes = new Uint8Array(graph.nodeCount);
  const bannedLinks = excludedLinks ? excludedLinks.slice() : new Uint8Array(graph.linkCount);

  // Exact distances to the target with nothing but the exclusions banned are a
  // consistent A* heuristic for every spur search, whose bans only add length.
  const toTarget = graph.distancesTo(target, bannedLinks);
  if (toTarget[source] === Infinity) return [];
  const shortest = graph.shortestPath(source, target, bannedNodes, bannedLinks, toTarget);
  if (!shortest) return [];
  const first: YenPath = { ...shortest, distanceKm: graph.pathLength(shortest.links), deviation: 0 };

  const accepted: YenPath[] = [first];
  const candidates: YenPath[] = [];
  const seen = new Set<string>([pathKey(first)]);

  while (accepted.length < k) {
    const previous = accepted[accepted.length - 1];
    for (let i = previous.deviation; i < previous.links.length; i++) {
      const spurNode = previous.nodes[i];

      // Forbid the next hop of every accepted path sharing this root, so the
      // spur search must deviate here; forbid the root's nodes to stay loopless.
      const banned: number[] = [];
      for (const path of accepted) {
        if (path.links.length > i && sharesRoot(path, previous, i)) {
          const link = path.links[i];
          if (!bannedLinks[link]) {
            bannedLinks[link] = 1;
            banned.push(link);
          }
        }
      }
      for (let j = 0; j < i; j++) bannedNodes[previous.nodes[j]] = 1;

      const spur = graph.shortestPath(spurNode, target, bannedNodes, bannedLinks, toTarget);

      for (const link of banned) bannedLinks[link] = 0;
      for (let j = 0; j < i; j++) bannedNodes[previous.nodes[j]] = 0;

      if (!spur) continue;
      const links = previous.links.slice(0, i).concat(spur.links);
      const candidate: YenPath = {
        links,
        nodes: previous.nodes.slice(0, i).concat(spur.nodes),
        distanceKm: graph.pathLength(links),
        deviation: i,
      };
      const key = pathKey(candidate);
      if (seen.has(key)) continue;
      seen.add(key);
      candidates.push(candidate);
    }

    if (candidates.length === 0) break;
    let best = 0;
    for (let c = 1; c < candidates.length; c++) {
      if (comparePaths(candidates[c], candidates[best]) < 0) best = c;
    }
    accepted.push(candidates[best]);
    candidates[best] = candidates[candidates.length - 1];
    candidates.pop();
  }
  return accepted.map(({ links, nodes, distanceKm }) => ({ links, nodes, distanceKm }));
}

export function comparePaths(x: IndexedPath, y: IndexedPath): number {
  if (x.distanceKm !== y.distanceKm) return x.distanceKm - y.distanceKm;
  if (x.links.length !== y.links.length) return x.links.length - y.links.length;
  for (let i = 0; i < x.links.length; i++) {
    if (x.links[i] !== y.links[i]) return x.links[i] - y.links[i];
  }
  return 0;
}

function sharesRoot(path: IndexedPath, root: IndexedPath, length: number): boolean {
  for (let j = 0; j < length; j++) if (path.links[j] !== root.links[j]) return false;
  return true;
}

function pathKey(path: IndexedPath): string {
  return path.links.join(',');
}
