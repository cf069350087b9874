import { PceLink, PceNode } from './types';

/** A route in index form: link and node indices into a FiberGraph. */
export interface IndexedPath {
  links: number[];
  nodes: number[];
  distanceKm: number;
}

/**
 * Immutable undirected fiber graph in compressed adjacency form. Nodes and
 * links are addressed by dense indices so the searches run over typed arrays;
 * parallel links between the same two nodes are distinct edges (each has its
 * own channels).
 */
export class FiberGraph {
  readonly nodeIds: string[];
  readonly linkIds: string[];
  readonly lengthKm: Float64Array;
  readonly channelCount: Int32Array;
  private readonly nodeIndex = new Map<string, number>();
  private readonly linkIndex = new Map<string, number>();
  /** Edges of node v are adjLink/adjNode[adjStart[v] .. adjStart[v+1]). */
  private readonly adjStart: Int32Array;
  private readonly adjLink: Int32Array;
  private readonly adjNode: Int32Array;
  /** Link l joins nodes linkEnds[2l] and linkEnds[2l+1]. */
  private readonly linkEnds: Int32Array;
  private readonly scratch: {
    dist: Float64Array;
    hops: Int32Array;
    viaLink: Int32Array;
    seen: Uint32Array;
    settled: Uint32Array;
    heap: MinHeap;
  };
  private stamp = 0;

  constructor(nodes: readonly PceNode[], links: readonly PceLink[]) {
    this.nodeIds = nodes.map((n) => n.id);
    this.nodeIds.forEach((id, i) => {
      if (typeof id !== 'string' || id.length === 0) throw new Error(`node at position ${i} has no id`);
      if (this.nodeIndex.has(id)) throw new Error(`duplicate node ${id}`);
      this.nodeIndex.set(id, i);
    });

    const m = links.length;
    this.linkIds = new Array<string>(m);
    this.lengthKm = new Float64Array(m);
    this.channelCount = new Int32Array(m);
    const ends = (this.linkEnds = new Int32Array(2 * m));
    const degree = new Int32Array(this.nodeIds.length + 1);
    links.forEach((link, i) => {
      const a = this.nodeIndex.get(link.a);
      const b = this.nodeIndex.get(link.b);
      if (this.linkIndex.has(link.id)) throw new Error(`duplicate link ${link.id}`);
      if (a === undefined) throw new Error(`link ${link.id}: unknown node ${link.a}`);
      if (b === undefined) throw new Error(`link ${link.id}: unknown node ${link.b}`);
      if (a === b) throw new Error(`link ${link.id}: both ends are node ${link.a}`);
      if (!Number.isFinite(link.lengthKm) || link.lengthKm <= 0) {
        throw new Error(`link ${link.id}: lengthKm must be a positive number, got ${link.lengthKm}`);
      }
      if (!Number.isInteger(link.channelCount) || link.channelCount <= 0) {
        throw new Error(`link ${link.id}: channelCount must be a positive integer, got ${link.channelCount}`);
      }
      this.linkIndex.set(link.id, i);
      this.linkIds[i] = link.id;
      this.lengthKm[i] = link.lengthKm;
      this.channelCount[i] = link.channelCount;
      ends[2 * i] = a;
      ends[2 * i + 1] = b;
      degree[a]++;
      degree[b]++;
    });

    const n = this.nodeIds.length;
    this.adjStart = new Int32Array(n + 1);
    for (let v = 0; v < n; v++) this.adjStart[v + 1] = this.adjStart[v] + degree[v];
    this.adjLink = new Int32Array(2 * m);
    this.adjNode = new Int32Array(2 * m);
    const fill = this.adjStart.slice(0, n);
    for (let i = 0; i < m; i++) {
      const a = ends[2 * i];
      const b = ends[2 * i + 1];
      this.adjLink[fill[a]] = i;
      this.adjNode[fill[a]++] = b;
      this.adjLink[fill[b]] = i;
      this.adjNode[fill[b]++] = a;
    }
    this.scratch = {
      dist: new Float64Array(n),
      hops: new Int32Array(n),
      viaLink: new Int32Array(n),
      seen: new Uint32Array(n),
      settled: new Uint32Array(n),
      heap: new MinHeap(2 * m + 1),
    };
  }

  private nextStamp(): number {
    if (this.stamp === 0xffffffff) {
      this.scratch.seen.fill(0);
      this.scratch.settled.fill(0);
      this.stamp = 0;
    }
    return ++this.stamp;
  }

  get nodeCount(): number {
    return this.nodeIds.length;
  }

  get linkCount(): number {
    return this.linkIds.length;
  }

  nodeIndexOf(id: string): number | undefined {
    return this.nodeIndex.get(id);
  }

  linkIndexOf(id: string): number | undefined {
    return this.linkIndex.get(id);
  }

