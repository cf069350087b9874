import { Module } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { ProtectionModule } from '../protection/protection.module';
import { ReservationsModule } from '../reservations/reservations.module';
import { TopologyModule } from '../topology/topology.module';
import { STORAGE_DRIVER, StorageDriver } from './drivers/storage-driver';
import { StorageEmulator } from './drivers/storage-emulator';
import { MountProtection } from './mount-protection.service';
import { DatasetCustodyReport } from './dataset-custody.service';
import { MountSpecs } from './mount-specs.service';
import { MountLifecycle } from './mount-lifecycle.service';
import { MountTransitions } from './mount-transitions';
import { MountsService } from './mounts.service';
import { StorageRepository } from './storage.repository';
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

function createStorageDriver(config: AppConfig, dataSource: DataSource): StorageDriver {
  switch (config.storageDriver) {
    case 'emulator':
      return new StorageEmulator(dataSource, config.storageSpeedup);
    default: {
      const unknown: never = config.storageDriver;
      throw new Error(`unknown APN_STORAGE_DRIVER ${String(unknown)}`);
    }
  }
}

@Module({
  imports: [ReservationsModule, TopologyModule, ProtectionModule],
  providers: [
    { provide: STORAGE_DRIVER, inject: [APP_CONFIG, DataSource], useFactory: createStorageDriver },
    StorageResources,
    StorageRepository,
    MountsService,
    MountLifecycle,
    MountTransitions,
    MountProtection,
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
