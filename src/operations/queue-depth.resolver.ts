import { Query, Resolver } from '@nestjs/graphql';
import { QueueName } from '../core/queue/job-catalogue';
import { JobQueue } from '../core/queue/job-queue.service';
import { Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { QueueDepth } from './queue-depth.model';

@Resolver()
@Roles(Role.OPERATOR)
export class QueueDepthResolver {
  constructor(private readonly jobs: JobQueue) {}

  @Query(() => [QueueDepth], { description: 'Jobs in each queue by state: the same figures as apn_queue_jobs on /metrics. Operator only.' })
  async queueDepth(): Promise<QueueDepth[]> {
    return Promise.all(
      Object.values(QueueName).map(async (queue) => {
        const counts = await this.jobs.queue(queue).getJobCounts('waiting', 'active', 'delayed', 'failed');
        return Object.assign(new QueueDepth(), {
          queue,
          waiting: counts.waiting ?? 0,
          active: counts.active ?? 0,
          delayed: counts.delayed ?? 0,
          failed: counts.failed ?? 0,
        });
      }),
    );
  }
}
