/**
 * The vocabulary shared by planning, metering, storage, topology and runs: storage designs, site kinds,
 * distance classes and the shape of a reference value. Plain data, no framework.
 */

/** Where the GPUs read from: the same site (LOCAL), over an APN lightpath, or over an Internet-like link. */
export const SCENARIO_KINDS = ['LOCAL', 'APN', 'INTERNET'] as const;
export type ScenarioKind = (typeof SCENARIO_KINDS)[number];

/**
 * How storage is attached at the GPU site. DIRECT: the GPU nodes mount the office NFS export over the link.
 * REPLICATION: the dataset is copied to a replica node at the GPU site first. CACHE: a cache node at the GPU
 * site fronts the office export and fills on first read.
 */
export const StorageDesign = { DIRECT: 'DIRECT', REPLICATION: 'REPLICATION', CACHE: 'CACHE' } as const;
export type StorageDesign = (typeof StorageDesign)[keyof typeof StorageDesign];
export const STORAGE_DESIGNS = [StorageDesign.DIRECT, StorageDesign.REPLICATION, StorageDesign.CACHE] as const;

/** What a site is: the enterprise's office, or a data center running on green or on standard power. */
export const SiteKind = { USER_OFFICE: 'USER_OFFICE', GREEN_DC: 'GREEN_DC', STANDARD_DC: 'STANDARD_DC' } as const;
export type SiteKind = (typeof SiteKind)[keyof typeof SiteKind];
export const SITE_KINDS = [SiteKind.USER_OFFICE, SiteKind.GREEN_DC, SiteKind.STANDARD_DC] as const;

/** Lightpath distance classes of the rate card: metro ≤ 100 km, regional ≤ 500 km, long haul beyond. */
export const DISTANCE_CLASSES = ['METRO', 'REGIONAL', 'LONG_HAUL'] as const;
export type DistanceClass = (typeof DISTANCE_CLASSES)[number];

export const EQUIPMENT_KINDS = ['GPU_SERVER', 'STORAGE_NFS_ARRAY', 'CACHE_OR_REPLICA_NODE', 'SWITCH_100G', 'APN_TRANSPONDER'] as const;
export type EquipmentKind = (typeof EQUIPMENT_KINDS)[number];

/** A reference figure and where it comes from ('cited: …', 'guess: …', 'calibrated: …', 'operator override'). */
export interface RefValue<T> {
  readonly value: T;
  readonly basis: string;
}

/** An error about one input, named in `field` the way the API names it, so a console can point at it. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = new.target.name;
  }
}

/** A planner input that cannot be used: `workload.steps`, `scenarios[2].distanceKm`, `overrides.pue.green`. */
export class PlannerInputError extends FieldError {}

export function isOneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (values as readonly string[]).includes(value);
}
