/** Plain data shapes shared by the path computation engine. Ids are opaque strings. */

export interface PceNode {
  id: string;
}

/** A bidirectional fiber link carrying channels 0..channelCount-1. */
export interface PceLink {
  id: string;
  a: string;
  b: string;
  lengthKm: number;
  channelCount: number;
}

/** One channel of one link held over [start, end) (epoch ms, half-open). */
export interface LinkBooking {
  linkId: string;
  channel: number;
  start: number;
  end: number;
}

/** A transponder port held over [start, end) (epoch ms, half-open). */
export interface EndpointBooking {
  endpointId: string;
  start: number;
  end: number;
}

/** Half-open time window [start, end) in epoch ms: [a,b) and [b,c) do not overlap. */
export interface Window {
  start: number;
  end: number;
}

/** A loopless route between two nodes, before any channel is chosen. */
export interface RoutedPath {
  /** In order from the source node to the destination node. */
  linkIds: string[];
  /** Nodes visited, linkIds.length + 1 of them. */
  nodeIds: string[];
  distanceKm: number;
}

/** A route plus the single channel it would use on every hop. */
export interface PathResult extends RoutedPath {
  channel: number;
  frequencyThz: number;
  /** One-way fiber latency. */
  latencyMs: number;
  /** Round trip: 2 × latencyMs. */
  rttMs: number;
}

export function windowsOverlap(a: Window, b: Window): boolean {
  return a.start < b.end && b.start < a.end;
}

export function assertWindow(w: Window, what = 'window'): void {
  if (!Number.isFinite(w.start) || !Number.isFinite(w.end) || !(w.start < w.end)) {
    throw new RangeError(`${what} must satisfy start < end (finite epoch ms), got [${w.start}, ${w.end})`);
  }
}
