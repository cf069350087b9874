import { busyResources, capacityLocks } from './capacity';

/** True when two claims hold some key in conflicting modes (at least one of the two exclusive). */
function conflict(a: ReturnType<typeof capacityLocks>, b: ReturnType<typeof capacityLocks>): boolean {
  const aAll = new Set([...a.exclusive, ...a.shared]);
  const bAll = new Set([...b.exclusive, ...b.shared]);
  return a.exclusive.some((k) => bAll.has(k)) || b.exclusive.some((k) => aAll.has(k));
}

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const BASE = Date.parse('2026-11-22T00:00:00Z');

/** A small deterministic generator, so a failure can be replayed. */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

describe('capacity locks', () => {
  const claim = { linkIds: ['L1'], channel: 3 };
  const locks = (start: number, end: number) => capacityLocks(claim, new Date(start), new Date(end));

  it('any two overlapping windows on one (link, channel) conflict, whatever their lengths', () => {
    const random = lcg(42);
    const lengths = [30_000, MIN, 7 * MIN, HOUR, 5 * HOUR, DAY, 3 * DAY, 40 * DAY, 200 * DAY, 1500 * DAY, 40_000 * DAY];
    let overlapping = 0;
    for (let i = 0; i < 20_000; i++) {
      const s1 = BASE + Math.floor(random() * 60 * DAY);
      const e1 = s1 + lengths[Math.floor(random() * lengths.length)] + Math.floor(random() * MIN);
      const s2 = s1 + Math.floor((random() - 0.5) * 2 * (e1 - s1 + HOUR));
      const e2 = s2 + lengths[Math.floor(random() * lengths.length)] + Math.floor(random() * MIN);
      if (s1 < e2 && s2 < e1) {
        overlapping++;
        expect(conflict(locks(s1, e1), locks(s2, e2))).toBe(true);
      }
    }
    expect(overlapping).toBeGreaterThan(2_000);
  });

  it('back-to-back one-minute windows of one channel do not queue behind each other', () => {
    const start = BASE + 17_000;
    for (let n = 0; n < 100; n++) {
      const a = locks(start + n * 2 * MIN, start + n * 2 * MIN + MIN);
      const b = locks(start + (n + 1) * 2 * MIN, start + (n + 1) * 2 * MIN + MIN);
      expect(conflict(a, b)).toBe(false);
    }
  });

  it('other channels, links, endpoints and nodes never share a key', () => {
    const w = [new Date(BASE), new Date(BASE + HOUR)] as const;
    const a = capacityLocks({ linkIds: ['L1'], channel: 0, endpointIds: ['E1'], nodeIds: ['N1'] }, ...w);
    const b = capacityLocks({ linkIds: ['L1'], channel: 1, endpointIds: ['E2'], nodeIds: ['N2'] }, ...w);
    expect(conflict(a, b)).toBe(false);
    expect(conflict(a, capacityLocks({ endpointIds: ['E1'] }, ...w))).toBe(true);
    expect(conflict(a, capacityLocks({ nodeIds: ['N1'] }, ...w))).toBe(true);
  });

  it('keeps the lock count small: at most two exclusive and two shared buckets per level per resource', () => {
    for (const length of [MIN, HOUR, DAY, 10 * DAY]) {
      const l = capacityLocks(
        { linkIds: ['L1', 'L2', 'L3'], channel: 0, endpointIds: ['A', 'B'] },
        new Date(BASE + 1),
        new Date(BASE + 1 + length),
      );
      expect(l.exclusive.length).toBeLessThanOrEqual(5 * 2);
      expect(l.shared.length).toBeLessThanOrEqual(5 * 2 * 5);
    }
  });

  it('bounds the lock count whatever the window: a booking to the year 9999 takes as few keys as a short one', () => {
    // Before the coarser levels, a window to 9999 took one key per 32 days (over 90,000 per resource) and
    // exhausted PostgreSQL's shared lock table.
    const resources = { linkIds: ['L1', 'L2', 'L3'], channel: 0, endpointIds: ['A', 'B'] };
    for (const end of [Date.parse('2030-01-01T00:00:00Z'), Date.parse('2126-11-22T00:00:00Z'), Date.parse('9999-12-31T23:59:59Z')]) {
      const l = capacityLocks(resources, new Date(BASE), new Date(end));
      expect(l.exclusive.length + l.shared.length).toBeLessThanOrEqual(5 * 2 * 6);
    }
    // And long windows still conflict with short ones inside them.
    const decade = capacityLocks({ linkIds: ['L1'], channel: 0 }, new Date(BASE), new Date(BASE + 3650 * DAY));
    const minute = capacityLocks({ linkIds: ['L1'], channel: 0 }, new Date(BASE + 2000 * DAY), new Date(BASE + 2000 * DAY + MIN));
    expect(conflict(decade, minute)).toBe(true);
  });
});

describe('busyResources', () => {
  it('names the (link, channel) pairs, ports and GPU nodes behind the keys another booking held', () => {
    const keys = [
      ...capacityLocks({ linkIds: ['L1', 'L2'], channel: 5, endpointIds: ['E1'], nodeIds: ['N1'] }, new Date(BASE), new Date(BASE + HOUR))
        .exclusive,
    ];
    expect(busyResources(keys)).toEqual({
      links: [
        { linkId: 'L1', channel: 5 },
        { linkId: 'L2', channel: 5 },
      ],
      endpoints: ['E1'],
      nodes: ['N1'],
    });
    expect(busyResources([])).toEqual({ links: [], endpoints: [], nodes: [] });
  });
});
