import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { IoSeries, PowerSeries } from './run-summary';

/**
 * The reads of a run's recorded series reduced in the database: its steps' histogram, its nfsiostat
 * intervals and its power samples, for summaries, the report and metering.
 */
@Injectable()
export class RunSeriesRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** The histogram buckets of runs' phases: a few hundred rows a run, whatever its number of steps. */
  async stepBuckets(runIds: readonly string[]): Promise<Array<{ runId: string; phase: number; bucket: number; steps: number }>> {
    if (runIds.length === 0) return [];
    const rows: Array<{ run_id: string; phase: number; bucket: number; steps: string }> = await this.dataSource.query(
      'SELECT run_id, phase, bucket, steps FROM training_run_step_buckets WHERE run_id = ANY($1::uuid[])',
      [runIds],
    );
    return rows.map((r) => ({ runId: r.run_id, phase: r.phase, bucket: r.bucket, steps: Number(r.steps) }));
  }

  /** nfsiostat intervals per run, client node and direction, the totals since mount left out. */
  async ioSeries(runIds: readonly string[]): Promise<Array<IoSeries & { runId: string }>> {
    if (runIds.length === 0) return [];
    const rows: Array<{
      run_id: string;
      direction: 'READ' | 'WRITE';
      node: string;
      samples: number;
      seconds: number;
      kilobytes: number;
      operations: number;
      ops_exe: number;
      ops_rtt: number;
      retrans: string;
    }> = await this.dataSource.query(
      `SELECT run_id, direction, node, count(*)::int AS samples, sum(coalesce(interval_s, 1)) AS seconds,
                sum(kb_per_s * coalesce(interval_s, 1)) AS kilobytes, sum(ops_per_s * coalesce(interval_s, 1)) AS operations,
                sum(ops_per_s * coalesce(interval_s, 1) * avg_exe_ms) AS ops_exe, sum(ops_per_s * coalesce(interval_s, 1) * avg_rtt_ms) AS ops_rtt,
                sum(retrans)::text AS retrans
           FROM training_run_io_samples
          WHERE run_id = ANY($1::uuid[]) AND NOT since_mount
          GROUP BY run_id, direction, node`,
      [runIds],
    );
    return rows.map((r) => ({
      runId: r.run_id,
      direction: r.direction,
      node: r.node,
      samples: r.samples,
      seconds: r.seconds,
      kilobytes: r.kilobytes,
      operations: r.operations,
      opsExeMs: r.ops_exe,
      opsRttMs: r.ops_rtt,
      retrans: Number(r.retrans),
    }));
  }

  /**
   * Each piece of equipment's power samples of a run within [from, to] (all of them without bounds),
   * reduced in the database: count, first and last, the longest gap, and the trapezoid integral in joules.
   * A finished run takes no more samples: its reduction is kept (training_run_power_totals) the first time
   * and read from there afterwards, as long as the window is the same.
   */
  async powerSeries(runId: string, from: Date | null, to: Date | null, finished: boolean): Promise<PowerSeries[]> {
    if (finished) {
      const kept = await this.keptPowerTotals(runId, from, to);
      if (kept) return kept;
    }
    const series = await this.reducePowerSamples(runId, from, to);
    if (finished && series.length > 0) await this.keepPowerTotals(runId, from, to, series);
    return series;
  }

  /** The reduction kept for a finished run over the same window, or null when there is none to reuse. */
  private async keptPowerTotals(runId: string, from: Date | null, to: Date | null): Promise<PowerSeries[] | null> {
    const sameWindow = (a: Date | null, b: Date | null) => (a === null ? b === null : b !== null && a.getTime() === b.getTime());
    const kept: Array<{
      equipment: string;
      kind: PowerSeries['kind'];
      site_id: string;
      samples: number;
      first_ms: number;
      last_ms: number;
      max_gap_s: number;
      joules: number;
      first_watts: number;
      last_watts: number;
      window_from: Date | null;
      window_to: Date | null;
    }> = await this.dataSource.query(
      `SELECT equipment, kind, site_id, samples, extract(epoch FROM first_at) * 1000 AS first_ms, extract(epoch FROM last_at) * 1000 AS last_ms,
                max_gap_s, joules, first_watts, last_watts, window_from, window_to
           FROM training_run_power_totals WHERE run_id = $1 ORDER BY equipment`,
      [runId],
    );
    if (kept.length === 0 || !kept.every((k) => sameWindow(k.window_from, from) && sameWindow(k.window_to, to))) return null;
    return kept.map((r) => ({
      equipment: r.equipment,
      kind: r.kind,
      siteId: r.site_id,
      samples: r.samples,
      firstMs: Number(r.first_ms),
      lastMs: Number(r.last_ms),
      maxGapSeconds: r.max_gap_s,
      joules: r.joules,
      firstWatts: r.first_watts,
      lastWatts: r.last_watts,
    }));
  }

  /** The samples within [from, to] reduced per piece of equipment. */
  private async reducePowerSamples(runId: string, from: Date | null, to: Date | null): Promise<PowerSeries[]> {
    const rows: Array<{
      equipment: string;
      kind: PowerSeries['kind'];
      site_id: string;
      samples: number;
      first_ms: number;
      last_ms: number;
      max_gap: number | null;
      joules: number | null;
      first_w: number;
      last_w: number;
    }> = await this.dataSource.query(
      `WITH s AS (
           SELECT equipment, time, watts, lead(time) OVER w AS next_t, lead(watts) OVER w AS next_w
             FROM training_run_power_samples
            WHERE run_id = $1 AND ($2::timestamptz IS NULL OR time >= $2) AND ($3::timestamptz IS NULL OR time <= $3)
           WINDOW w AS (PARTITION BY equipment ORDER BY time)
         ), g AS (
           SELECT equipment, count(*)::int AS samples, min(time) AS first_t, max(time) AS last_t,
                  extract(epoch FROM max(next_t - time)) AS max_gap, sum((watts + next_w) * extract(epoch FROM next_t - time)) / 2 AS joules
             FROM s GROUP BY equipment
         )
         SELECT g.equipment, f.kind, f.site_id::text AS site_id, g.samples, extract(epoch FROM g.first_t) * 1000 AS first_ms,
                extract(epoch FROM g.last_t) * 1000 AS last_ms, g.max_gap, g.joules, f.watts AS first_w, l.watts AS last_w
           FROM g
           JOIN training_run_power_samples f ON f.run_id = $1 AND f.equipment = g.equipment AND f.time = g.first_t
           JOIN training_run_power_samples l ON l.run_id = $1 AND l.equipment = g.equipment AND l.time = g.last_t
          ORDER BY g.equipment`,
      [runId, from, to],
    );
    return rows.map((r) => ({
      equipment: r.equipment,
      kind: r.kind,
      siteId: r.site_id,
      samples: r.samples,
      firstMs: Number(r.first_ms),
      lastMs: Number(r.last_ms),
      maxGapSeconds: r.max_gap ?? 0,
      joules: r.joules ?? 0,
      firstWatts: r.first_w,
      lastWatts: r.last_w,
    }));
  }

  /** Keeps a finished run's reduction over [from, to], replacing what was kept over another window. */
  private async keepPowerTotals(runId: string, from: Date | null, to: Date | null, series: readonly PowerSeries[]): Promise<void> {
    await this.dataSource.query('DELETE FROM training_run_power_totals WHERE run_id = $1 AND NOT (equipment = ANY($2::text[]))', [
      runId,
      series.map((x) => x.equipment),
    ]);
    await this.dataSource.query(
      `INSERT INTO training_run_power_totals (run_id, equipment, window_from, window_to, kind, site_id, samples, first_at, last_at, max_gap_s, joules, first_watts, last_watts)
       SELECT $1, u.equipment, $2, $3, u.kind, u.site_id, u.samples, timestamptz 'epoch' + u.first_ms * interval '1 millisecond',
              timestamptz 'epoch' + u.last_ms * interval '1 millisecond', u.max_gap, u.joules, u.first_w, u.last_w
         FROM unnest($4::text[], $5::text[], $6::uuid[], $7::int[], $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::float8[], $13::float8[])
           AS u(equipment, kind, site_id, samples, first_ms, last_ms, max_gap, joules, first_w, last_w)
       ON CONFLICT (run_id, equipment) DO UPDATE SET window_from = excluded.window_from, window_to = excluded.window_to, kind = excluded.kind,
         site_id = excluded.site_id, samples = excluded.samples, first_at = excluded.first_at, last_at = excluded.last_at,
         max_gap_s = excluded.max_gap_s, joules = excluded.joules, first_watts = excluded.first_watts, last_watts = excluded.last_watts`,
      [
        runId,
        from,
        to,
        series.map((x) => x.equipment),
        series.map((x) => x.kind),
        series.map((x) => x.siteId),
        series.map((x) => x.samples),
        series.map((x) => x.firstMs),
        series.map((x) => x.lastMs),
        series.map((x) => x.maxGapSeconds),
        series.map((x) => x.joules),
        series.map((x) => x.firstWatts),
        series.map((x) => x.lastWatts),
      ],
    );
  }

  /** Up to `points` steps evenly spread over a run's step numbers, with their Read + GPU + Save: one index probe each. */
  async stepSample(runId: string, points: number): Promise<Array<{ step: number; seconds: number }>> {
    const rows: Array<{ step: number; seconds: number }> = await this.dataSource.query(
      `WITH bounds AS (SELECT min(step) AS lo, max(step) AS hi FROM training_run_steps WHERE run_id = $1)
       SELECT s.step, s.read_s + s.gpu_s + s.save_s AS seconds
         FROM bounds b
         CROSS JOIN LATERAL generate_series(0, $2 - 1) AS g(i)
         JOIN training_run_steps s ON s.run_id = $1
                                  AND s.step = b.lo + ((b.hi - b.lo)::bigint * g.i / greatest($2 - 1, 1))::int
        ORDER BY s.step`,
      [runId, points],
    );
    return rows;
  }

  /** Each piece of equipment's mean watts in `buckets` equal spans of [from, to], as (seconds from `from`, watts). */
  async powerPoints(
    runId: string,
    from: Date,
    to: Date,
    buckets: number,
  ): Promise<Array<{ equipment: string; points: Array<[number, number]> }>> {
    const span = Math.max(1, (to.getTime() - from.getTime()) / 1000 / buckets);
    const rows: Array<{ equipment: string; t: number; watts: number }> = await this.dataSource.query(
      `SELECT equipment, (floor(extract(epoch FROM time - $2::timestamptz) / $4) * $4) AS t, avg(watts) AS watts
         FROM training_run_power_samples
        WHERE run_id = $1 AND time >= $2 AND time <= $3
        GROUP BY 1, 2 ORDER BY 1, 2`,
      [runId, from, to, span],
    );
    const out = new Map<string, Array<[number, number]>>();
    for (const r of rows) {
      if (!out.has(r.equipment)) out.set(r.equipment, []);
      out.get(r.equipment)!.push([Number(r.t), r.watts]);
    }
    return [...out].map(([equipment, points]) => ({ equipment, points }));
  }

  /**
   * Power samples of GPU nodes in [from, to], for the nodes of runs' GPU allocations: a sample counts for an
   * allocation's node when the run names the allocation and the sample's equipment is the node's name.
   */
  async gpuNodeSamples(
    m: EntityManager,
    from: Date,
    to: Date,
  ): Promise<Array<{ allocationId: string; node: string; ms: number; watts: number }>> {
    const rows: Array<{ allocation_id: string; node: string; ms: number; watts: number }> = await m.query(
      `SELECT DISTINCT ON (r.gpu_allocation_id, p.equipment, p.time)
              r.gpu_allocation_id AS allocation_id, p.equipment AS node, extract(epoch FROM p.time) * 1000 AS ms, p.watts
         FROM training_runs r
         JOIN training_run_power_samples p ON p.run_id = r.id AND p.kind = 'GPU_NODE'
        WHERE r.gpu_allocation_id IS NOT NULL AND p.time >= $1 AND p.time <= $2
        ORDER BY r.gpu_allocation_id, p.equipment, p.time, r.created_at`,
      [from, to],
    );
    return rows.map((r) => ({ allocationId: r.allocation_id, node: r.node, ms: Number(r.ms), watts: r.watts }));
  }
}
