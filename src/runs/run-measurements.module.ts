import { Module } from '@nestjs/common';
import { RunMeasurementsService } from './run-measurements.service';
import { RunSeriesRepository } from './run-series.repository';
import { RunsRepository } from './runs.repository';

/**
 * The measured runs' records as other capabilities read them — the planner its calibration pairs, metering
 * the power of GPU nodes — without reaching the runs' tables. Depends on nothing else, so that the runs
 * capability may use the planner and metering in turn.
 */
@Module({
  providers: [RunsRepository, RunSeriesRepository, RunMeasurementsService],
  exports: [RunsRepository, RunSeriesRepository, RunMeasurementsService],
})
export class RunMeasurementsModule {}
