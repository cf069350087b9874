import { ChannelPolicy, firstFit } from './channel-policy';
import { ChannelSet } from './channel-set';
import { FiberGraph, IndexedPath } from './graph';
import { Occupancy } from './occupancy';
import { fiberLatencyMs, frequencyThz, roundTo } from './optics';
import { PathResult, PceLink, PceNode, RoutedPath, Window, assertWindow } from './types';
import { yenKShortestPaths } from './yen';

export const DEFAULT_K = 8;

export interface PathComputerOptions {
  /** How many shortest routes to consider per node pair (default 8). */
  k?: number;
  /** Channel choice among those free on every hop (default firstFit). */
  policy?: ChannelPolicy;
}

export interface ComputePathRequest {
  from: string;
  to: string;
  window: Window;
  occupancy: Occupancy;
  /** Links that must not be used, e.g. a failed span or the working path of a protected service. */
  excludeLinkIds?: ReadonlySet<string>;
  /** Channels that must not be chosen on any hop. */
  excludeChannels?: Iterable<number>;
  /** Overrides the computer's policy for this request. */
  policy?: ChannelPolicy;
}

export interface CountLightpathsRequest {
  from: string;
  to: string;
  window: Window;
  occupancy: Occupancy;
  /** Candidate transponder ports at the source; when given, the count cannot exceed how many are free. */
  sourceEndpointIds?: string[];
  /** Candidate transponder ports at the destination; same bound. */
  destinationEndpointIds?: string[];
  /** Stop counting here (e.g. "are there at least 3?"). */
  limit?: number;
  excludeLinkIds?: ReadonlySet<string>;
  policy?: ChannelPolicy;
}

export interface EarliestStartRequest {
  from: string;
  to: string;
  durationMs: number;
  notBefore: number;
  /** When given, the lightpath must end by this instant: start + durationMs ≤ horizon. */
  horizon?: number;
  occupancy: Occupancy;
  sourceEndpointIds?: string[];
  destinationEndpointIds?: string[];
  excludeLinkIds?: ReadonlySet<string>;
  policy?: ChannelPolicy;
}

export interface EarliestStartResult {
  start: number;
  path: PathResult;
}

/** A cached route with what channel search needs precomputed. */
interface Route {
  links: number[];
  linkIds: string[];
  nodeIds: string[];
  distanceKm: number;
  /** Channels usable end to end: the minimum channelCount over the hops. */
  channelCount: number;
}

/** Removes from `mask` the channels busy on a link (by index) during the window under test. */
type HopFilter = (link: number, mask: ChannelSet) => void;

/**
 * Routing and wavelength assignment over an immutable topology. Routes are the
 * k shortest loopless paths by latency (Yen) and are cached per (from, to);
 * channel availability comes from the Occupancy passed with each request, so
 * one PathComputer serves every request against the same topology.
 */
export class PathComputer {
  private readonly graph: FiberGraph;
  private readonly k: number;
  private readonly policy: ChannelPolicy;
  private readonly routeCache = new Map<string, { k: number; routes: Route[] }>();

  constructor(nodes: PceNode[], links: PceLink[], options: PathComputerOptions = {}) {
    this.graph = new FiberGraph(nodes, links);
    this.k = options.k ?? DEFAULT_K;
    assertK(this.k);
    this.policy = options.policy ?? firstFit;
  }

  /** Ordered (from, to) pairs whose routes are cached. */
  get cachedPairCount(): number {
    return this.routeCache.size;
  }

  kShortestPaths(from: string, to: string, k: number = this.k): RoutedPath[] {
    assertK(k);
    return this.routes(from, to, k).map((r) => ({
      linkIds: r.linkIds.slice(),
      nodeIds: r.nodeIds.slice(),
      distanceKm: roundTo(r.distanceKm, 6),
    }));
  }

  computePath(req: ComputePathRequest): PathResult | null {
    assertWindow(req.window);
    const routes = this.routes(req.from, req.to, this.k, req.excludeLinkIds);
    return this.assign(routes, this.occupancyFilter(req.occupancy, req.window), req.policy, req.excludeChannels);
  }

