/**
 * Path Computation Engine: routing and wavelength assignment for time-windowed
 * lightpaths. Pure TypeScript with no framework dependencies, so it can run in
 * the request path, in workers and in benchmarks alike.
 */
export { ChannelSet } from './channel-set';
export type { ChannelPolicy } from './channel-policy';
export { firstFit, lastFit, randomFit, seededRandom } from './channel-policy';
export { Occupancy } from './occupancy';
export { FIBER_LATENCY_US_PER_KM, GRID_FIRST_CHANNEL_THZ, GRID_SPACING_THZ, fiberLatencyMs, frequencyThz } from './optics';
export type {
  ComputePathRequest,
  CountLightpathsRequest,
  EarliestStartRequest,
  EarliestStartResult,
  PathComputerOptions,
} from './path-computer';
export { DEFAULT_K, PathComputer } from './path-computer';
export type { EndpointBooking, LinkBooking, PathResult, PceLink, PceNode, RoutedPath, Window } from './types';
export { windowsOverlap } from './types';
