import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DataSource } from 'typeorm';
import { QueueName } from '../queue/job-catalogue';
import { JobQueue } from '../queue/job-queue.service';

const RESERVATION_STATES = [
  'HELD', 'RESERVED', 'PROVISIONING', 'ACTIVE', 'RELEASING', 'RELEASED', 'CANCELLED', 'EXPIRED', 'FAILED', 'NEEDS_CLEANUP',
] as const;
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/**
 * Prometheus metrics of this process. Gauges of shared state (reservations by state, queue depth) are read
 * from PostgreSQL and the queue at scrape time, so every replica reports the same truth; job timings,
 * failures, setup durations and reconciler repairs are counted where the jobs run.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();
  readonly jobDuration = new Histogram({
    name: 'apn_job_duration_seconds',
    help: 'Time a job handler took, by job name and outcome.',
    labelNames: ['job', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly jobFailures = new Counter({
    name: 'apn_job_failures_total',
    help: 'Job runs that threw (each retry counts), by job name.',
    labelNames: ['job'] as const,
    registers: [this.registry],
  });
  readonly setupDuration = new Histogram({
    name: 'apn_lightpath_setup_seconds',
    help: 'Time from the start of a lightpath setup to ACTIVE, by driver.',
    labelNames: ['driver'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly reconcilerRepairs = new Counter({
    name: 'apn_reconciler_repairs_total',
    help: 'Drift the reconciler repaired, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly meteringUnmetered = new Counter({
    name: 'apn_metering_unmetered_total',
    help: 'Figures a metering run could not compute from stored data (e.g. energy from an absurd rated power), by meter; counted on every run until the data is repaired.',
    labelNames: ['meter'] as const,
    registers: [this.registry],
  });

  constructor(
    private readonly dataSource: DataSource,
    private readonly jobs: JobQueue,
  ) {
    collectDefaultMetrics({ register: this.registry, prefix: 'apn_process_' });
    const reservations = new Gauge({
      name: 'apn_reservations',
      help: 'Reservations by state.',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect: async () => {
        const rows: Array<{ state: string; n: number }> = await this.dataSource.query(
          'SELECT state, count(*)::int AS n FROM reservations GROUP BY state',
        );
        const counts = new Map(rows.map((r) => [r.state, r.n]));
        for (const state of RESERVATION_STATES) reservations.set({ state }, counts.get(state) ?? 0);
      },
    });
    const depth = new Gauge({
      name: 'apn_queue_jobs',
      help: 'Jobs in each queue, by state.',
      labelNames: ['queue', 'state'] as const,
      registers: [this.registry],
      collect: async () => {
        for (const queue of Object.values(QueueName)) {
          const counts = await this.jobs.queue(queue).getJobCounts(...QUEUE_STATES);
          for (const state of QUEUE_STATES) depth.set({ queue, state }, counts[state] ?? 0);
        }
      },
    });
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
