import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { JobName, reservationJobId } from '../core/queue/job-catalogue';
import { JobHandlers } from '../core/queue/job-handlers';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { ProvisioningMetrics } from './provisioning-metrics';
import { JobQueue } from '../core/queue/job-queue.service';
import { ReservationState } from '../reservations/reservation-state';
import { ReservationLifecycle } from '../reservations/reservation-lifecycle.service';
import { ReservationsRepository, type LiveReservationRow } from '../reservations/reservations.repository';
import { APN_DRIVER, ApnDriver } from './drivers/apn-driver';
import { MountLifecycle } from '../storage/mount-lifecycle.service';
import { WebhookService } from '../webhooks/webhook.service';
import { ProvisioningJobs } from './provisioning.jobs';

const S = ReservationState;

export interface ReconcileReport {
  jobsEnsured: number;
  repairs: number;
}

/**
 * PostgreSQL is the truth; the queue and the network are brought back in line with it. Run by every worker
 * at start and every 30 s:
 *  - every reservation that still has a step ahead gets its job, with its deterministic id, so a queue
 *    that lost its contents is rebuilt and an existing job is left alone;
 *  - every ACTIVE lightpath the network lacks is set up again, and every lightpath the network holds that
 *    no reservation wants is torn down; NEEDS_CLEANUP reservations are retried until the network is clean;
 *  - mounts are brought in line with their lightpaths (see MountsService.sweep), and webhook deliveries
 *    still PENDING get their job back.
 * Each repair is logged.
 */
@Injectable()
export class Reconciler implements OnModuleInit {
  private readonly logger = new Logger(Reconciler.name);

  constructor(
    private readonly records: ReservationsRepository,
    private readonly jobs: JobQueue,
    private readonly handlers: JobHandlers,
    private readonly reservations: ReservationLifecycle,
    private readonly provisioning: ProvisioningJobs,
    @Inject(APN_DRIVER) private readonly driver: ApnDriver,
    private readonly metrics: ProvisioningMetrics,
    private readonly mounts: MountLifecycle,
    private readonly webhooks: WebhookService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.handlers.register(
      JobName.Reconcile,
      async () => {
        const report = await this.reconcile();
        if (report.repairs > 0) this.logger.warn(report, 'reconciler repaired drift');
      },
      { everyMs: this.config.reconcileIntervalSeconds * 1000 },
    );
  }

  async reconcile(): Promise<ReconcileReport> {
    const live = await this.records.live();
    const now = Date.now();
    const overdue = live.filter((r) => this.overdue(r, now));
    const wanted = live.filter((r) => !overdue.includes(r)).flatMap((r) => this.wantedJobs(r));
    await this.jobs.enqueueMany(wanted);
    const jobsEnsured = wanted.length + (await this.runOverdue(overdue, now));
    await this.webhooks.sweep();
    const mountRepairs = await this.mounts.sweep();
    if (mountRepairs > 0) this.metrics.reconcilerRepairs.inc({ kind: 'mount' }, mountRepairs);
    const repairs = (await this.repairNetwork(live)) + (await this.cleanUp(live)) + mountRepairs;
    return { jobsEnsured, repairs };
  }

  /**
   * A step whose time has come, by the clock and the database alone: a hold past its expiry, a setup past
   * its start, a teardown past its end. Its job may be lost, or blocked by a finished job of the same id.
   */
  private overdue(r: LiveReservationRow, now: number): boolean {
    switch (r.state) {
      case S.HELD:
        return r.hold_expires_at !== null && r.hold_expires_at.getTime() <= now;
      case S.RESERVED:
        return r.start_at.getTime() <= now;
      case S.PROVISIONING:
      case S.ACTIVE:
        return r.end_at.getTime() <= now;
      case S.RELEASING:
        return true;
      default:
        return false;
    }
  }