  countLightpaths(req: CountLightpathsRequest): number {
    assertWindow(req.window);
    let bound = req.limit ?? Infinity;
    if (req.sourceEndpointIds) bound = Math.min(bound, freeEndpoints(req.occupancy, req.sourceEndpointIds, req.window));
    if (req.destinationEndpointIds) {
      bound = Math.min(bound, freeEndpoints(req.occupancy, req.destinationEndpointIds, req.window));
    }
    const routes = this.routes(req.from, req.to, this.k, req.excludeLinkIds);
    if (bound <= 0 || routes.length === 0) return 0;

    // Scratch busy sets for this window only: the caller's occupancy is read once
    // per link and never written; each counted lightpath is added here instead.
    const busy = new Map<number, ChannelSet>();
    const busyOn = (link: number): ChannelSet => {
      let set = busy.get(link);
      if (!set) busy.set(link, (set = req.occupancy.busyChannels(this.graph.linkIds[link], req.window)));
      return set;
    };
    const filter: HopFilter = (link, mask) => {
      mask.subtract(busyOn(link));
    };

    let count = 0;
    while (count < bound) {
      const found = this.select(routes, filter, req.policy ?? this.policy, undefined);
      if (!found) break;
      for (const link of found.route.links) busyOn(link).add(found.channel);
      count++;
    }
    return count;
  }

  earliestStart(req: EarliestStartRequest): EarliestStartResult | null {
    const { durationMs, notBefore, occupancy } = req;
    if (!Number.isFinite(durationMs) || durationMs <= 0) {
      throw new RangeError(`durationMs must be a positive number, got ${durationMs}`);
    }
    if (!Number.isFinite(notBefore)) throw new RangeError(`notBefore must be finite, got ${notBefore}`);
    const latestStart = req.horizon === undefined ? Infinity : req.horizon - durationMs;
    const routes = this.routes(req.from, req.to, this.k, req.excludeLinkIds);
    if (routes.length === 0 || latestStart < notBefore) return null;
    if (req.sourceEndpointIds?.length === 0 || req.destinationEndpointIds?.length === 0) return null;

    // Feasibility of [t, t + d) only improves when some booking on a relevant
    // link or endpoint ends, so the earliest feasible t is notBefore or one of
    // those end times.
    const starts = new Set<number>([notBefore]);
    const addEnds = (ends: number[]) => ends.forEach((t) => starts.add(t));
    const relevantLinks = new Set<string>();
    for (const r of routes) for (const id of r.linkIds) relevantLinks.add(id);
    for (const id of relevantLinks) addEnds(occupancy.linkBookingEnds(id, notBefore, latestStart));
    for (const id of [...(req.sourceEndpointIds ?? []), ...(req.destinationEndpointIds ?? [])]) {
      addEnds(occupancy.endpointBookingEnds(id, notBefore, latestStart));
    }

    const ordered = Array.from(starts).sort((x, y) => x - y);
    for (const start of ordered) {
      const window = { start, end: start + durationMs };
      if (req.sourceEndpointIds && freeEndpoints(occupancy, req.sourceEndpointIds, window, 1) === 0) continue;
      if (req.destinationEndpointIds && freeEndpoints(occupancy, req.destinationEndpointIds, window, 1) === 0) continue;
      const path = this.assign(routes, this.occupancyFilter(occupancy, window), req.policy, undefined);
      if (path) return { start, path };
    }
    return null;
  }

  private occupancyFilter(occupancy: Occupancy, window: Window): HopFilter {
    const linkIds = this.graph.linkIds;
    return (link, mask) => occupancy.clearBusyChannels(linkIds[link], window.start, window.end, mask);
  }

