import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../audit/audit.service';
import { requireText } from '../core/bounds';
import { AppError, ErrorCode, badInput, invalidState, notFound } from '../core/errors/app-error';
import { decodeCursor } from '../core/graphql/pagination';
import { ReservationQueries } from '../reservations/reservation-queries.service';
import { ReservationEntity } from '../reservations/reservation.entities';
import { MountsService } from '../storage/mounts.service';
import { StorageResources } from '../storage/storage-resources.service';
import { DatasetEntity, GpuAllocationEntity, MountEntity } from '../storage/storage.entities';
import { StorageDesign } from '../vocabulary/domain';
import type { Principal } from '../tenancy/principal';
import { Role } from '../tenancy/tenancy.entities';
import { TenancyService } from '../tenancy/tenancy.service';
import { FIBER_LATENCY_US_PER_KM } from '../topology/pce';
import {
  RUN_BOUNDS,
  checkApnConnection,
  checkCarried,
  checkMountAgrees,
  checkNoDatasetSize,
  checkOtherConnection,
  checkPreparation,
  checkSecurityMeasures,
  checkWorkload,
  givenDatasetSize,
  mountMeasures,
} from './run-input';
import { RunSites } from './run-sites.service';
import { RunConnectionKind, SecurityMeasure, TrainingRunEntity, TrainingRunState } from './run.entities';
import type { CreateTrainingRunInput } from './run.models';
import { RunsRepository } from './runs.repository';
import { actingTenant, canSee, isTenantKey } from '../core/visibility';

export { RUN_BOUNDS } from './run-input';

/** Only operators and the tenant's own keys see or touch runs; billing keys read usage, not runs. */
export function assertRunAccess(principal: Principal): void {
  if (principal.role !== Role.OPERATOR && principal.role !== Role.TENANT) {
    throw new AppError(ErrorCode.FORBIDDEN, `Training runs need role OPERATOR or TENANT; your token has role ${principal.role}.`);
  }
}

/** A lookup that answers NOT_FOUND, made to name the input it was given for. */
async function naming<T>(field: string, lookup: () => Promise<T>): Promise<T> {
  try {
    return await lookup();
  } catch (error) {
    if (error instanceof AppError && error.code === ErrorCode.NOT_FOUND) {
      throw new AppError(ErrorCode.NOT_FOUND, `${field}: ${error.message}`, { field });
    }
    throw error;
  }
}

/**
 * Measured training runs: recording one (its workload, connection, design, sites and security measures,
 * every reference checked to be the tenant's), its outcome, and reads scoped to what the caller may see.
 */
@Injectable()
export class RunsService {
  constructor(
    private readonly repository: RunsRepository,
    private readonly reservations: ReservationQueries,
    private readonly storage: StorageResources,
    private readonly mounts: MountsService,
    private readonly sites: RunSites,
    private readonly tenancy: TenancyService,
    private readonly audit: AuditService,
  ) {}

