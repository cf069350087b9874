import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, UpdateDateColumn } from 'typeorm';
import { ReservationEntity } from '../reservations/reservation.entities';
import { DatasetEntity, GpuAllocationEntity, MountEntity } from '../storage/storage.entities';
import { StorageDesign } from '../vocabulary/domain';
import { TenantEntity } from '../tenancy/tenancy.entities';
import { SiteEntity } from '../topology/topology.entities';

/** RECORDING while data comes in; COMPLETED or FAILED (with the reason) once the run's outcome is known. */
export enum TrainingRunState {
  RECORDING = 'RECORDING',
  COMPLETED = 'COMPLETED',
  FAILED = 'FAILED',
}

/** How the GPUs reached the data: the same site, an APN lightpath (a reservation), or an Internet link. */
export enum RunConnectionKind {
  LOCAL = 'LOCAL',
  APN = 'APN',
  INTERNET = 'INTERNET',
}

/**
 * Data-protection measures in force during a run, as the PoC Reference asks results to be reported with and
 * without them: in motion (Kerberos privacy, RPC-with-TLS per RFC 9289, encrypting transponders) and at
 * rest in the data center. NONE says explicitly that none was applied.
 */
export enum SecurityMeasure {
  NONE = 'NONE',
  NFS_KRB5P = 'NFS_KRB5P',
  NFS_TLS = 'NFS_TLS',
  LINK_ENCRYPTION = 'LINK_ENCRYPTION',
  AT_REST_ENCRYPTION = 'AT_REST_ENCRYPTION',
}

/** What a power sample measured: equipment of the PoC's per-equipment energy table. */
export enum PowerEquipmentKind {
  GPU_NODE = 'GPU_NODE',
  STORAGE = 'STORAGE',
  REPLICA = 'REPLICA',
  CACHE = 'CACHE',
  SWITCH = 'SWITCH',
}

export enum IoDirection {
  READ = 'READ',
  WRITE = 'WRITE',
}

/** Levels a trainer's log line is counted under; a line without a recognisable level has none. */
export enum LogLevel {
  ERROR = 'ERROR',
  WARN = 'WARN',
  INFO = 'INFO',
  DEBUG = 'DEBUG',
}

/** bigint columns come back from the driver as strings. */
const bigintAsString = { type: 'bigint' as const };
const counter = { type: 'bigint' as const, default: 0 };

/**
 * One measured training run. The connection's distance, round trip and rate are copied from the reservation
 * when the run is recorded, so a later reroute does not change what was measured. Counters of what was
 * ingested live on the row, updated in the same transaction as each batch.
 */
