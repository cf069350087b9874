/**
 * Physical constants of the optical layer.
 *
 * Channels sit on the ITU-T G.694.1 fixed 50 GHz grid (anchored at 193.1 THz);
 * channel 0 of this network is the grid point 191.35 THz and channel i is
 * 191.35 THz + i × 0.05 THz.
 */

import { FIBER_LATENCY_US_PER_KM } from '../../vocabulary/physics';

export const GRID_FIRST_CHANNEL_THZ = 191.35;
export const GRID_SPACING_THZ = 0.05;

export { FIBER_LATENCY_US_PER_KM };

/**
 * Centre frequency of a channel, to 2 decimals. Computed in units of 10 GHz so
 * the result is the nearest double to the grid point (191.4, never 191.39999…).
 */
export function frequencyThz(channel: number): number {
  if (!Number.isInteger(channel) || channel < 0) {
    throw new RangeError(`channel must be a non-negative integer, got ${channel}`);
  }
  return (Math.round(GRID_FIRST_CHANNEL_THZ * 100) + channel * Math.round(GRID_SPACING_THZ * 100)) / 100;
}

/** One-way latency over `distanceKm` of fiber, in ms, rounded to the nanosecond. */
export function fiberLatencyMs(distanceKm: number): number {
  return roundTo((distanceKm * FIBER_LATENCY_US_PER_KM) / 1000, 6);
}

export function roundTo(value: number, decimals: number): number {
  const scale = 10 ** decimals;
  return Math.round(value * scale) / scale;
}
