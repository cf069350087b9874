import { ChannelSet } from './channel-set';
import { EndpointBooking, LinkBooking, Window, assertWindow } from './types';

/**
 * Bookings of one link (or one endpoint), kept sorted by start in parallel
 * arrays. A booking overlaps [s, e) iff start < e and end > s; with starts sorted
 * and the longest duration known, only starts in (s - maxDuration, e) can
 * qualify, so a query touches a narrow slice even with many bookings per link.
 */
class Timeline {
  constructor(
    readonly starts: number[] = [],
    readonly ends: number[] = [],
    /** The booked channel for link timelines; unused (0) for endpoints. */
    readonly channels: number[] = [],
    public maxDuration = 0,
  ) {}

  insert(start: number, end: number, channel: number): void {
    const at = upperBound(this.starts, start, 0, this.starts.length);
    if (at === this.starts.length) {
      this.starts.push(start);
      this.ends.push(end);
      this.channels.push(channel);
    } else {
      this.starts.splice(at, 0, start);
      this.ends.splice(at, 0, end);
      this.channels.splice(at, 0, channel);
    }
    if (end - start > this.maxDuration) this.maxDuration = end - start;
  }

  /** Index range [lo, hi) of bookings that may overlap [s, e). */
  candidates(s: number, e: number): [number, number] {
    const n = this.starts.length;
    const hi = lowerBound(this.starts, e, 0, n);
    const lo = upperBound(this.starts, s - this.maxDuration, 0, hi);
    return [lo, hi];
  }

  clone(): Timeline {
    return new Timeline(this.starts.slice(), this.ends.slice(), this.channels.slice(), this.maxDuration);
  }

  static sorted(records: Array<{ start: number; end: number; channel: number }>): Timeline {
    records.sort((x, y) => x.start - y.start);
    const timeline = new Timeline();
    for (const r of records) {
      timeline.starts.push(r.start);
      timeline.ends.push(r.end);
      timeline.channels.push(r.channel);
      if (r.end - r.start > timeline.maxDuration) timeline.maxDuration = r.end - r.start;
    }
    return timeline;
  }
}

/**
 * Who holds which channel of which link, and which endpoint, when. The index is
 * per link and per endpoint so a path query only looks at its own hops.
 *
 * Channels are not checked against link channel counts here (the occupancy does
 * not know the topology); a booking on a channel a link does not carry is simply
 * never consulted by path computation.
 */
export class Occupancy {
  private readonly links = new Map<string, Timeline>();
  private readonly endpoints = new Map<string, Timeline>();

  static fromBookings(links: Iterable<LinkBooking>, endpoints: Iterable<EndpointBooking> = []): Occupancy {
    const occupancy = new Occupancy();
    const perLink = new Map<string, Array<{ start: number; end: number; channel: number }>>();
    for (const b of links) {
      assertLinkBooking(b);
      let list = perLink.get(b.linkId);
      if (!list) perLink.set(b.linkId, (list = []));
      list.push({ start: b.start, end: b.end, channel: b.channel });
    }
    for (const [linkId, list] of perLink) occupancy.links.set(linkId, Timeline.sorted(list));

    const perEndpoint = new Map<string, Array<{ start: number; end: number; channel: number }>>();
    for (const b of endpoints) {
      assertEndpointBooking(b);
      let list = perEndpoint.get(b.endpointId);
      if (!list) perEndpoint.set(b.endpointId, (list = []));
      list.push({ start: b.start, end: b.end, channel: 0 });
    }
    for (const [endpointId, list] of perEndpoint) occupancy.endpoints.set(endpointId, Timeline.sorted(list));
    return occupancy;
  }

  addLinkBooking(b: LinkBooking): void {
    assertLinkBooking(b);
    timelineOf(this.links, b.linkId).insert(b.start, b.end, b.channel);
  }

  addEndpointBooking(b: EndpointBooking): void {
    assertEndpointBooking(b);
    timelineOf(this.endpoints, b.endpointId).insert(b.start, b.end, 0);
  }

  /** Independent copy: bookings added to either side are not seen by the other. */
  clone(): Occupancy {
    const copy = new Occupancy();
    for (const [id, t] of this.links) copy.links.set(id, t.clone());
    for (const [id, t] of this.endpoints) copy.endpoints.set(id, t.clone());
    return copy;
  }

  /** Channels of the link with any booking overlapping w. */
  busyChannels(linkId: string, w: Window): ChannelSet {
    assertWindow(w);
    // Sized for a full 96-channel C band up front; the set grows if a booking is above it.
    const busy = new ChannelSet(96);
    const t = this.links.get(linkId);
    if (!t) return busy;
    const [lo, hi] = t.candidates(w.start, w.end);
    for (let i = lo; i < hi; i++) if (t.ends[i] > w.start) busy.add(t.channels[i]);
    return busy;
  }

  /**
   * Removes from `mask` every channel of the link busy during [start, end).
   * Allocation-free variant of busyChannels for the path search hot loop.
   */
  clearBusyChannels(linkId: string, start: number, end: number, mask: ChannelSet): void {
    const t = this.links.get(linkId);
    if (!t) return;
    const [lo, hi] = t.candidates(start, end);
    for (let i = lo; i < hi; i++) if (t.ends[i] > start) mask.delete(t.channels[i]);
  }

  endpointFree(endpointId: string, w: Window): boolean {
    assertWindow(w);
    const t = this.endpoints.get(endpointId);
    if (!t) return true;
    const [lo, hi] = t.candidates(w.start, w.end);
    for (let i = lo; i < hi; i++) if (t.ends[i] > w.start) return false;
    return true;
  }

  /** End times in (after, until] of bookings on the link: the instants at which a channel may free up. */
  linkBookingEnds(linkId: string, after: number, until = Infinity): number[] {
    return endsWithin(this.links.get(linkId), after, until);
  }

  /** End times in (after, until] of bookings on the endpoint. */
  endpointBookingEnds(endpointId: string, after: number, until = Infinity): number[] {
    return endsWithin(this.endpoints.get(endpointId), after, until);
  }

  get linkBookingCount(): number {
    let n = 0;
    for (const t of this.links.values()) n += t.starts.length;
    return n;
  }

  get endpointBookingCount(): number {
    let n = 0;
    for (const t of this.endpoints.values()) n += t.starts.length;
    return n;
  }
}

function endsWithin(t: Timeline | undefined, after: number, until: number): number[] {
  if (!t) return [];
  // end ≤ until implies start < until; end > after implies start > after - maxDuration.
  const hi = lowerBound(t.starts, until, 0, t.starts.length);
  const lo = upperBound(t.starts, after - t.maxDuration, 0, hi);
  const out: number[] = [];
  for (let i = lo; i < hi; i++) {
    const end = t.ends[i];
    if (end > after && end <= until) out.push(end);
  }
  return out;
}

function timelineOf(map: Map<string, Timeline>, id: string): Timeline {
  let t = map.get(id);
  if (!t) map.set(id, (t = new Timeline()));
  return t;
}

/** First index in [lo, hi) with values[i] >= x. */
function lowerBound(values: number[], x: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in [lo, hi) with values[i] > x. */
function upperBound(values: number[], x: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (values[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function assertLinkBooking(b: LinkBooking): void {
  if (!Number.isInteger(b.channel) || b.channel < 0) {
    throw new RangeError(`booking on link ${b.linkId}: channel must be a non-negative integer, got ${b.channel}`);
  }
  assertWindow(b, `booking on link ${b.linkId}`);
}

function assertEndpointBooking(b: EndpointBooking): void {
  assertWindow(b, `booking on endpoint ${b.endpointId}`);
}
