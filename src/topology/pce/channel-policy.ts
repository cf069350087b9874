import { ChannelSet } from './channel-set';

/**
 * Chooses one channel among those free on every hop of a path.
 * `channelCount` is the path's usable channel count (the minimum over its hops);
 * the returned channel must be in `freeMask` and below `channelCount`, or null to
 * decline the path.
 */
export type ChannelPolicy = (freeMask: ChannelSet, channelCount: number) => number | null;

/**
 * Lowest free channel. Packing lightpaths at the low end of the band leaves the
 * high end contiguous for later requests, which keeps blocking low under
 * wavelength continuity.
 */
export const firstFit: ChannelPolicy = (freeMask, channelCount) => {
  const channel = freeMask.first();
  return channel !== null && channel < channelCount ? channel : null;
};

/** Highest free channel below channelCount; useful to keep two traffic classes apart. */
export const lastFit: ChannelPolicy = (freeMask, channelCount) => {
  const usable = freeMask.clone().truncate(channelCount);
  return usable.last();
};

/**
 * Uniformly random free channel from a seeded generator, so runs are
 * reproducible. Each call to randomFit returns an independent policy with its
 * own state.
 */
export function randomFit(seed: number): ChannelPolicy {
  const next = seededRandom(seed);
  return (freeMask, channelCount) => {
    const usable = freeMask.clone().truncate(channelCount);
    const count = usable.size;
    if (count === 0) return null;
    return usable.nth(Math.floor(next() * count));
  };
}

/**
 * Marsaglia's xorshift32 (J. Stat. Softw. 8(14), 2003): tiny, deterministic and
 * good enough to spread channel choices. Returns floats in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  // xorshift has a fixed point at 0, so a zero seed is replaced by a constant.
  let state = seed >>> 0 || 0x9e3779b9;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
}
