import { Module } from '@nestjs/common';
import { RunMeasurementsModule } from '../runs/run-measurements.module';
import { TopologyModule } from '../topology/topology.module';
import { PlanningRepository } from './planning.repository';
import { PlanningResolver } from './planning.resolver';
import { PlanningService } from './planning.service';

@Module({
  imports: [TopologyModule, RunMeasurementsModule],
  providers: [PlanningRepository, PlanningService, PlanningResolver],
  exports: [PlanningService],
})
export class PlanningModule {}
