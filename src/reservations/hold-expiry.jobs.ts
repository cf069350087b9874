import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { JobName } from '../core/queue/job-catalogue';
import { JobHandlers } from '../core/queue/job-handlers';
import { ReservationLifecycle } from './reservation-lifecycle.service';

/** Uncommitted holds time out (NSI's reserveTimeout) and give their capacity back. */
@Injectable()
export class HoldExpiryJobs implements OnModuleInit {
  private readonly logger = new Logger(HoldExpiryJobs.name);

  constructor(
    private readonly handlers: JobHandlers,
    private readonly reservations: ReservationLifecycle,
  ) {}

  onModuleInit(): void {
    this.handlers.register(JobName.HoldExpiry, async ({ reservationId }) => {
      const outcome = await this.reservations.expireHold(reservationId);
      if (outcome === 'not-yet') {
        // The job fired early (clock skew between hosts): fail so that BullMQ retries after backoff.
        throw new Error(`hold of ${reservationId} has not expired yet`);
      }
      if (outcome === 'expired') this.logger.log({ reservationId }, 'hold expired');
    });
    this.handlers.register(
      JobName.HoldSweep,
      async () => {
        for (const id of await this.reservations.overdueHolds()) {
          if ((await this.reservations.expireHold(id)) === 'expired') {
            this.logger.log({ reservationId: id }, 'hold expired by the sweep');
          }
        }
      },
      { everyMs: 30_000 },
    );
  }
}