@Entity({ name: 'training_runs' })
@Index('training_runs_tenant_created_idx', ['tenantId', 'createdAt', 'id'])
@Index('training_runs_created_idx', ['createdAt', 'id'])
@Index('training_runs_reservation_idx', ['reservationId'])
@Check('training_runs_state_check', `"state" IN ('RECORDING', 'COMPLETED', 'FAILED')`)
@Check('training_runs_kind_check', `"connection_kind" IN ('LOCAL', 'APN', 'INTERNET')`)
@Check('training_runs_design_check', `"design" IN ('DIRECT', 'REPLICATION', 'CACHE')`)
@Check('training_runs_reservation_check', `("connection_kind" = 'APN') = ("reservation_id" IS NOT NULL)`)
@Check('training_runs_mount_check', `"mount_id" IS NULL OR "connection_kind" = 'APN'`)
@Check(
  'training_runs_workload_check',
  `"dataset_bytes" > 0 AND "dataset_items" > 0 AND "batch_size" > 0 AND "steps_per_epoch" > 0 AND "epochs" > 0`,
)
@Check(
  'training_runs_security_check',
  `cardinality("security_measures") >= 1 AND "security_measures" <@ ARRAY['NONE', 'NFS_KRB5P', 'NFS_TLS', 'LINK_ENCRYPTION', 'AT_REST_ENCRYPTION']::text[] AND (NOT 'NONE' = ANY ("security_measures") OR cardinality("security_measures") = 1)`,
)
@Check('training_runs_preparation_check', `"preparation_s" IS NULL OR ("preparation_s" >= 0 AND "preparation_s" <= 31622400)`)
@Check(
  'training_runs_finished_check',
  `("state" = 'RECORDING') = ("finished_at" IS NULL) AND ("state" = 'FAILED') = ("failure_reason" IS NOT NULL)`,
)
export class TrainingRunEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'training_runs_pkey' })
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'training_runs_tenant_id_fkey' })
  tenant?: TenantEntity;

  @Column({ type: 'text' })
  label!: string;

  @Column({ type: 'text' })
  state!: TrainingRunState;

  @Column({ name: 'model_name', type: 'text' })
  modelName!: string;

  @Column({ name: 'dataset_id', type: 'uuid', nullable: true })
  datasetId!: string | null;

  @ManyToOne(() => DatasetEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'dataset_id', foreignKeyConstraintName: 'training_runs_dataset_id_fkey' })
  dataset?: DatasetEntity;

  @Column({ name: 'dataset_bytes', ...bigintAsString })
  datasetBytes!: string;

  @Column({ name: 'dataset_items', ...bigintAsString })
  datasetItems!: string;

  @Column({ name: 'batch_size', type: 'integer' })
  batchSize!: number;

  /** Planned steps per epoch. */
  @Column({ name: 'steps_per_epoch', type: 'integer' })
  stepsPerEpoch!: number;

  @Column({ type: 'integer' })
  epochs!: number;

  @Column({ name: 'connection_kind', type: 'text' })
  connectionKind!: RunConnectionKind;

  @Column({ name: 'reservation_id', type: 'uuid', nullable: true })
  reservationId!: string | null;

  @ManyToOne(() => ReservationEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'reservation_id', foreignKeyConstraintName: 'training_runs_reservation_id_fkey' })
  reservation?: ReservationEntity;

  @Column({ name: 'distance_km', type: 'double precision', nullable: true })
  distanceKm!: number | null;

  @Column({ name: 'rtt_ms', type: 'double precision', nullable: true })
  rttMs!: number | null;

  @Column({ name: 'bandwidth_gbps', type: 'double precision', nullable: true })
  bandwidthGbps!: number | null;

  @Column({ type: 'text' })
  design!: StorageDesign;

  @Column({ name: 'mount_id', type: 'uuid', nullable: true })
  mountId!: string | null;

  @ManyToOne(() => MountEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'mount_id', foreignKeyConstraintName: 'training_runs_mount_id_fkey' })
  mount?: MountEntity;

  @Column({ name: 'gpu_allocation_id', type: 'uuid', nullable: true })
  gpuAllocationId!: string | null;

  @ManyToOne(() => GpuAllocationEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'gpu_allocation_id', foreignKeyConstraintName: 'training_runs_gpu_allocation_id_fkey' })
  gpuAllocation?: GpuAllocationEntity;

  @Column({ name: 'gpu_site_id', type: 'uuid' })
  gpuSiteId!: string;

  @ManyToOne(() => SiteEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'gpu_site_id', foreignKeyConstraintName: 'training_runs_gpu_site_id_fkey' })
  gpuSite?: SiteEntity;

  @Column({ name: 'storage_site_id', type: 'uuid' })
  storageSiteId!: string;

  @ManyToOne(() => SiteEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'storage_site_id', foreignKeyConstraintName: 'training_runs_storage_site_id_fkey' })
  storageSite?: SiteEntity;

  @Column({ name: 'security_measures', type: 'text', array: true })
  securityMeasures!: SecurityMeasure[];

  /** The earliest step start recorded (or the first step's arrival), until an explicit start replaces it. */
  @Column({ name: 'started_at', type: 'timestamptz', nullable: true })
  startedAt!: Date | null;

  @Column({ name: 'finished_at', type: 'timestamptz', nullable: true })
  finishedAt!: Date | null;

  /** The latest step end recorded: the default finish. */
  @Column({ name: 'last_step_end_at', type: 'timestamptz', nullable: true })
  lastStepEndAt!: Date | null;

  @Column({ name: 'failure_reason', type: 'text', nullable: true })
  failureReason!: string | null;

  @Column({ name: 'step_count', ...counter })
  stepCount!: string;

  /** Replica copy or cache fill before the steps, in seconds, as given for a run without a mount. */
  @Column({ name: 'preparation_s', type: 'double precision', nullable: true })
  preparationSeconds!: number | null;

  /** Sums of the stored steps' phases, kept in the transaction of each batch (see TrainingRunStepBucketEntity). */
  @Column({ name: 'read_s_sum', type: 'double precision', default: 0 })
  readSecondsSum!: number;

  @Column({ name: 'gpu_s_sum', type: 'double precision', default: 0 })
  gpuSecondsSum!: number;

  @Column({ name: 'save_s_sum', type: 'double precision', default: 0 })
  saveSecondsSum!: number;

  @Column({ name: 'io_sample_count', ...counter })
  ioSampleCount!: string;

  @Column({ name: 'power_sample_count', ...counter })
  powerSampleCount!: string;

  @Column({ name: 'log_line_count', ...counter })
  logLineCount!: string;

  @Column({ name: 'log_error_count', ...counter })
  logErrorCount!: string;

  @Column({ name: 'log_warn_count', ...counter })
  logWarnCount!: string;

  @Column({ name: 'log_info_count', ...counter })
  logInfoCount!: string;

  @Column({ name: 'log_debug_count', ...counter })
  logDebugCount!: string;

  @Column({ name: 'created_by', type: 'text' })
  createdBy!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

