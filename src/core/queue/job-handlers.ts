import { Injectable } from '@nestjs/common';
import { JobHandler, JobName } from './job-catalogue';

/**
 * Where capability modules register the handler of each job they own. The worker refuses to start if a
 * job of the catalogue has no handler, and registering one twice is an error at once.
 */
@Injectable()
export class JobHandlers {
  private readonly handlers = new Map<JobName, JobHandler<JobName>>();

  register<N extends JobName>(name: N, handler: JobHandler<N>): void {
    if (this.handlers.has(name)) throw new Error(`Job ${name} has two handlers; each job must have exactly one.`);
    this.handlers.set(name, handler as unknown as JobHandler<JobName>);
  }

  get(name: string): JobHandler<JobName> | undefined {
    return this.handlers.get(name as JobName);
  }

  missing(): JobName[] {
    return Object.values(JobName).filter((name) => !this.handlers.has(name));
  }
}
