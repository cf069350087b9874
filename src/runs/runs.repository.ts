import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager, In } from 'typeorm';
import { StorageDesign } from '../vocabulary/domain';
import { PgErrorCode, pgErrorCode } from '../core/errors/app-error';
import { isUuid } from '../core/ids';
import type { NfsIoSample } from './ingest/nfsiostat';
import type { PowerSample } from './ingest/power';
import { Micros, microsToIso } from './ingest/records';
import { type StepRow, stepEnd } from './ingest/step-log';
import { type StepAggregate, addStep, emptyAggregate } from './step-histogram';
import { RunConnectionKind, TrainingRunEntity, TrainingRunState } from './run.entities';

/** How a batch row fared: stored, already stored with the same values (a duplicate), or stored with others. */
export type BatchOutcome = 'STORED' | 'DUPLICATE' | 'CONFLICT';

/** The first and the last lines of a run's log are kept, this many of each; the rest are only counted. */
export const RUN_LOG_KEEP = { first: 5000, last: 5000 } as const;

export interface RunPageFilter {
  first: number;
  after: { createdAt: Date; id: string } | null;
  tenantId: string | null;
  state: TrainingRunState | null;
}

/** The counters of a run a batch reads under the run's row lock. */
export interface LockedRun {
  state: TrainingRunState;
  stepCount: number;
  ioSampleCount: number;
  powerSampleCount: number;
  logLineCount: number;
}

export interface IoSampleRow extends NfsIoSample {
  readonly node: string;
  readonly at: Micros | null;
  readonly intervalSeconds: number | null;
}

export interface LogLineRow {
  readonly seq: number;
  readonly level: string | null;
  readonly text: string;
}

const iso = (m: Micros | null) => (m === null ? null : microsToIso(m));
/** A timestamptz as microseconds since 1970, exactly (the driver's Date would keep milliseconds only). */
const MICROS = (column: string) => `(floor(extract(epoch FROM ${column}) * 1000000))::bigint::text`;

/**
 * Every statement on the measured-run tables. A batch of ingested rows is one multi-row statement that
 * inserts the new rows and compares the ones already stored, so a repeated upload is told apart from a
 * conflicting one without a round trip per row.
 */