  async create(principal: Principal, input: CreateTrainingRunInput): Promise<TrainingRunEntity> {
    assertRunAccess(principal);
    const tenantId = await this.runTenant(principal, input.tenantId ?? null);
    const { label, modelName, epochs } = checkWorkload(input);
    const stated = checkSecurityMeasures(input.securityMeasures ?? [SecurityMeasure.NONE]);
    const own = ownedBy(tenantId);
    const reservation = await this.connection(principal, input, own);
    const mount = await this.mount(principal, input, reservation, own);
    const securityMeasures = mount ? mountMeasures(input, mount, stated) : stated;
    const design = mount?.design ?? input.design ?? StorageDesign.DIRECT;
    const preparationSeconds = checkPreparation(input, mount, design);
    const workload = await this.datasetOf(principal, input.workload, mount, own);
    const allocationId = input.gpuAllocationId ?? mount?.gpuAllocationId ?? null;
    const allocation: GpuAllocationEntity | null = allocationId
      ? own('input.gpuAllocationId', 'GPU allocation', await this.storage.gpuAllocation(principal, allocationId, 'input.gpuAllocationId'))
      : null;
    const { gpuSiteId, storageSiteId } = await this.sites.sites(input, input.connection.kind, reservation, workload.dataset, allocation);
    const w = input.workload;
    const c = input.connection;
    const run = Object.assign(new TrainingRunEntity(), {
      id: randomUUID(),
      tenantId,
      label,
      state: TrainingRunState.RECORDING,
      modelName,
      datasetId: workload.datasetId,
      datasetBytes: workload.bytes.toString(),
      datasetItems: workload.items.toString(),
      batchSize: w.batchSize,
      stepsPerEpoch: w.steps,
      epochs,
      connectionKind: c.kind,
      reservationId: reservation?.id ?? null,
      distanceKm: reservation?.distanceKm ?? null,
      rttMs: reservation ? Math.round(2 * reservation.distanceKm * FIBER_LATENCY_US_PER_KM * 1000) / 1e6 : (c.rttMs ?? null),
      bandwidthGbps: reservation?.rateGbps ?? c.bandwidthGbps ?? null,
      design,
      mountId: mount?.id ?? null,
      gpuAllocationId: allocation?.id ?? null,
      gpuSiteId,
      storageSiteId,
      securityMeasures,
      preparationSeconds,
      startedAt: null,
      finishedAt: null,
      lastStepEndAt: null,
      failureReason: null,
      createdBy: principal.actor,
    });
    await this.repository.transaction(async (m) => {
      await this.repository.insertRun(m, run);
      await this.audit.append(m, {
        actor: principal.actor,
        action: 'training-run.created',
        entityType: 'training_run',
        entityId: run.id,
        data: { tenantId, label, kind: c.kind, design, reservationId: run.reservationId, mountId: run.mountId, securityMeasures },
      });
    });
    return (await this.repository.findRun(run.id)) as TrainingRunEntity;
  }

  /** The training finished without error; its start and finish default to its first step's and last step's. */
  complete(principal: Principal, id: string, startedAt: Date | null, finishedAt: Date | null): Promise<TrainingRunEntity> {
    return this.finish(principal, id, TrainingRunState.COMPLETED, { startedAt, finishedAt, reason: null });
  }

  /** The training did not finish, for `reason`. */
  fail(principal: Principal, id: string, reason: string, finishedAt: Date | null): Promise<TrainingRunEntity> {
    const why = requireText('reason', reason, RUN_BOUNDS.reasonLength);
    return this.finish(principal, id, TrainingRunState.FAILED, { startedAt: null, finishedAt, reason: why });
  }

  /** A run the caller may see: its own tenant's, or any for an operator. NOT_FOUND otherwise, exactly as for none. */
  async visible(principal: Principal, id: string): Promise<TrainingRunEntity> {
    assertRunAccess(principal);
    const run = await this.repository.findRun(id);
    if (!run || !canSee(principal, run.tenantId)) throw notFound('Training run', id);
    return run;
  }

  async list(principal: Principal, f: { first: number; after?: string | null; tenantId?: string | null; state?: TrainingRunState | null }) {
    assertRunAccess(principal);
    const tenantId = actingTenant(
      principal,
      f.tenantId,
      () => new AppError(ErrorCode.FORBIDDEN, 'A tenant key lists its own runs; omit tenantId.'),
    );
    return this.repository.listRuns({ first: f.first, after: f.after ? decodeCursor(f.after) : null, tenantId, state: f.state ?? null });
  }

