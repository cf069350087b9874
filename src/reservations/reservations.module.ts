import { Module } from '@nestjs/common';
import { TenancyModule } from '../tenancy/tenancy.module';
import { TopologyModule } from '../topology/topology.module';
import { AvailabilityService } from './availability.service';
import { CapacityRepository } from './capacity.repository';
import { HoldExpiryJobs } from './hold-expiry.jobs';
import { LinkOccupancyRepository } from './link-occupancy.repository';
import { LinkOccupancyResolver } from './link-occupancy.resolver';
import { LinkOccupancyService } from './link-occupancy.service';
import { ReservationEvents } from './reservation-events.service';
import { ReservationQueries } from './reservation-queries.service';
import { ReservationsResolver } from './reservations.resolver';
import { ReservationLifecycle } from './reservation-lifecycle.service';
import { ReservationMetrics } from './reservation-metrics';
import { ReservationTransitions } from './reservation-transitions';
import { ReservationsRepository } from './reservations.repository';
import { ReservationsService } from './reservations.service';

@Module({
  imports: [TopologyModule, TenancyModule],
  providers: [
    ReservationsService,
    ReservationsRepository,
    CapacityRepository,
    ReservationLifecycle,
    ReservationTransitions,
    ReservationQueries,
    ReservationEvents,
    AvailabilityService,
    ReservationsResolver,
    HoldExpiryJobs,
    ReservationMetrics,
    LinkOccupancyRepository,
    LinkOccupancyService,
    LinkOccupancyResolver,
  ],
  exports: [ReservationsService, ReservationsRepository, ReservationLifecycle, ReservationQueries],
})
export class ReservationsModule {}
