import { ProvisioningMetrics } from './provisioning-metrics';
import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { ReservationsModule } from '../reservations/reservations.module';
import { ReservationsRepository } from '../reservations/reservations.repository';
import { StorageModule } from '../storage/storage.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { TopologyModule } from '../topology/topology.module';
import { APN_DRIVER, ApnDriver } from './drivers/apn-driver';
import { EmulatorDriver } from './drivers/emulator-driver';
import { TapiDriver } from './drivers/tapi/tapi-driver';
import { ProvisioningJobs } from './provisioning.jobs';
import { FaultsResolver, FaultsService } from './faults';
import { EmulatorStateRepository } from './emulator-state.repository';
import { Reconciler } from './reconciler';
import { ReservationTapiServiceUuids } from './tapi-service-uuids';

function createDriver(config: AppConfig, emulatorState: EmulatorStateRepository, reservations: ReservationsRepository): ApnDriver {
  switch (config.driver) {
    case 'emulator':
      return new EmulatorDriver(emulatorState, config.emulatorHopMs);
    case 'tapi':
      return new TapiDriver({
        baseUrl: config.tapiUrl as string, // required by the configuration when APN_DRIVER=tapi
        mode: config.tapiMode,
        restconfRoot: config.tapiRoot,
        activationTimeoutMs: config.tapiActivationTimeoutSeconds * 1000,
        removalTimeoutMs: config.tapiRemovalTimeoutSeconds * 1000,
        headers: config.tapiToken ? { Authorization: `Bearer ${config.tapiToken}` } : undefined,
        // Short first pauses for services that come up at once, longer ones through a minutes-long activation.
        pollIntervalMs: 250,
        maxPollIntervalMs: 5_000,
        serviceUuids: new ReservationTapiServiceUuids(reservations),
      });
    default: {
      const unknown: never = config.driver;
      throw new Error(`unknown APN_DRIVER ${String(unknown)}`);
    }
  }
}

@Module({
  imports: [ReservationsModule, StorageModule, TopologyModule, WebhooksModule],
  providers: [
    EmulatorStateRepository,
    { provide: APN_DRIVER, inject: [APP_CONFIG, EmulatorStateRepository, ReservationsRepository], useFactory: createDriver },
    ProvisioningMetrics,
    ProvisioningJobs,
    Reconciler,
    FaultsService,
    FaultsResolver,
  ],
})
export class ProvisioningModule {}
