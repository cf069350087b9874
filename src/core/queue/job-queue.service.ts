import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { Queue, type JobsOptions } from 'bullmq';
import { JOB_QUEUE, JobName, JobPayloads, QueueName } from './job-catalogue';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { JobHandlers } from './job-handlers';
import { QUEUE_CONNECTION } from './queue.tokens';
import type { QueueConnection } from './queue-connection';

/**
 * Producer side of the queues. Callers enqueue only after the transaction that justifies a job has
 * committed; the deterministic job id makes a repeated enqueue a no-op.
 */
@Injectable()
export class JobQueue implements OnApplicationShutdown {
  private readonly logger = new Logger(JobQueue.name);
  private readonly queues = new Map<QueueName, Queue>();
  /** Retries with exponential backoff by default; failed jobs are kept for inspection. */
  private readonly defaultJobOptions: JobsOptions;

  constructor(
    @Inject(QUEUE_CONNECTION) private readonly queueConnection: QueueConnection,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly handlers: JobHandlers,
  ) {
    this.defaultJobOptions = {
      attempts: config.jobAttempts,
      backoff: { type: 'exponential', delay: config.jobBackoffMs },
      removeOnComplete: { age: 24 * 3600, count: 10_000 },
      removeOnFail: { age: 14 * 24 * 3600 },
    };
  }

  queue(name: QueueName): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, {
        connection: this.queueConnection.connection,
        prefix: this.queueConnection.prefix,
        defaultJobOptions: this.defaultJobOptions,
      });
      queue.on('error', (error) => this.logger.error({ err: error, queue: name }, 'queue connection error'));
      this.queues.set(name, queue);
    }
    return queue;
  }

  async enqueue<N extends JobName>(name: N, payload: JobPayloads[N], options: { jobId: string; runAt?: Date }): Promise<void> {
    const delay = options.runAt ? Math.max(0, options.runAt.getTime() - Date.now()) : 0;
    await this.queue(JOB_QUEUE[name]).add(name, payload, { jobId: options.jobId, delay });
  }

  /**
   * Adds many jobs with one round trip per queue (BullMQ addBulk); like enqueue, a job whose id is already
   * present is left as it is.
   */
  async enqueueMany(jobs: ReadonlyArray<{ name: JobName; payload: JobPayloads[JobName]; jobId: string; runAt?: Date }>): Promise<void> {
    const now = Date.now();
    const byQueue = new Map<QueueName, Array<{ name: string; data: unknown; opts: { jobId: string; delay: number } }>>();
    for (const j of jobs) {
      const queueName = JOB_QUEUE[j.name];
      const list = byQueue.get(queueName) ?? [];
      list.push({ name: j.name, data: j.payload, opts: { jobId: j.jobId, delay: j.runAt ? Math.max(0, j.runAt.getTime() - now) : 0 } });
      byQueue.set(queueName, list);
    }
    for (const [queueName, list] of byQueue) {
      for (let i = 0; i < list.length; i += 500) await this.queue(queueName).addBulk(list.slice(i, i + 500));
    }
  }

  /**
   * Moves a scheduled job to a new time (now, if `runAt` is past or absent), or adds it if it is not
   * scheduled: a delayed job keeps its id, so it cannot run twice.
   */
  async reschedule<N extends JobName>(name: N, payload: JobPayloads[N], options: { jobId: string; runAt?: Date }): Promise<void> {
    const job = await this.queue(JOB_QUEUE[name]).getJob(options.jobId);
    const delay = options.runAt ? Math.max(0, options.runAt.getTime() - Date.now()) : 0;
    if (job && (await job.isDelayed())) {
      if (delay === 0) await job.promote();
      else await job.changeDelay(delay);
      return;
    }
    if (job && ((await job.isCompleted()) || (await job.isFailed()))) await job.remove();
    await this.enqueue(name, payload, options);
  }

  /** Removes a scheduled job that is no longer wanted; a job already running is left to its idempotent handler. */
  async cancel(name: JobName, jobId: string): Promise<void> {
    const job = await this.queue(JOB_QUEUE[name]).getJob(jobId);
    if (job && ((await job.isDelayed()) || (await job.isWaiting()))) {
      await job.remove().catch((error: unknown) => this.logger.warn({ err: error, jobId }, 'could not remove job'));
    }
  }

  /** Resolves when the queue backend answers; used by /health. */
  async ping(): Promise<void> {
    await this.queue(QueueName.Maintenance).getJobCounts('waiting');
  }

  /** Recurring jobs and their periods, as their capabilities registered them with their handlers. */
  private recurring(): Array<[JobName, number]> {
    return this.handlers.recurring();
  }

  private async upsertRecurring(name: JobName, every: number): Promise<void> {
    await this.queue(JOB_QUEUE[name]).upsertJobScheduler(
      name,
      { every },
      { name, data: {}, opts: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 1000 } } },
    );
  }

  /** One reconciliation now: the reconciler rebuilds every wanted job from the database at once. */
  private async reconcileNow(): Promise<void> {
    await this.queue(JOB_QUEUE[JobName.Reconcile]).add(JobName.Reconcile, {}, { attempts: 1, removeOnComplete: { count: 100 } });
  }

  /**
   * Recurring jobs, registered idempotently by every worker at start: the hold sweep expires holds whose
   * own delayed job was lost (the database, not the queue, is the truth); the audit linker chains committed
   * audit entries, and the checkpointer signs the chain's head; the reconciler rebuilds lost jobs; metering collects usage.
   */
  async scheduleRecurring(): Promise<void> {
    for (const [name, every] of this.recurring()) await this.upsertRecurring(name, every);
    // A worker starting after a crash or after the queue lost its contents rebuilds the jobs at once.
    await this.reconcileNow();
  }

  /**
   * Puts back any recurring job the queue has lost (a Redis FLUSHALL or restart without persistence, a
   * truncated queue table), and then reconciles at once. Every running worker calls this every few
   * seconds and when its queue connection comes back, because the schedulers that would otherwise notice
   * (the reconciler among them) live in the very queue that was lost. Returns the jobs put back.
   */
  async ensureRecurring(): Promise<JobName[]> {
    const restored: JobName[] = [];
    for (const [name, every] of this.recurring()) {
      const scheduler = await this.queue(JOB_QUEUE[name]).getJobScheduler(name);
      if (scheduler && scheduler.every === every) continue;
      await this.upsertRecurring(name, every);
      restored.push(name);
    }
    if (restored.length > 0) {
      this.logger.warn({ restored }, 'recurring jobs were missing from the queue; put them back and reconciling now');
      await this.reconcileNow();
    }
    return restored;
  }

  /** Closed after the HTTP server has drained, so in-flight requests can still enqueue. */
  async onApplicationShutdown(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.queues.clear();
  }
}
