import { Module } from '@nestjs/common';
import { AuditCheckpointsModule } from '../audit/audit-checkpoints.module';
import { MeteringModule } from '../metering/metering.module';
import { PlanningModule } from '../planning/planning.module';
import { ReservationsModule } from '../reservations/reservations.module';
import { StorageModule } from '../storage/storage.module';
import { TenancyModule } from '../tenancy/tenancy.module';
import { TopologyModule } from '../topology/topology.module';
import { RunEvaluationResolver } from './run-evaluation.resolver';
import { RunEvaluationService } from './run-evaluation.service';
import { RunIngestService } from './run-ingest.service';
import { RunMeasurementsModule } from './run-measurements.module';
import { RunReportController } from './run-report.controller';
import { RunReportService } from './run-report.service';
import { RunSites } from './run-sites.service';
import { RunUploadsController } from './run-uploads.controller';
import { RunsResolver } from './runs.resolver';
import { RunsService } from './runs.service';
import { UploadStreams } from './upload-streams';

/**
 * Measured training runs: the runs, their ingest over streaming HTTP, their evaluation (summaries, the
 * planner's predictions, verdicts, the PoC report) and their GraphQL API.
 */
@Module({
  imports: [
    ReservationsModule,
    StorageModule,
    TenancyModule,
    TopologyModule,
    RunMeasurementsModule,
    PlanningModule,
    MeteringModule,
    AuditCheckpointsModule,
  ],
  providers: [
    RunsService,
    RunSites,
    RunIngestService,
    RunsResolver,
    UploadStreams,
    RunEvaluationService,
    RunReportService,
    RunEvaluationResolver,
  ],
  controllers: [RunUploadsController, RunReportController],
  exports: [RunsService],
})
export class RunsModule {}