  /**
   * Shortest path by length from `source` to `target` (Dijkstra, binary heap),
   * avoiding nodes with bannedNodes[v] = 1 and links with bannedLinks[l] = 1.
   * Ties are broken towards fewer hops so results are stable.
   *
   * `toTarget`, when given, must be a lower bound on every node's remaining
   * distance to `target` that is consistent (as from distancesTo on a graph with
   * no more bans): the search then runs as A*, exploring only nodes that can lie
   * on a short path instead of the whole ball around the source.
   */
  shortestPath(
    source: number,
    target: number,
    bannedNodes: Uint8Array,
    bannedLinks: Uint8Array,
    toTarget?: Float64Array,
  ): IndexedPath | null {
    // Scratch arrays are reused across calls (Yen runs dozens per node pair);
    // a node's entries are valid only when seen[v] equals the current stamp.
    const { dist, hops, viaLink, seen, settled, heap } = this.scratch;
    const { adjStart, adjLink, adjNode, lengthKm } = this;
    const stamp = this.nextStamp();
    heap.clear();
    dist[source] = 0;
    hops[source] = 0;
    seen[source] = stamp;
    heap.push(toTarget ? toTarget[source] : 0, source);

    while (heap.size > 0) {
      const u = heap.pop();
      if (settled[u] === stamp) continue;
      settled[u] = stamp;
      if (u === target) break;
      const du = dist[u];
      for (let e = adjStart[u], end = adjStart[u + 1]; e < end; e++) {
        const link = adjLink[e];
        const v = adjNode[e];
        if (settled[v] === stamp || bannedLinks[link] || bannedNodes[v]) continue;
        const d = du + lengthKm[link];
        if (seen[v] !== stamp || d < dist[v] || (d === dist[v] && hops[u] + 1 < hops[v])) {
          seen[v] = stamp;
          dist[v] = d;
          hops[v] = hops[u] + 1;
          viaLink[v] = link;
          if (toTarget === undefined) heap.push(d, v);
          else if (toTarget[v] !== Infinity) heap.push(d + toTarget[v], v);
        }
      }
    }
    if (settled[target] !== stamp) return null;

    const links: number[] = [];
    const nodes: number[] = [target];
    for (let v = target; v !== source;) {
      const link = viaLink[v];
      links.push(link);
      v = this.otherEnd(link, v);
      nodes.push(v);
    }
    links.reverse();
    nodes.reverse();
    return { links, nodes, distanceKm: dist[target] };
  }

  /** Distance from every node to `target` avoiding banned links (Infinity where unreachable). */
  distancesTo(target: number, bannedLinks: Uint8Array): Float64Array {
    const n = this.nodeCount;
    const { adjStart, adjLink, adjNode, lengthKm } = this;
    const dist = new Float64Array(n).fill(Infinity);
    const done = new Uint8Array(n);
    const heap = this.scratch.heap;
    heap.clear();
    dist[target] = 0;
    heap.push(0, target);
    while (heap.size > 0) {
      const u = heap.pop();
      if (done[u]) continue;
      done[u] = 1;
      for (let e = adjStart[u], end = adjStart[u + 1]; e < end; e++) {
        const link = adjLink[e];
        const v = adjNode[e];
        if (done[v] || bannedLinks[link]) continue;
        const d = dist[u] + lengthKm[link];
        if (d < dist[v]) {
          dist[v] = d;
          heap.push(d, v);
        }
      }
    }
    return dist;
  }

  /** Length of a sequence of links, summed in path order so equal paths give equal sums. */
  pathLength(links: readonly number[]): number {
    let total = 0;
    for (const link of links) total += this.lengthKm[link];
    return total;
  }

  /** The node at the other end of `link` from `node`. */
  otherEnd(link: number, node: number): number {
    const a = this.linkEnds[2 * link];
    return a === node ? this.linkEnds[2 * link + 1] : a;
  }
}

/**
 * Binary min-heap of (key, node) pairs over preallocated typed arrays. Dijkstra
 * pushes at most once per relaxation, so 2 × links + 1 slots always suffice.
 */
class MinHeap {
  private readonly keys: Float64Array;
  private readonly values: Int32Array;
  size = 0;

  constructor(capacity: number) {
    this.keys = new Float64Array(capacity);
    this.values = new Int32Array(capacity);
  }

  clear(): void {
    this.size = 0;
  }

  push(key: number, value: number): void {
    const keys = this.keys;
    const values = this.values;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (keys[parent] <= key) break;
      keys[i] = keys[parent];
      values[i] = values[parent];
      i = parent;
    }
    keys[i] = key;
    values[i] = value;
  }

  /** Removes and returns the value with the smallest key. Caller checks size first. */
  pop(): number {
    const keys = this.keys;
    const values = this.values;
    const top = values[0];
    const n = --this.size;
    if (n > 0) {
      const lastKey = keys[n];
      const lastValue = values[n];
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && keys[right] < keys[left] ? right : left;
        if (keys[child] >= lastKey) break;
        keys[i] = keys[child];
        values[i] = values[child];
        i = child;
      }
      keys[i] = lastKey;
      values[i] = lastValue;
    }
    return top;
  }
}
