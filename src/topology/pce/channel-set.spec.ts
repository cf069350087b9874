import { ChannelSet } from './channel-set';
import { firstFit, lastFit, randomFit } from './channel-policy';
import { frequencyThz, fiberLatencyMs } from './optics';

describe('ChannelSet', () => {
  it('holds channels beyond 32 and across word boundaries', () => {
    const set = ChannelSet.of(0, 31, 32, 63, 64, 95, 130);
    expect(set.toArray()).toEqual([0, 31, 32, 63, 64, 95, 130]);
    expect(set.size).toBe(7);
    expect(set.has(95)).toBe(true);
    expect(set.has(94)).toBe(false);
    expect(set.first()).toBe(0);
    expect(set.last()).toBe(130);
  });

  it('full(n) contains exactly 0..n-1', () => {
    for (const n of [1, 8, 31, 32, 33, 40, 64, 96, 97]) {
      const set = ChannelSet.full(n);
      expect(set.size).toBe(n);
      expect(set.has(n - 1)).toBe(true);
      expect(set.has(n)).toBe(false);
      expect(set.last()).toBe(n - 1);
    }
  });

  it('intersect, union and subtract work between sets of different lengths', () => {
    const wide = ChannelSet.full(96);
    const narrow = ChannelSet.full(8);
    expect(wide.clone().intersect(narrow).toArray()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(narrow.clone().union(ChannelSet.of(90)).toArray()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 90]);
    const rest = wide.clone().subtract(narrow);
    expect(rest.size).toBe(88);
    expect(rest.first()).toBe(8);
  });

  it('truncate drops channels at or above the count', () => {
    const set = ChannelSet.of(3, 7, 8, 40, 70).truncate(8);
    expect(set.toArray()).toEqual([3, 7]);
    expect(ChannelSet.of(3, 40).truncate(32).toArray()).toEqual([3]);
    expect(ChannelSet.of(3, 40).truncate(0).isEmpty()).toBe(true);
  });

  it('nth walks the set in ascending order', () => {
    const set = ChannelSet.of(5, 33, 64, 90);
    expect([0, 1, 2, 3, 4].map((n) => set.nth(n))).toEqual([5, 33, 64, 90, null]);
  });

  it('rejects negative or fractional channels on add', () => {
    expect(() => new ChannelSet().add(-1)).toThrow(RangeError);
    expect(() => new ChannelSet().add(1.5)).toThrow(RangeError);
  });
});

describe('channel policies', () => {
  const free = ChannelSet.of(4, 9, 50, 70);

  it('firstFit takes the lowest free channel', () => {
    expect(firstFit(free, 96)).toBe(4);
    expect(firstFit(new ChannelSet(), 96)).toBeNull();
  });

  it('lastFit takes the highest free channel the path carries', () => {
    expect(lastFit(free, 96)).toBe(70);
    expect(lastFit(free, 60)).toBe(50);
    expect(lastFit(free, 4)).toBeNull();
  });

  it('randomFit only picks free channels and is reproducible for a seed', () => {
    const a = randomFit(42);
    const b = randomFit(42);
    const picksA = Array.from({ length: 50 }, () => a(free, 96));
    const picksB = Array.from({ length: 50 }, () => b(free, 96));
    expect(picksA).toEqual(picksB);
    for (const p of picksA) expect(free.has(p as number)).toBe(true);
    expect(new Set(picksA).size).toBeGreaterThan(1);
    expect(randomFit(1)(free, 9)).toBe(4);
  });
});

describe('optics', () => {
  it('maps channels onto the G.694.1 50 GHz grid from 191.35 THz', () => {
    expect(frequencyThz(0)).toBe(191.35);
    expect(frequencyThz(10)).toBe(191.85);
    expect(frequencyThz(1)).toBe(191.4);
    expect(frequencyThz(95)).toBe(196.1);
    // 193.1 THz is the grid anchor; it must land exactly on a channel.
    expect(frequencyThz(35)).toBe(193.1);
    expect(() => frequencyThz(-1)).toThrow(RangeError);
  });

  it('fiber latency is 4.9 µs per km', () => {
    expect(fiberLatencyMs(1000)).toBe(4.9);
    expect(fiberLatencyMs(8)).toBe(0.0392);
  });
});
