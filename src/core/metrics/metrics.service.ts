import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { QueueName } from '../queue/job-catalogue';
import { JobQueue } from '../queue/job-queue.service';

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;

/**
 * Prometheus metrics of this process: the registry every capability adds its own metrics to (reservations
 * by state: reservations/reservation-metrics.ts), the queues' depth and the job timings. Gauges of shared
 * state are read from PostgreSQL and the queue at scrape time, so every replica reports the same truth;
 * job timings, failures, setup durations and reconciler repairs are counted where the jobs run.
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
  constructor(private readonly jobs: JobQueue) {
    collectDefaultMetrics({ register: this.registry, prefix: 'apn_process_' });
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
