import { Module } from '@nestjs/common';
import { TopologyModule } from '../topology/topology.module';
import { AvailabilityService } from './availability.service';
import { HoldExpiryJobs } from './hold-expiry.jobs';
import { ReservationQueries } from './reservation-queries.service';
import { ReservationsResolver } from './reservations.resolver';
import { ReservationsService } from './reservations.service';

@Module({
  imports: [TopologyModule],
  providers: [ReservationsService, ReservationQueries, AvailabilityService, ReservationsResolver, HoldExpiryJobs],
  exports: [ReservationsService],
})
export class ReservationsModule {}
