import { Injectable } from '@nestjs/common';
import { JobHandler, JobName } from './job-catalogue';

/**
 * Where capability modules register the handler of each job they own, and for a recurring job how often it
 * runs (`everyMs`): workers keep a scheduler in the queue for each (JobQueue.scheduleRecurring). The worker
 * refuses to start if a job of the catalogue has no handler, and registering one twice is an error at once.
 */
@Injectable()
export class JobHandlers {
  private readonly handlers = new Map<JobName, JobHandler<JobName>>();
  private readonly periods = new Map<JobName, number>();

  register<N extends JobName>(name: N, handler: JobHandler<N>, options: { everyMs?: number } = {}): void {
    if (this.handlers.has(name)) throw new Error(`Job ${name} has two handlers; each job must have exactly one.`);
    this.handlers.set(name, handler as unknown as JobHandler<JobName>);
    if (options.everyMs !== undefined) this.periods.set(name, options.everyMs);
  }

  /** The recurring jobs and their periods in ms, in the order they were registered. */
  recurring(): Array<[JobName, number]> {
    return [...this.periods.entries()];
  }

  get(name: string): JobHandler<JobName> | undefined {
    return this.handlers.get(name as JobName);
  }

  missing(): JobName[] {
    return Object.values(JobName).filter((name) => !this.handlers.has(name));
  }
}
