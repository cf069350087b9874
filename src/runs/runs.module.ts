import { Module } from '@nestjs/common';
import { ReservationsModule } from '../reservations/reservations.module';
import { StorageModule } from '../storage/storage.module';
import { TopologyModule } from '../topology/topology.module';
import { RunIngestService } from './run-ingest.service';
import { RunUploadsController } from './run-uploads.controller';
import { RunsRepository } from './runs.repository';
import { RunsResolver } from './runs.resolver';
import { RunsService } from './runs.service';
import { UploadStreams } from './upload-streams';

/** Measured training runs: the runs, their ingest over streaming HTTP, and their GraphQL API. */
@Module({
  imports: [ReservationsModule, StorageModule, TopologyModule],
  providers: [RunsRepository, RunsService, RunIngestService, RunsResolver, UploadStreams],
  controllers: [RunUploadsController],
  exports: [RunsService],
})
export class RunsModule {}