/**
 * One training step of a run: the Read, GPU and Save seconds of the PoC Reference's loop, and the timestamps
 * when the step log gave them. Keyed by (run, step), so the summaries of one run (percentiles, sums) read one
 * contiguous range of the primary key.
 */
@Entity({ name: 'training_run_steps' })
@Check('training_run_steps_step_check', `"step" >= 0 AND ("epoch" IS NULL OR "epoch" >= 0)`)
@Check('training_run_steps_seconds_check', `"read_s" >= 0 AND "gpu_s" >= 0 AND "save_s" >= 0`)
export class TrainingRunStepEntity {
  @PrimaryColumn({ name: 'run_id', type: 'uuid', primaryKeyConstraintName: 'training_run_steps_pkey' })
  runId!: string;

  @ManyToOne(() => TrainingRunEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id', foreignKeyConstraintName: 'training_run_steps_run_id_fkey' })
  run?: TrainingRunEntity;

  @PrimaryColumn({ type: 'integer', primaryKeyConstraintName: 'training_run_steps_pkey' })
  step!: number;

  @Column({ type: 'integer', nullable: true })
  epoch!: number | null;

  @Column({ name: 'read_s', type: 'double precision' })
  readSeconds!: number;

  @Column({ name: 'gpu_s', type: 'double precision' })
  gpuSeconds!: number;

  @Column({ name: 'save_s', type: 'double precision' })
  saveSeconds!: number;

  @Column({ name: 'start_at', type: 'timestamptz', nullable: true })
  startAt!: Date | null;

  @Column({ name: 'read_end_at', type: 'timestamptz', nullable: true })
  readEndAt!: Date | null;

  @Column({ name: 'gpu_end_at', type: 'timestamptz', nullable: true })
  gpuEndAt!: Date | null;

  @Column({ name: 'save_end_at', type: 'timestamptz', nullable: true })
  saveEndAt!: Date | null;
}

/**
 * How many of a run's stored steps took a duration in one logarithmic bucket of one phase (0 Read, 1 GPU,
 * 2 Save): bucket b holds [1 µs × 1.01^b, 1 µs × 1.01^(b+1)), bucket -1 holds zero (src/runs/step-histogram.ts).
 * Kept by ingest in the transaction of each batch
 * from the rows it inserted, so a run's percentiles are read from a few hundred rows, never from its steps.
 */
@Entity({ name: 'training_run_step_buckets' })
@Check('training_run_step_buckets_phase_check', `"phase" IN (0, 1, 2)`)
export class TrainingRunStepBucketEntity {
  @PrimaryColumn({ name: 'run_id', type: 'uuid', primaryKeyConstraintName: 'training_run_step_buckets_pkey' })
  runId!: string;