  private async finish(
    principal: Principal,
    id: string,
    state: TrainingRunState.COMPLETED | TrainingRunState.FAILED,
    given: { startedAt: Date | null; finishedAt: Date | null; reason: string | null },
  ): Promise<TrainingRunEntity> {
    const run = await this.visible(principal, id);
    await this.repository.transaction(async (m) => {
      const locked = await this.repository.lockRun(m, run.id);
      if (!locked || locked.state !== TrainingRunState.RECORDING) {
        throw invalidState(`Training run ${id} is ${locked?.state ?? run.state} already; only a RECORDING run completes or fails.`, {
          state: locked?.state ?? run.state,
        });
      }
      const current = (await this.repository.findRun(run.id, m)) as TrainingRunEntity;
      const startedAt = given.startedAt ?? current.startedAt;
      const finishedAt = given.finishedAt ?? current.lastStepEndAt ?? new Date();
      if (startedAt && finishedAt < startedAt) {
        const field = given.finishedAt ? 'finishedAt' : 'startedAt';
        throw badInput(
          field,
          `${field}: the run would finish (${finishedAt.toISOString()}) before it started (${startedAt.toISOString()}).`,
        );
      }
      await this.repository.finishRun(m, run.id, state, startedAt, finishedAt, given.reason);
      await this.audit.append(m, {
        actor: principal.actor,
        action: `training-run.${state === TrainingRunState.COMPLETED ? 'completed' : 'failed'}`,
        entityType: 'training_run',
        entityId: run.id,
        data: {
          startedAt: startedAt?.toISOString() ?? null,
          finishedAt: finishedAt.toISOString(),
          ...(given.reason ? { reason: given.reason } : {}),
        },
      });
    });
    return (await this.repository.findRun(run.id)) as TrainingRunEntity;
  }

  /** The tenant a run is recorded for: a tenant key's own; the one an operator names. */
  private async runTenant(principal: Principal, requested: string | null): Promise<string> {
    if (isTenantKey(principal)) {
      return actingTenant(
        principal,
        requested,
        () => new AppError(ErrorCode.FORBIDDEN, 'A tenant key records runs of its own tenant only; omit input.tenantId.'),
      ) as string;
    }
    if (!requested) throw badInput('input.tenantId', 'input.tenantId: operators name the tenant whose run this is.');
    if (!(await this.tenancy.exists(requested))) throw badInput('input.tenantId', `input.tenantId: tenant ${requested} does not exist.`);
    return requested;
  }

  /** The run's connection: over APN, the reservation of its lightpath, the tenant's, which carried data. */
  private async connection(principal: Principal, input: CreateTrainingRunInput, own: Own): Promise<ReservationEntity | null> {
    if (input.connection.kind !== RunConnectionKind.APN) {
      checkOtherConnection(input);
      return null;
    }
    const reservationId = checkApnConnection(input.connection);
    const found = await naming('input.connection.reservationId', () => this.reservations.get(principal, reservationId));
    const reservation = own('input.connection.reservationId', 'reservation', found);
    checkCarried(reservation);
    return reservation;
  }

  /** The mount the run read through, the tenant's, over its lightpath: its design, dataset and allocation are the run's. */
  private async mount(
    principal: Principal,
    input: CreateTrainingRunInput,
    reservation: ReservationEntity | null,
    own: Own,
  ): Promise<MountEntity | null> {
    if (!input.mountId) return null;
    const mountId = input.mountId;
    const mount = own('input.mountId', 'mount', await naming('input.mountId', () => this.mounts.mount(principal, mountId)));
    checkMountAgrees(input, mount, reservation as ReservationEntity);
    return mount;
  }

  /** The workload's size: from its dataset (named, or the mount's), or as given. */
  private async datasetOf(
    principal: Principal,
    w: CreateTrainingRunInput['workload'],
    mount: MountEntity | null,
    own: Own,
  ): Promise<{ datasetId: string | null; dataset: DatasetEntity | null; bytes: bigint; items: bigint }> {
    const datasetId = w.datasetId ?? mount?.datasetId ?? null;
    if (!datasetId) return { datasetId, dataset: null, ...givenDatasetSize(w) };
    const dataset = own(
      'input.workload.datasetId',
      'dataset',
      await this.storage.dataset(principal, datasetId, 'input.workload.datasetId'),
    );
    checkNoDatasetSize(w, dataset.name);
    return { datasetId, dataset, bytes: BigInt(dataset.bytes), items: BigInt(dataset.fileCount) };
  }
}

/** Checks that a referenced object is the run's tenant's, naming the input that referenced it. */
type Own = <T extends { tenantId: string }>(field: string, what: string, object: T) => T;

function ownedBy(tenantId: string): Own {
  return (field, what, object) => {
    if (object.tenantId !== tenantId) throw badInput(field, `${field}: this ${what} belongs to another tenant than the run (${tenantId}).`);
    return object;
  };
}
