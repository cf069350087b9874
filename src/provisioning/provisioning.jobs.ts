import { setTimeout as sleep } from 'node:timers/promises';
import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { JobMeta, JobName, reservationJobId } from '../core/queue/job-catalogue';
import { JobHandlers } from '../core/queue/job-handlers';
import { ProvisioningMetrics } from './provisioning-metrics';
import { ReservationEntity } from '../reservations/reservation.entities';
import { ReservationState } from '../reservations/reservation-state';
import { ReservationLifecycle } from '../reservations/reservation-lifecycle.service';
import { MountLifecycle } from '../storage/mount-lifecycle.service';
import { frequencyThz } from '../topology/pce';
import { TopologyService } from '../topology/topology.service';
import { APN_DRIVER, ApnDriver, DriverError, LightpathSpec } from './drivers/apn-driver';

const S = ReservationState;

/**
 * Brings lightpaths up at their start and down at their end. Every handler is idempotent: it reads the
 * reservation's state and continues from there, and the driver's operations are idempotent too, so a
 * retried, duplicated or resumed job never double-acts. A retryable failure propagates so that BullMQ
 * retries with backoff; on the last attempt the handler leaves a clean state instead.
 */
@Injectable()
export class ProvisioningJobs implements OnModuleInit {
  private readonly logger = new Logger(ProvisioningJobs.name);

  constructor(
    private readonly handlers: JobHandlers,
    private readonly reservations: ReservationLifecycle,
    private readonly topology: TopologyService,
    @Inject(APN_DRIVER) private readonly driver: ApnDriver,
    private readonly metrics: ProvisioningMetrics,
    private readonly mounts: MountLifecycle,
  ) {}

  onModuleInit(): void {
    this.handlers.register(JobName.LightpathSetup, ({ reservationId }, meta) => this.setup(reservationId, meta));
    this.handlers.register(JobName.LightpathTeardown, ({ reservationId }, meta) => this.teardown(reservationId, meta));
  }

  async setup(id: string, meta: JobMeta): Promise<void> {
    // The job is due a little before the start (APN_SETUP_LEAD_MS): wait for the start here, so that the
    // devices are configured from the start on, never before it (the previous holder of the channel may
    // hold it until then), and without the queue's pickup delay.
    const booked = await this.reservations.find(id);
    if (booked?.state === S.RESERVED && booked.endAt.getTime() <= Date.now()) {
      // The queue lost this job until after the window: a lightpath is never lit outside its window.
      await this.failUnprovisioned(id);
      return;
    }
    const wait = booked && booked.state === S.RESERVED ? booked.startAt.getTime() - Date.now() : 0;
    if (wait > 0) await sleep(wait);
    const step = await this.reservations.advance(id, [S.RESERVED], S.PROVISIONING, `setting up the lightpath (${this.driver.name})`);
    const r = step.reservation;
    // Resume a setup interrupted by a crash; anything else (cancelled, already up) needs nothing.
    if (!r || r.state !== S.PROVISIONING) return;
    const setupTimer = this.metrics.setupDuration.startTimer({ driver: this.driver.name });
    try {
      await this.setupRoutingAroundDownLinks(r);
    } catch (error) {
      const retryable = !(error instanceof DriverError) || error.retryable;
      if (retryable && !meta.finalAttempt) throw error;
      // Give up: roll back whatever hops were configured, then free the capacity with the reason. If even
      // the rollback fails, the hops may still be lit: NEEDS_CLEANUP, and the reconciler takes over.
      const reason = `setup failed after ${meta.attempt} attempt(s): ${(error as Error).message}`;
      try {
        await this.driver.teardownLightpath(id);
      } catch (rollbackError) {
        await this.reservations.advance(
          id,
          [S.PROVISIONING],
          S.NEEDS_CLEANUP,
          `${reason}; rollback failed: ${(rollbackError as Error).message}`,
        );
        this.logger.warn({ reservationId: id, err: rollbackError }, 'lightpath setup failed and its rollback too; needs cleanup');
        return;
      }
      const failed = await this.reservations.advance(id, [S.PROVISIONING], S.FAILED, reason);
      // Cancelled meanwhile (its teardown aborted this setup): the teardown owns what follows.
      if (!failed.moved) return;
      await this.mounts.failAllFor(id, `lightpath failed: ${reason}`);
      this.logger.warn({ reservationId: id, err: error }, 'lightpath setup failed');
      return;
    }
    const up = await this.reservations.advance(id, [S.PROVISIONING], S.ACTIVE, `lightpath up on channel ${r.channel}`);
    if (up.moved) {
      setupTimer();
      await this.mounts.onLightpathActive(id);
    } else {
      // Cancelled while the devices were being configured: its teardown may already have run, so make sure
      // nothing stays lit on the network.
      await this.driver.teardownLightpath(id);
    }
  }

