import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { UnrecoverableError, Worker } from 'bullmq';
import { QueueName } from './job-catalogue';
import { JobHandlers } from './job-handlers';
import { MetricsService } from '../metrics/metrics.service';
import { JobQueue } from './job-queue.service';
import { QUEUE_CONNECTION } from './queue.tokens';
import type { QueueConnection } from './queue-connection';
import { APP_CONFIG, AppConfig } from '../config/config';

/** How often each worker checks that the recurring jobs are still in the queue. */
const RECURRING_CHECK_MS = 5_000;

/**
 * Consumer side: one BullMQ worker per queue, dispatching by job name to the registered handler. Errors
 * propagate so that BullMQ retries with backoff; only UnrecoverableError stops retries.
 */
@Injectable()
export class JobWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(JobWorker.name);
  private readonly workers: Worker[] = [];
  private recurringCheck: NodeJS.Timeout | null = null;

  constructor(
    @Inject(QUEUE_CONNECTION) private readonly queueConnection: QueueConnection,
    private readonly handlers: JobHandlers,
    private readonly jobQueue: JobQueue,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const missing = this.handlers.missing();
    if (missing.length > 0) throw new Error(`No handler registered for job(s): ${missing.join(', ')}`);
    for (const queueName of Object.values(QueueName)) {
      const worker = new Worker(
        queueName,
        async (job) => {
          const handler = this.handlers.get(job.name);
          if (!handler) throw new UnrecoverableError(`No handler for job ${job.name}`);
          const attempt = job.attemptsMade + 1;
          const timer = this.metrics.jobDuration.startTimer({ job: job.name });
          try {
            await handler(job.data as Parameters<typeof handler>[0], {
              jobId: job.id ?? '',
              attempt,
              finalAttempt: attempt >= (job.opts.attempts ?? 1),
            });
            timer({ outcome: 'completed' });
          } catch (error) {
            timer({ outcome: 'failed' });
            this.metrics.jobFailures.inc({ job: job.name });
            throw error;
          }
        },
        {
          connection: this.queueConnection.connection,
          prefix: this.queueConnection.prefix,
          concurrency: this.config.workerConcurrency,
          // A job whose worker died is picked up again once its lock lapses; keep that wait short.
          lockDuration: this.config.jobLockSeconds * 1000,
          stalledInterval: this.config.jobLockSeconds * 1000,
          // The PostgreSQL backend polls between LISTEN wake-ups; a short drain delay keeps delayed jobs on time.
          ...(this.queueConnection.kind === 'postgres' ? { drainDelay: 0.2 } : {}),
        },
      );
      worker.on('failed', (job, error) =>
        this.logger.warn({ jobId: job?.id, job: job?.name, attempt: job?.attemptsMade, err: error }, 'job failed'),
      );
      worker.on('error', (error) => this.logger.error({ err: error, queue: queueName }, 'worker error'));
      this.workers.push(worker);
    }
    await this.jobQueue.scheduleRecurring();
    // The recurring jobs live in the queue: if it loses them, nothing in the queue would notice. Each worker
    // checks for them itself, every few seconds and whenever its queue connection comes back.
    const ensure = () =>
      void this.jobQueue
        .ensureRecurring()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'could not check the recurring jobs; will retry'));
    this.recurringCheck = setInterval(ensure, RECURRING_CHECK_MS);
    this.recurringCheck.unref();
    this.queueConnection.onReconnect?.(ensure);
    this.logger.log(`workers started on ${this.queueConnection.kind} for queues: ${Object.values(QueueName).join(', ')}`);
  }

  /** First step of shutdown: stop taking jobs and let running ones finish while the database and queues are up. */
  async onModuleDestroy(): Promise<void> {
    if (this.recurringCheck) clearInterval(this.recurringCheck);
    this.recurringCheck = null;
    await Promise.all(this.workers.map((w) => w.close()));
    this.workers.length = 0;
  }
}