  @ManyToOne(() => TrainingRunEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id', foreignKeyConstraintName: 'training_run_step_buckets_run_id_fkey' })
  run?: TrainingRunEntity;

  @PrimaryColumn({ type: 'smallint', primaryKeyConstraintName: 'training_run_step_buckets_pkey' })
  phase!: number;

  @PrimaryColumn({ type: 'integer', primaryKeyConstraintName: 'training_run_step_buckets_pkey' })
  bucket!: number;

  @Column(bigintAsString)
  steps!: string;
}

/**
 * One interval of `nfsiostat` for one mount point and direction, as reported by one client node. Report 0
 * of a mount holds the totals since it was mounted; later reports cover one interval each.
 */
@Entity({ name: 'training_run_io_samples' })
@Check('training_run_io_samples_direction_check', `"direction" IN ('READ', 'WRITE')`)
@Check('training_run_io_samples_report_check', `"report" >= 0`)
@Check(
  'training_run_io_samples_values_check',
  `"ops_per_s" >= 0 AND "kb_per_s" >= 0 AND "kb_per_op" >= 0 AND "retrans" >= 0 AND "avg_rtt_ms" >= 0 AND "avg_exe_ms" >= 0`,
)
export class TrainingRunIoSampleEntity {
  @PrimaryColumn({ name: 'run_id', type: 'uuid', primaryKeyConstraintName: 'training_run_io_samples_pkey' })
  runId!: string;

  @ManyToOne(() => TrainingRunEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id', foreignKeyConstraintName: 'training_run_io_samples_run_id_fkey' })
  run?: TrainingRunEntity;

  /** The client that ran nfsiostat (the `node` of the upload; empty when not given). */
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'training_run_io_samples_pkey' })
  node!: string;

  @PrimaryColumn({ name: 'mount_point', type: 'text', primaryKeyConstraintName: 'training_run_io_samples_pkey' })
  mountPoint!: string;

  @PrimaryColumn({ type: 'integer', primaryKeyConstraintName: 'training_run_io_samples_pkey' })
  report!: number;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'training_run_io_samples_pkey' })
  direction!: IoDirection;

  /** `server:/export` as nfsiostat names it. */
  @Column({ type: 'text' })
  export!: string;

  @Column({ name: 'since_mount', type: 'boolean' })
  sinceMount!: boolean;

  /** When the interval began, when the upload said when nfsiostat started and its interval. */
  @Column({ type: 'timestamptz', nullable: true })
  at!: Date | null;

  @Column({ name: 'interval_s', type: 'double precision', nullable: true })
  intervalSeconds!: number | null;

  @Column({ name: 'ops_per_s', type: 'double precision' })
  opsPerSecond!: number;

  @Column({ name: 'kb_per_s', type: 'double precision' })
  kbPerSecond!: number;

  @Column({ name: 'kb_per_op', type: 'double precision' })
  kbPerOp!: number;

  @Column(bigintAsString)
  retrans!: string;

  @Column({ name: 'avg_rtt_ms', type: 'double precision' })
  avgRttMs!: number;

  @Column({ name: 'avg_exe_ms', type: 'double precision' })
  avgExeMs!: number;

  @Column({ name: 'avg_queue_ms', type: 'double precision', nullable: true })
  avgQueueMs!: number | null;

  @Column({ ...bigintAsString, nullable: true })
  errors!: string | null;

  /** RPC calls per second on the whole mount, and the RPC backlog queue length. */
  @Column({ name: 'mount_ops_per_s', type: 'double precision', nullable: true })
  mountOpsPerSecond!: number | null;

  @Column({ name: 'rpc_backlog', type: 'double precision', nullable: true })
  rpcBacklog!: number | null;
}