@Injectable()
export class RunsRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  async insertRun(m: EntityManager, run: TrainingRunEntity): Promise<void> {
    await m.getRepository(TrainingRunEntity).insert(run);
  }

  findRun(id: string, m: EntityManager = this.dataSource.manager): Promise<TrainingRunEntity | null> {
    return isUuid(id) ? m.getRepository(TrainingRunEntity).findOneBy({ id }) : Promise.resolve(null);
  }

  /** Newest first, by the keyset (created_at, id). */
  async listRuns(f: RunPageFilter): Promise<{ rows: TrainingRunEntity[]; hasNextPage: boolean }> {
    const q = this.dataSource.getRepository(TrainingRunEntity).createQueryBuilder('r');
    if (f.tenantId) q.andWhere('r.tenant_id = :tenantId', { tenantId: f.tenantId });
    if (f.state) q.andWhere('r.state = :state', { state: f.state });
    if (f.after) q.andWhere('(r.created_at, r.id) < (:createdAt, :id)', { createdAt: f.after.createdAt, id: f.after.id });
    const rows = await q
      .orderBy('r.created_at', 'DESC')
      .addOrderBy('r.id', 'DESC')
      .limit(f.first + 1)
      .getMany();
    return { rows: rows.slice(0, f.first), hasNextPage: rows.length > f.first };
  }

  /** Locks the run's row for the rest of the transaction: batches of one run, and its completion, go one at a time. */
  async lockRun(m: EntityManager, id: string): Promise<LockedRun | null> {
    const rows: Array<{
      state: TrainingRunState;
      step_count: string;
      io_sample_count: string;
      power_sample_count: string;
      log_line_count: string;
    }> = await m.query(
      `SELECT state, step_count, io_sample_count, power_sample_count, log_line_count FROM training_runs WHERE id = $1 FOR UPDATE`,
      [id],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      state: r.state,
      stepCount: Number(r.step_count),
      ioSampleCount: Number(r.io_sample_count),
      powerSampleCount: Number(r.power_sample_count),
      logLineCount: Number(r.log_line_count),
    };
  }

  async finishRun(
    m: EntityManager,
    id: string,
    state: TrainingRunState,
    startedAt: Date | null,
    finishedAt: Date,
    reason: string | null,
  ): Promise<void> {
    await m.query(
      `UPDATE training_runs SET state = $2, started_at = $3, finished_at = $4, failure_reason = $5, updated_at = now() WHERE id = $1`,
      [id, state, startedAt, finishedAt, reason],
    );
  }

  // ---- steps ---------------------------------------------------------------------------------------------

  /**
   * Inserts a batch of steps (distinct step numbers) and adds the rows it inserted to the run's aggregates:
   * the step count, the sums of the three phases, the first start and last end, and the histogram buckets
   * of each phase. A step already stored is compared, not overwritten, and counts in no aggregate.
   *
   * The batch's aggregate is computed here and applied by the inserting statement itself when every row
   * was inserted, the usual case: one statement, and nothing read back but the run's count. When some rows
   * were already stored, only those are looked up (one index probe each) and compared, and a second
   * statement applies the aggregate of the rows that were inserted. Answers the run's step count afterwards
   * and the rows not inserted (by position in `rows`), as duplicates or conflicts.
   */
  async insertSteps(
    m: EntityManager,
    runId: string,
    rows: readonly StepRow[],
  ): Promise<{ stepCount: number; notStored: Map<number, BatchOutcome> }> {
    const n = rows.length;
    const step = new Array<number>(n);
    const epoch = new Array<number | null>(n);
    const read = new Array<number>(n);
    const gpu = new Array<number>(n);
    const save = new Array<number>(n);
    const start = new Array<string | null>(n);
    const readEnd = new Array<string | null>(n);
    const gpuEnd = new Array<string | null>(n);
    const saveEnd = new Array<string | null>(n);
    const text = (v: Micros | null) => (v === null ? null : v.toString());
    const whole = emptyAggregate();
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      step[i] = r.step;
      epoch[i] = r.epoch;
      read[i] = r.readSeconds;
      gpu[i] = r.gpuSeconds;
      save[i] = r.saveSeconds;
      start[i] = text(r.startAt);
      readEnd[i] = text(r.readEndAt);
      gpuEnd[i] = text(r.gpuEndAt);
      saveEnd[i] = text(r.saveEndAt);
      addStep(whole, r.readSeconds, r.gpuSeconds, r.saveSeconds, r.startAt, stepEnd(r));
    }
    const params = [runId, step, epoch, read, gpu, save, start, readEnd, gpuEnd, saveEnd, n, ...aggregateParams(whole)];
    // New steps, the usual case, go in by a plain insert (no conflict handling per row); should any be stored
    // already, the insert fails on the key, is undone to the savepoint, and the batch takes the path below.
    await m.query('SAVEPOINT step_batch');
    try {
      const plain: Array<{ step_count: string }> = await m.query(
        `WITH ${STEP_INPUT}, stored AS (
           INSERT INTO training_run_steps (run_id, step, epoch, read_s, gpu_s, save_s, start_at, read_end_at, gpu_end_at, save_end_at)
           SELECT $1, step, epoch, read_s, gpu_s, save_s, start_at, read_end_at, gpu_end_at, save_end_at FROM input
         ), ${APPLY_AGGREGATE('$11::int > 0', 11)}
         SELECT step_count::text FROM run`,
        params,
      );
      await m.query('RELEASE SAVEPOINT step_batch');
      return { stepCount: Number(plain[0].step_count), notStored: new Map() };
    } catch (error) {
      if (pgErrorCode(error) !== PgErrorCode.UNIQUE_VIOLATION) throw error;
      await m.query('ROLLBACK TO SAVEPOINT step_batch');
    }
    const result: Array<{ step_count: string | null; not_stored: Array<[number, boolean]> | null }> = await m.query(
      `WITH ${STEP_INPUT}, stored AS (
         INSERT INTO training_run_steps (run_id, step, epoch, read_s, gpu_s, save_s, start_at, read_end_at, gpu_end_at, save_end_at)
         SELECT $1, step, epoch, read_s, gpu_s, save_s, start_at, read_end_at, gpu_end_at, save_end_at FROM input
         ON CONFLICT (run_id, step) DO NOTHING
         RETURNING 1
       ), totals AS (
         SELECT count(*) = $11 AS whole FROM stored
       ), ${APPLY_AGGREGATE('(SELECT whole FROM totals)', 11)}
       SELECT (SELECT step_count FROM run)::text AS step_count,
              CASE WHEN NOT (SELECT whole FROM totals) THEN
                (SELECT json_agg(json_build_array(i.position,
                          (e.epoch, e.read_s, e.gpu_s, e.save_s, e.start_at, e.read_end_at, e.gpu_end_at, e.save_end_at)
                            IS NOT DISTINCT FROM (i.epoch, i.read_s, i.gpu_s, i.save_s, i.start_at, i.read_end_at, i.gpu_end_at, i.save_end_at)))
                   FROM input i CROSS JOIN LATERAL (SELECT * FROM training_run_steps x WHERE x.run_id = $1 AND x.step = i.step) e)
              END AS not_stored`,
      params,
    );
    // The statement's snapshot predates its own insert: the steps it finds in the table were there before.
    const notStored = new Map<number, BatchOutcome>();
    for (const [position, same] of result[0].not_stored ?? []) notStored.set(position - 1, same ? 'DUPLICATE' : 'CONFLICT');
    if (result[0].step_count !== null) return { stepCount: Number(result[0].step_count), notStored };
    const inserted = emptyAggregate();
    rows.forEach((r, i) => {
      if (!notStored.has(i)) addStep(inserted, r.readSeconds, r.gpuSeconds, r.saveSeconds, r.startAt, stepEnd(r));
    });
    const applied: Array<{ step_count: string }> = await m.query(`WITH ${APPLY_AGGREGATE('true', 1)} SELECT step_count::text FROM run`, [
      runId,
      ...aggregateParams(inserted),
    ]);
    return { stepCount: Number(applied[0].step_count), notStored };
  }

  /**
   * When each of `steps` ended, as stored: its saveEnd, else its gpuEnd, else its start plus its phases.
   * Read to the microsecond, for steps of a later upload that start where these ended.
   */
  async stepEnds(runId: string, steps: readonly number[]): Promise<Map<number, Micros>> {
    if (steps.length === 0) return new Map();
    const rows: Array<{
      step: number;
      start_at: string | null;
      read_s: number;
      gpu_s: number;
      save_s: number;
      gpu_end_at: string | null;
      save_end_at: string | null;
    }> = await this.dataSource.query(
      `SELECT step, read_s, gpu_s, save_s, ${MICROS('start_at')} AS start_at, ${MICROS('gpu_end_at')} AS gpu_end_at, ${MICROS('save_end_at')} AS save_end_at
           FROM training_run_steps WHERE run_id = $1 AND step = ANY($2::int[])`,
      [runId, steps],
    );
    const ends = new Map<number, Micros>();
    for (const r of rows) {
      const big = (v: string | null) => (v === null ? null : BigInt(v));
      const end =
        big(r.save_end_at) ??
        big(r.gpu_end_at) ??
        (r.start_at === null ? null : BigInt(r.start_at) + BigInt(Math.round((r.read_s + r.gpu_s + r.save_s) * 1e6)));
      if (end !== null) ends.set(r.step, end);
    }
    return ends;
  }

  // ---- nfsiostat -----------------------------------------------------------------------------------------

  async insertIoSamples(m: EntityManager, runId: string, rows: readonly IoSampleRow[]): Promise<BatchOutcome[]> {
    const result: Array<{ position: string; stored: boolean; same: boolean }> = await m.query(
      `WITH input AS (
         SELECT * FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::timestamptz[], $8::float8[],
                              $9::float8[], $10::float8[], $11::float8[], $12::bigint[], $13::float8[], $14::float8[],
                              $15::float8[], $16::bigint[], $17::float8[], $18::float8[]) WITH ORDINALITY
           AS u(node, mount_point, report, direction, export, at, interval_s, ops_per_s, kb_per_s, kb_per_op, retrans,
                avg_rtt_ms, avg_exe_ms, avg_queue_ms, errors, mount_ops_per_s, rpc_backlog, position)
       ), stored AS (
         INSERT INTO training_run_io_samples (run_id, node, mount_point, report, direction, export, since_mount, at, interval_s,
                                              ops_per_s, kb_per_s, kb_per_op, retrans, avg_rtt_ms, avg_exe_ms, avg_queue_ms, errors,
                                              mount_ops_per_s, rpc_backlog)
         SELECT $1, node, mount_point, report, direction, export, report = 0, at, interval_s, ops_per_s, kb_per_s, kb_per_op, retrans,
                avg_rtt_ms, avg_exe_ms, avg_queue_ms, errors, mount_ops_per_s, rpc_backlog
           FROM input
         ON CONFLICT (run_id, node, mount_point, report, direction) DO NOTHING
         RETURNING node, mount_point, report, direction
       )
       SELECT i.position::text AS position, s.report IS NOT NULL AS stored,
              (e.export, e.at, e.interval_s, e.ops_per_s, e.kb_per_s, e.kb_per_op, e.retrans, e.avg_rtt_ms, e.avg_exe_ms,
               e.avg_queue_ms, e.errors, e.mount_ops_per_s, e.rpc_backlog)
                IS NOT DISTINCT FROM (i.export, i.at, i.interval_s, i.ops_per_s, i.kb_per_s, i.kb_per_op, i.retrans, i.avg_rtt_ms,
                                      i.avg_exe_ms, i.avg_queue_ms, i.errors, i.mount_ops_per_s, i.rpc_backlog) AS same
         FROM input i
         LEFT JOIN stored s ON (s.node, s.mount_point, s.report, s.direction) = (i.node, i.mount_point, i.report, i.direction)
         LEFT JOIN training_run_io_samples e
           ON e.run_id = $1 AND (e.node, e.mount_point, e.report, e.direction) = (i.node, i.mount_point, i.report, i.direction)`,
      [
        runId,
        rows.map((r) => r.node),
        rows.map((r) => r.mountPoint),
        rows.map((r) => r.report),
        rows.map((r) => r.direction),
        rows.map((r) => r.export),
        rows.map((r) => iso(r.at)),
        rows.map((r) => r.intervalSeconds),
        rows.map((r) => r.opsPerSecond),
        rows.map((r) => r.kbPerSecond),
        rows.map((r) => r.kbPerOp),
        rows.map((r) => r.retrans),
        rows.map((r) => r.avgRttMs),
        rows.map((r) => r.avgExeMs),
        rows.map((r) => r.avgQueueMs),
        rows.map((r) => r.errors),
        rows.map((r) => r.mountOpsPerSecond),
        rows.map((r) => r.rpcBacklog),
      ],
    );
    return outcomes(rows.length, result);
  }

  async addIoSamples(m: EntityManager, runId: string, stored: number): Promise<void> {
    await m.query('UPDATE training_runs SET io_sample_count = io_sample_count + $2, updated_at = now() WHERE id = $1', [runId, stored]);
  }

  // ---- power ---------------------------------------------------------------------------------------------

  async insertPowerSamples(m: EntityManager, runId: string, rows: readonly PowerSample[]): Promise<BatchOutcome[]> {
    const result: Array<{ position: string; stored: boolean; same: boolean }> = await m.query(
      `WITH input AS (
         SELECT * FROM unnest($2::text[], $3::timestamptz[], $4::text[], $5::uuid[], $6::float8[]) WITH ORDINALITY
           AS u(equipment, time, kind, site_id, watts, position)
       ), stored AS (
         INSERT INTO training_run_power_samples (run_id, equipment, time, kind, site_id, watts)
         SELECT $1, equipment, time, kind, site_id, watts FROM input
         ON CONFLICT (run_id, equipment, time) DO NOTHING
         RETURNING equipment, time
       )
       SELECT i.position::text AS position, s.equipment IS NOT NULL AS stored,
              (e.kind, e.site_id, e.watts) IS NOT DISTINCT FROM (i.kind, i.site_id, i.watts) AS same
         FROM input i
         LEFT JOIN stored s ON s.equipment = i.equipment AND s.time = i.time
         LEFT JOIN training_run_power_samples e ON e.run_id = $1 AND e.equipment = i.equipment AND e.time = i.time`,
      [
        runId,
        rows.map((r) => r.equipment),
        rows.map((r) => iso(r.time)),
        rows.map((r) => r.kind),
        rows.map((r) => r.siteId),
        rows.map((r) => r.watts),
      ],
    );
    return outcomes(rows.length, result);
  }

  async addPowerSamples(m: EntityManager, runId: string, stored: number): Promise<void> {
    await m.query('UPDATE training_runs SET power_sample_count = power_sample_count + $2, updated_at = now() WHERE id = $1', [
      runId,
      stored,
    ]);
  }

  // ---- log -----------------------------------------------------------------------------------------------

  /**
   * Appends log lines numbered from the run's count on: keeps the first RUN_LOG_KEEP.first lines of the run
   * and the last RUN_LOG_KEEP.last, drops the middle, and counts every line by level.
   */
  async appendLogLines(
    m: EntityManager,
    runId: string,
    lines: readonly LogLineRow[],
    levels: Record<'ERROR' | 'WARN' | 'INFO' | 'DEBUG', number>,
  ): Promise<void> {
    if (lines.length === 0) return;
    const total = lines[lines.length - 1].seq;
    const keepFrom = total - RUN_LOG_KEEP.last;
    const kept = lines.filter((l) => l.seq <= RUN_LOG_KEEP.first || l.seq > keepFrom);
    if (kept.length > 0) {
      await m.query(
        `INSERT INTO training_run_log_lines (run_id, seq, level, text)
         SELECT $1, seq, level, text FROM unnest($2::bigint[], $3::text[], $4::text[]) AS u(seq, level, text)`,
        [runId, kept.map((l) => l.seq), kept.map((l) => l.level), kept.map((l) => l.text)],
      );
    }
    if (keepFrom > RUN_LOG_KEEP.first) {
      await m.query('DELETE FROM training_run_log_lines WHERE run_id = $1 AND seq > $2 AND seq <= $3', [
        runId,
        RUN_LOG_KEEP.first,
        keepFrom,
      ]);
    }
    await m.query(
      `UPDATE training_runs
          SET log_line_count = $2, log_error_count = log_error_count + $3, log_warn_count = log_warn_count + $4,
              log_info_count = log_info_count + $5, log_debug_count = log_debug_count + $6, updated_at = now()
        WHERE id = $1`,
      [runId, total, levels.ERROR, levels.WARN, levels.INFO, levels.DEBUG],
    );
  }

  // ---- runs read together ----------------------------------------------------------------------------------

  findRuns(ids: readonly string[]): Promise<TrainingRunEntity[]> {
    const valid = ids.filter(isUuid);
    return valid.length ? this.dataSource.getRepository(TrainingRunEntity).findBy({ id: In(valid) }) : Promise.resolve([]);
  }

  /**
   * Completed same-site DIRECT runs of a tenant's workload (model, dataset size, steps per epoch, epochs),
   * newest first: the baselines of KR1.1 and of calibration.
   */
  sameSiteRuns(
    tenantId: string,
    w: { modelName: string; datasetBytes: string; stepsPerEpoch: number; epochs: number },
    limit = 20,
  ): Promise<TrainingRunEntity[]> {
    return this.dataSource.getRepository(TrainingRunEntity).find({
      where: {
        tenantId,
        modelName: w.modelName,
        datasetBytes: w.datasetBytes,
        stepsPerEpoch: w.stepsPerEpoch,
        epochs: w.epochs,
        connectionKind: RunConnectionKind.LOCAL,
        design: StorageDesign.DIRECT,
        state: TrainingRunState.COMPLETED,
      },
      order: { createdAt: 'DESC', id: 'DESC' },
      take: limit,
    });
  }
}

