import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { ProtectionModule } from '../protection/protection.module';
import { ReservationsModule } from '../reservations/reservations.module';
import { TopologyModule } from '../topology/topology.module';
import { STORAGE_DRIVER, StorageDriver } from './drivers/storage-driver';
import { StorageEmulator } from './drivers/storage-emulator';
import { MountProtection } from './mount-protection.service';
import { MountProtectionViews } from './mount-protection-views.service';
import { DatasetCustodyReport } from './dataset-custody.service';
import { MountSpecs } from './mount-specs.service';
import { MountLifecycle } from './mount-lifecycle.service';
import { MountTransitions } from './mount-transitions';
import { MountsService } from './mounts.service';
import { StorageRepository } from './storage.repository';
import { StorageEmulatorRepository } from './storage-emulator.repository';
import { InventoryRepository } from './inventory.repository';
import { MountsRepository } from './mounts.repository';
import { CustodyRepository } from './custody.repository';
import { TenancyModule } from '../tenancy/tenancy.module';
import { StorageResources } from './storage-resources.service';
import { PROTECTION_RESOLVERS } from './protection.resolver';
import { StorageJobs } from './storage.jobs';
import { StorageLoaders } from './storage.loaders';
import {
  DatasetResolver,
  GpuAllocationResolver,
  GpuClusterResolver,
  MountResolver,
  StorageResolver,
  StorageSystemResolver,
} from './storage.resolver';

function createStorageDriver(config: AppConfig, emulatorState: StorageEmulatorRepository): StorageDriver {
  switch (config.storageDriver) {
    case 'emulator':
      return new StorageEmulator(emulatorState, config.storageSpeedup);
    default: {
      const unknown: never = config.storageDriver;
      throw new Error(`unknown APN_STORAGE_DRIVER ${String(unknown)}`);
    }
  }
}

@Module({
  imports: [ReservationsModule, TopologyModule, ProtectionModule, TenancyModule],
  providers: [
    { provide: STORAGE_DRIVER, inject: [APP_CONFIG, StorageEmulatorRepository], useFactory: createStorageDriver },
    StorageResources,
    StorageRepository,
    StorageEmulatorRepository,
    InventoryRepository,
    MountsRepository,
    CustodyRepository,
    MountsService,
    MountLifecycle,
    MountTransitions,
    MountProtection,
    MountProtectionViews,
    MountSpecs,
    DatasetCustodyReport,
    StorageLoaders,
    StorageJobs,
    StorageResolver,
    StorageSystemResolver,
    DatasetResolver,
    GpuClusterResolver,
    GpuAllocationResolver,
    MountResolver,
    ...PROTECTION_RESOLVERS,
  ],
  exports: [MountsService, StorageRepository, MountLifecycle, StorageResources, MountProtection, StorageLoaders],
})
export class StorageModule {}