/** One power reading of one piece of equipment (a DCGM or Redfish reading reduced to watts). */
@Entity({ name: 'training_run_power_samples' })
@Check('training_run_power_samples_kind_check', `"kind" IN ('GPU_NODE', 'STORAGE', 'REPLICA', 'CACHE', 'SWITCH')`)
@Check('training_run_power_samples_watts_check', `"watts" >= 0`)
export class TrainingRunPowerSampleEntity {
  @PrimaryColumn({ name: 'run_id', type: 'uuid', primaryKeyConstraintName: 'training_run_power_samples_pkey' })
  runId!: string;

  @ManyToOne(() => TrainingRunEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id', foreignKeyConstraintName: 'training_run_power_samples_run_id_fkey' })
  run?: TrainingRunEntity;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'training_run_power_samples_pkey' })
  equipment!: string;

  @PrimaryColumn({ type: 'timestamptz', primaryKeyConstraintName: 'training_run_power_samples_pkey' })
  time!: Date;

  @Column({ type: 'text' })
  kind!: PowerEquipmentKind;

  @Column({ name: 'site_id', type: 'uuid' })
  siteId!: string;

  @ManyToOne(() => SiteEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'site_id', foreignKeyConstraintName: 'training_run_power_samples_site_id_fkey' })
  site?: SiteEntity;

  @Column({ type: 'double precision' })
  watts!: number;
}

/**
 * A finished run's power samples of one piece of equipment, reduced over the run's window (the evaluation's
 * energy figures): written the first time the finished run is evaluated, and recomputed if the window it
 * was reduced over is not the run's any more. A finished run takes no more samples, so it stays exact.
 */
@Entity({ name: 'training_run_power_totals' })
export class TrainingRunPowerTotalEntity {
  @PrimaryColumn({ name: 'run_id', type: 'uuid', primaryKeyConstraintName: 'training_run_power_totals_pkey' })
  runId!: string;

  @ManyToOne(() => TrainingRunEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id', foreignKeyConstraintName: 'training_run_power_totals_run_id_fkey' })
  run?: TrainingRunEntity;

  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'training_run_power_totals_pkey' })
  equipment!: string;

  @Column({ name: 'window_from', type: 'timestamptz', nullable: true })
  windowFrom!: Date | null;

  @Column({ name: 'window_to', type: 'timestamptz', nullable: true })
  windowTo!: Date | null;

  @Column({ type: 'text' })
  kind!: PowerEquipmentKind;

  @Column({ name: 'site_id', type: 'uuid' })
  siteId!: string;

  @Column({ type: 'integer' })
  samples!: number;

  @Column({ name: 'first_at', type: 'timestamptz' })
  firstAt!: Date;

  @Column({ name: 'last_at', type: 'timestamptz' })
  lastAt!: Date;

  @Column({ name: 'max_gap_s', type: 'double precision' })
  maxGapSeconds!: number;

  @Column({ type: 'double precision' })
  joules!: number;

  @Column({ name: 'first_watts', type: 'double precision' })
  firstWatts!: number;

  @Column({ name: 'last_watts', type: 'double precision' })
  lastWatts!: number;
}

/**
 * A kept line of the trainer's log. `seq` numbers every line a run received, across uploads; the first and
 * the last lines are kept (see RUN_LOG_KEEP), the rest only counted on the run.
 */
@Entity({ name: 'training_run_log_lines' })
@Check('training_run_log_lines_level_check', `"level" IS NULL OR "level" IN ('ERROR', 'WARN', 'INFO', 'DEBUG')`)
export class TrainingRunLogLineEntity {
  @PrimaryColumn({ name: 'run_id', type: 'uuid', primaryKeyConstraintName: 'training_run_log_lines_pkey' })
  runId!: string;

  @ManyToOne(() => TrainingRunEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'run_id', foreignKeyConstraintName: 'training_run_log_lines_run_id_fkey' })
  run?: TrainingRunEntity;

  @PrimaryColumn({ ...bigintAsString, primaryKeyConstraintName: 'training_run_log_lines_pkey' })
  seq!: string;

  @Column({ type: 'text', nullable: true })
  level!: LogLevel | null;

  @Column({ type: 'text' })
  text!: string;
}