/** Instants travel as microseconds since 1970 (bigint): exact, and no date text to format or parse. */
const at = (column: string) => `(timestamptz 'epoch' + ${column} * interval '1 microsecond')`;

/** The CTE `input`: a batch of steps from its parameter arrays ($2 … $10), numbered from 1 in `position`. */
const STEP_INPUT = `input AS (
         SELECT u.step, u.epoch, u.read_s, u.gpu_s, u.save_s, ${at('u.start_us')} AS start_at, ${at('u.read_end_us')} AS read_end_at,
                ${at('u.gpu_end_us')} AS gpu_end_at, ${at('u.save_end_us')} AS save_end_at, u.position
           FROM unnest($2::int[], $3::int[], $4::float8[], $5::float8[], $6::float8[], $7::int8[], $8::int8[], $9::int8[], $10::int8[]) WITH ORDINALITY
             AS u(step, epoch, read_s, gpu_s, save_s, start_us, read_end_us, gpu_end_us, save_end_us, position)
       )`;

/**
 * The CTEs `buckets` and `run` that add an aggregate to a run, when `when` holds: its histogram buckets
 * (upserted in key order, so that concurrent batches lock them in one order) and its counters. `$1` is the
 * run; the aggregate's parameters follow parameter `$<after>`, in the order of aggregateParams.
 */
