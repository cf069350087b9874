import { Injectable, OnModuleInit } from '@nestjs/common';
import { JobName } from '../core/queue/job-catalogue';
import { JobHandlers } from '../core/queue/job-handlers';
import { WebhookService } from '../webhooks/webhook.service';
import { MeteringService } from './metering.service';

/** The recurring metering run, on the maintenance queue. */
@Injectable()
export class MeteringJobs implements OnModuleInit {
  constructor(
    private readonly handlers: JobHandlers,
    private readonly metering: MeteringService,
    private readonly webhooks: WebhookService,
  ) {}

  onModuleInit(): void {
    this.handlers.register(
      JobName.MeteringCollect,
      async () => {
        // Usage events written by this run go to the webhooks once their transaction has committed.
        if ((await this.metering.collect(new Date())) > 0) await this.webhooks.publishUsageEvents();
      },
      { everyMs: 60_000 },
    );
  }
}