  /**
   * Makes sure each overdue step runs now. Holds expire here directly; lifecycle steps go through their
   * queue under their usual ids, a finished job of that id replaced, so the step runs once however many
   * workers reconcile. A RESERVED lightpath whose whole window has passed is not set up at all: its setup
   * job fails it (see ProvisioningJobs.setup).
   */
  private async runOverdue(overdue: LiveReservationRow[], now: number): Promise<number> {
    for (const r of overdue) {
      if (r.state === S.HELD) {
        await this.reservations.expireHold(r.id);
        continue;
      }
      const name = r.state === S.RESERVED && r.end_at.getTime() > now ? JobName.LightpathSetup : JobName.LightpathTeardown;
      try {
        await this.jobs.reschedule(name, { reservationId: r.id }, { jobId: reservationJobId(r.id, name) });
      } catch (error) {
        // Another worker's reconciler got there first and its job is running: nothing to do.
        this.logger.debug({ reservationId: r.id, job: name, err: error }, 'overdue step already under way');
      }
    }
    return overdue.length;
  }

  /** The jobs a live reservation needs in the queue, whatever the queue has lost. */
  private wantedJobs(r: LiveReservationRow): Array<{ name: JobName; payload: { reservationId: string }; jobId: string; runAt?: Date }> {
    const job = (name: JobName.HoldExpiry | JobName.LightpathSetup | JobName.LightpathTeardown, runAt?: Date) => ({
      name,
      payload: { reservationId: r.id },
      jobId: reservationJobId(r.id, name),
      runAt,
    });
    switch (r.state) {
      case S.HELD:
        return r.hold_expires_at ? [job(JobName.HoldExpiry, r.hold_expires_at)] : [];
      case S.RESERVED:
        return [job(JobName.LightpathSetup, this.reservations.setupJobRunAt(r.start_at)), job(JobName.LightpathTeardown, r.end_at)];
      case S.PROVISIONING:
        return [job(JobName.LightpathSetup), job(JobName.LightpathTeardown, r.end_at)];
      case S.ACTIVE:
        return [job(JobName.LightpathTeardown, r.end_at)];
      case S.RELEASING:
        return [job(JobName.LightpathTeardown)];
      default:
        return [];
    }
  }

  /** Desired (database) against actual (driver), in both directions. */
  private async repairNetwork(live: LiveReservationRow[]): Promise<number> {
    let repairs = 0;
    const wanted = new Set(live.filter((r) => r.state !== S.HELD && r.state !== S.RESERVED).map((r) => r.id));
    for (const id of await this.driver.listLightpaths()) {
      if (wanted.has(id)) continue;
      // Read again: a setup may have started since the list above was read.
      const now = await this.reservations.find(id);
      if (now && [S.PROVISIONING, S.ACTIVE, S.RELEASING, S.NEEDS_CLEANUP].includes(now.state)) continue;
      await this.driver.teardownLightpath(id);
      this.logger.warn({ lightpathId: id }, 'repair: tore down a lightpath no reservation wants');
      this.metrics.reconcilerRepairs.inc({ kind: 'orphan-lightpath' });
      repairs += 1;
    }
    for (const r of live.filter((x) => x.state === S.ACTIVE)) {
      const actual = await this.driver.getLightpath(r.id);
      if (actual?.state === 'UP') continue;
      await this.provisioning.relight(r.id);
      this.logger.warn({ reservationId: r.id, found: actual?.state ?? 'nothing' }, 'repair: set an ACTIVE lightpath up again');
      this.metrics.reconcilerRepairs.inc({ kind: 'missing-lightpath' });
      repairs += 1;
    }
    return repairs;
  }

  /** A teardown that failed is retried here until the network is clean. */
  private async cleanUp(live: LiveReservationRow[]): Promise<number> {
    let repairs = 0;
    for (const r of live.filter((x) => x.state === S.NEEDS_CLEANUP)) {
      try {
        await this.driver.teardownLightpath(r.id);
      } catch (error) {
        this.logger.warn({ reservationId: r.id, err: error }, 'cleanup still failing; will retry');
        continue;
      }
      // A lightpath that was never up ends FAILED (its setup failed); one that was up ends RELEASED.
      const wasActive = await this.records.wasActive(r.id);
      await this.reservations.advance(r.id, [S.NEEDS_CLEANUP], wasActive ? S.RELEASED : S.FAILED, 'cleaned up by the reconciler');
      this.logger.warn({ reservationId: r.id }, 'repair: cleaned up after a failed teardown');
      this.metrics.reconcilerRepairs.inc({ kind: 'cleanup' });
      repairs += 1;
    }
    return repairs;
  }
}