function APPLY_AGGREGATE(when: string, after: number): string {
  const p = (k: number) => `$${after + k}`;
  return `buckets AS (
         INSERT INTO training_run_step_buckets AS b (run_id, phase, bucket, steps)
         SELECT $1, u.phase, u.bucket, u.steps FROM unnest(${p(1)}::smallint[], ${p(2)}::int[], ${p(3)}::int8[]) AS u(phase, bucket, steps)
          WHERE ${when}
          ORDER BY u.phase, u.bucket
         ON CONFLICT (run_id, phase, bucket) DO UPDATE SET steps = b.steps + excluded.steps
       ), run AS (
         UPDATE training_runs r
            SET step_count = r.step_count + ${p(4)}::bigint,
                read_s_sum = r.read_s_sum + ${p(5)}::float8, gpu_s_sum = r.gpu_s_sum + ${p(6)}::float8, save_s_sum = r.save_s_sum + ${p(7)}::float8,
                started_at = CASE WHEN ${p(4)}::bigint = 0 THEN r.started_at
                                  WHEN r.started_at IS NULL THEN coalesce(timestamptz 'epoch' + ${p(8)}::int8 * interval '1 microsecond', now())
                                  ELSE least(r.started_at, coalesce(timestamptz 'epoch' + ${p(8)}::int8 * interval '1 microsecond', r.started_at)) END,
                last_step_end_at = greatest(r.last_step_end_at, timestamptz 'epoch' + ${p(9)}::int8 * interval '1 microsecond'),
                updated_at = now()
          WHERE r.id = $1 AND ${when}
         RETURNING r.step_count
       )`;
}

function aggregateParams(a: StepAggregate): unknown[] {
  const buckets = [...a.buckets.values()];
  return [
    buckets.map((b) => b.phase),
    buckets.map((b) => b.bucket),
    buckets.map((b) => b.steps),
    a.steps,
    a.readSeconds,
    a.gpuSeconds,
    a.saveSeconds,
    a.earliestStart === null ? null : a.earliestStart.toString(),
    a.latestEnd === null ? null : a.latestEnd.toString(),
  ];
}

function outcomes(count: number, result: Array<{ position: string; stored: boolean; same: boolean }>): BatchOutcome[] {
  const out = new Array<BatchOutcome>(count);
  for (const r of result) out[Number(r.position) - 1] = r.stored ? 'STORED' : r.same ? 'DUPLICATE' : 'CONFLICT';
  return out;
}
