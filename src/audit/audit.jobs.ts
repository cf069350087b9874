import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { JobName } from '../core/queue/job-catalogue';
import { JobHandlers } from '../core/queue/job-handlers';
import { AuditService } from './audit.service';

/** Chains committed audit entries every second, so tampering is evident within seconds of a change. */
@Injectable()
export class AuditJobs implements OnModuleInit {
  private readonly logger = new Logger(AuditJobs.name);

  constructor(
    private readonly handlers: JobHandlers,
    private readonly audit: AuditService,
  ) {}

  onModuleInit(): void {
    this.handlers.register(
      JobName.AuditLink,
      async () => {
        const linked = await this.audit.link();
        if (linked > 0) this.logger.debug({ linked }, 'audit entries linked');
      },
      { everyMs: 1_000 },
    );
  }
}
