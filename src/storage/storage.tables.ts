import {
  DatasetCustodyEntity,
  DatasetEntity,
  EmulatorAttestationKeyEntity,
  EmulatorNfsExportEntity,
  EmulatorStorageCopyEntity,
  GpuAllocationEntity,
  GpuClusterEntity,
  GpuNodeAllocationEntity,
  GpuNodeEntity,
  MountEntity,
  MountTransitionEntity,
  StorageSystemEntity,
} from './storage.entities';

/** The entities (tables) storage owns, registered with the database by src/persistence.ts. */
export const STORAGE_TABLES = [
  StorageSystemEntity,
  DatasetEntity,
  GpuClusterEntity,
  GpuNodeEntity,
  GpuAllocationEntity,
  GpuNodeAllocationEntity,
  MountEntity,
  MountTransitionEntity,
  DatasetCustodyEntity,
  EmulatorStorageCopyEntity,
  EmulatorAttestationKeyEntity,
  EmulatorNfsExportEntity,
];
