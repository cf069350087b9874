import { Module } from '@nestjs/common';
import { TopologyModule } from '../topology/topology.module';
import { PlanningResolver } from './planning.resolver';
import { PlanningService } from './planning.service';

@Module({ imports: [TopologyModule], providers: [PlanningService, PlanningResolver] })
export class PlanningModule {}