  private assign(
    routes: Route[],
    filter: HopFilter,
    policy: ChannelPolicy | undefined,
    excludeChannels: Iterable<number> | undefined,
  ): PathResult | null {
    const excluded = excludeChannels === undefined ? undefined : toChannelSet(excludeChannels);
    const found = this.select(routes, filter, policy ?? this.policy, excluded);
    if (!found) return null;
    const { route, channel } = found;
    const latencyMs = fiberLatencyMs(route.distanceKm);
    return {
      linkIds: route.linkIds.slice(),
      nodeIds: route.nodeIds.slice(),
      channel,
      frequencyThz: frequencyThz(channel),
      distanceKm: roundTo(route.distanceKm, 6),
      latencyMs,
      rttMs: roundTo(2 * latencyMs, 6),
    };
  }

  /** First route (routes are in latency order) with a channel free on every hop that the policy accepts. */
  private select(
    routes: Route[],
    filter: HopFilter,
    policy: ChannelPolicy,
    excluded: ChannelSet | undefined,
  ): { route: Route; channel: number } | null {
    for (const route of routes) {
      const free = ChannelSet.full(route.channelCount);
      if (excluded) free.subtract(excluded);
      for (let h = 0; h < route.links.length && !free.isEmpty(); h++) filter(route.links[h], free);
      if (free.isEmpty()) continue;
      const channel = policy(free, route.channelCount);
      if (channel === null) continue;
      if (!free.has(channel)) {
        throw new Error(`channel policy chose channel ${channel}, which is not free on every hop`);
      }
      return { route, channel };
    }
    return null;
  }

  /**
   * Up to k routes from→to in latency order. Cached per ordered pair; a request
   * excluding links reuses the cache when no cached route touches those links
   * (the k shortest then already avoid them) and otherwise searches afresh.
   */
  private routes(from: string, to: string, k: number, excludeLinkIds?: ReadonlySet<string>): Route[] {
    const source = this.nodeIndex(from);
    const target = this.nodeIndex(to);
    if (source === target) return [];
    const key = `${from}\u0000${to}`;
    let cached = this.routeCache.get(key);
    if (!cached || cached.k < k) {
      cached = { k, routes: yenKShortestPaths(this.graph, source, target, k).map((p) => this.toRoute(p)) };
      this.routeCache.set(key, cached);
    }
    const routes = cached.k === k ? cached.routes : cached.routes.slice(0, k);
    if (!excludeLinkIds || excludeLinkIds.size === 0) return routes;
    if (!routes.some((r) => r.linkIds.some((id) => excludeLinkIds.has(id)))) return routes;

    const excluded = new Uint8Array(this.graph.linkCount);
    for (const id of excludeLinkIds) {
      const link = this.graph.linkIndexOf(id);
      if (link !== undefined) excluded[link] = 1;
    }
    return yenKShortestPaths(this.graph, source, target, k, excluded).map((p) => this.toRoute(p));
  }

  private toRoute(path: IndexedPath): Route {
    const g = this.graph;
    let channelCount = Infinity;
    for (const link of path.links) channelCount = Math.min(channelCount, g.channelCount[link]);
    return {
      links: path.links,
      linkIds: path.links.map((l) => g.linkIds[l]),
      nodeIds: path.nodes.map((v) => g.nodeIds[v]),
      distanceKm: path.distanceKm,
      channelCount,
    };
  }

  private nodeIndex(id: string): number {
    const index = this.graph.nodeIndexOf(id);
    if (index === undefined) throw new Error(`unknown node ${id}`);
    return index;
  }
}

function assertK(k: number): void {
  if (!Number.isInteger(k) || k <= 0) throw new RangeError(`k must be a positive integer, got ${k}`);
}

function toChannelSet(channels: Iterable<number>): ChannelSet {
  if (channels instanceof ChannelSet) return channels;
  const set = new ChannelSet();
  for (const c of channels) set.add(c);
  return set;
}

/** How many distinct endpoints of `ids` are free over the window, stopping at `enough`. */
function freeEndpoints(occupancy: Occupancy, ids: readonly string[], window: Window, enough = Infinity): number {
  let free = 0;
  for (const id of new Set(ids)) {
    if (occupancy.endpointFree(id, window) && ++free >= enough) break;
  }
  return free;
}
