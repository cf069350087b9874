import { Module } from '@nestjs/common';
import { RunMeasurementsModule } from '../runs/run-measurements.module';
import { TopologyModule } from '../topology/topology.module';
import { PlanningResolver } from './planning.resolver';
import { PlanningService } from './planning.service';

@Module({ imports: [TopologyModule, RunMeasurementsModule], providers: [PlanningService, PlanningResolver], exports: [PlanningService] })
export class PlanningModule {}
