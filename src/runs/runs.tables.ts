import {
  TrainingRunEntity,
  TrainingRunIoSampleEntity,
  TrainingRunLogLineEntity,
  TrainingRunPowerSampleEntity,
  TrainingRunPowerTotalEntity,
  TrainingRunStepBucketEntity,
  TrainingRunStepEntity,
} from './run.entities';

/** The entities (tables) runs owns, registered with the database by src/persistence.ts. */
export const RUN_TABLES = [
  TrainingRunEntity,
  TrainingRunStepEntity,
  TrainingRunIoSampleEntity,
  TrainingRunPowerSampleEntity,
  TrainingRunLogLineEntity,
  TrainingRunStepBucketEntity,
  TrainingRunPowerTotalEntity,
];