  async teardown(id: string, meta: JobMeta): Promise<void> {
    const step = await this.reservations.advance(id, [S.ACTIVE, S.PROVISIONING], S.RELEASING, 'window ended');
    const r = step.reservation;
    if (r?.state === S.RESERVED && r.endAt.getTime() <= Date.now()) {
      // Its setup never ran (the queue lost it): nothing was lit, and nothing may be now.
      await this.failUnprovisioned(id);
      return;
    }
    if (!r || (r.state !== S.RELEASING && r.state !== S.NEEDS_CLEANUP)) return;
    // Storage first: every mount on the lightpath is detached and its copies purged while the path is up.
    await this.mounts.detachAllFor(id, 'lightpath released');
    try {
      await this.driver.teardownLightpath(id);
      // The channel is freed (RELEASED) only once the network confirms nothing of the lightpath is left:
      // a setup still under way (the reservation was cancelled while PROVISIONING) may be lighting it.
      const left = await this.driver.getLightpath(id);
      if (left) throw new DriverError(`the network still holds the lightpath (${left.state}); waiting for it to go dark`, true);
    } catch (error) {
      if (!meta.finalAttempt) throw error;
      await this.reservations.advance(id, [S.RELEASING], S.NEEDS_CLEANUP, `teardown failed: ${(error as Error).message}`);
      this.logger.warn({ reservationId: id, err: error }, 'lightpath teardown failed; needs cleanup');
      return;
    }
    await this.reservations.advance(id, [S.RELEASING, S.NEEDS_CLEANUP], S.RELEASED, 'lightpath torn down');
  }

  /** A lightpath whose window ended before it was set up: it fails, its capacity and mounts freed. */
  private async failUnprovisioned(id: string): Promise<void> {
    const reason = 'the window ended before the lightpath was set up (its setup job was lost)';
    const step = await this.reservations.advance(id, [S.RESERVED], S.FAILED, reason);
    if (step.moved) {
      await this.mounts.failAllFor(id, `lightpath failed: ${reason}`);
      this.logger.warn({ reservationId: id }, 'lightpath window ended before its setup ran');
    }
  }

  /**
   * Sets the lightpath up; if the network reports links of its path down, books another path around them
   * (the new path and channel replace the old allocations atomically) and tries that one.
   */
  private async setupRoutingAroundDownLinks(r: ReservationEntity): Promise<void> {
    const avoid = new Set<string>();
    const released = new Set<string>();
    let current = r;
    for (;;) {
      try {
        await this.driver.setupLightpath(await this.specOf(current));
        return;
      } catch (error) {
        // The channel's previous holder may be a lightpath whose window ended at this lightpath's start, its
        // teardown not yet run: windows are half-open, so the two legitimately meet. Release it now, then try
        // again. A holder still inside its window would be a control-plane bug: that error stands.
        const owner = error instanceof DriverError ? (error.details.owner as string | undefined) : undefined;
        if (owner && !released.has(owner) && (await this.windowEnded(owner))) {
          released.add(owner);
          this.logger.log(
            { reservationId: current.id, previous: owner },
            'releasing the channel’s previous lightpath, whose window has ended',
          );
          await this.teardown(owner, { jobId: reservationJobId(owner, JobName.LightpathTeardown), attempt: 1, finalAttempt: false });
          continue;
        }
        const down = error instanceof DriverError ? (error.details.downLinkIds as string[] | undefined) : undefined;
        if (!down || down.length === 0 || down.every((l) => avoid.has(l))) throw error;
        for (const l of down) avoid.add(l);
        const rerouted = await this.reservations.reroute(current.id, [...avoid]);
        if (!rerouted) {
          throw new DriverError(`${(error as Error).message}, and no other path has a channel free for the whole window`, false);
        }
        this.logger.warn({ reservationId: current.id, avoid: [...avoid] }, 'lightpath rerouted around down links');
        current = rerouted;
      }
    }
  }

  private async windowEnded(reservationId: string): Promise<boolean> {
    const holder = await this.reservations.find(reservationId);
    return holder !== null && holder.endAt.getTime() <= Date.now();
  }

  /** Sets an ACTIVE reservation's lightpath up again (idempotent), e.g. after the network lost it. */
  async relight(id: string): Promise<void> {
    const r = await this.reservations.find(id);
    if (r?.state === S.ACTIVE) await this.driver.setupLightpath(await this.specOf(r));
  }

  /** What the network needs to know: the hops in order, as nodes and links, and the channel. */
  private async specOf(r: ReservationEntity): Promise<LightpathSpec> {
    const snapshot = await this.topology.snapshot({ maxAgeMs: 1000 });
    const source = snapshot.endpoints.get(r.sourceEndpointId);
    const destination = snapshot.endpoints.get(r.destinationEndpointId);
    if (!source || !destination) throw new DriverError(`an endpoint of reservation ${r.id} is not in the topology`, false);
    let node = snapshot.nodeOfEndpoint(source);
    if (!node) throw new DriverError(`source endpoint ${r.sourceEndpointId} has no APN node`, false);
    const nodeIds = [node];
    const links = [];
    for (const linkId of r.pathLinkIds) {
      const link = snapshot.links.get(linkId);
      if (!link) throw new DriverError(`link ${linkId} of the path is not in the topology`, false);
      links.push(link);
      node = link.aNodeId === node ? link.bNodeId : link.aNodeId;
      nodeIds.push(node);
    }
    const nodes = nodeIds.map((id) => snapshot.nodes.get(id));
    return {
      id: r.id,
      nodeIds,
      linkIds: r.pathLinkIds,
      channel: r.channel,
      frequencyThz: frequencyThz(r.channel),
      rateGbps: r.rateGbps,
      sourceEndpointId: r.sourceEndpointId,
      destinationEndpointId: r.destinationEndpointId,
      controller: {
        sourceEndpoint: { code: source.code, uuid: source.tapiServiceInterfacePointUuid },
        destinationEndpoint: { code: destination.code, uuid: destination.tapiServiceInterfacePointUuid },
        nodes: nodes.map((n, i) => ({ code: n?.code ?? nodeIds[i], uuid: n?.tapiNodeUuid ?? null })),
        links: links.map((l) => ({ code: l.code, uuid: l.tapiLinkUuid })),
      },
    };
  }
}
