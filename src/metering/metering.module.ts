import { MeteringMetrics } from './metering-metrics';
import { Module } from '@nestjs/common';
import { ReservationsModule } from '../reservations/reservations.module';
import { RunMeasurementsModule } from '../runs/run-measurements.module';
import { StorageModule } from '../storage/storage.module';
import { TenancyModule } from '../tenancy/tenancy.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { BillingService } from './billing.service';
import { MeteringJobs } from './metering.jobs';
import { MeteringResolver } from './metering.resolver';
import { MeteringService } from './metering.service';
import { RateCardsRepository } from './rate-cards.repository';
import { UsageRepository } from './usage.repository';
import { UsageExportController } from './usage-export.controller';

@Module({
  imports: [TenancyModule, WebhooksModule, RunMeasurementsModule, ReservationsModule, StorageModule],
  providers: [UsageRepository, RateCardsRepository, MeteringMetrics, MeteringService, BillingService, MeteringJobs, MeteringResolver],
  controllers: [UsageExportController],
  exports: [BillingService],
})
export class MeteringModule {}
