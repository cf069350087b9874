import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuditService } from '../audit/audit.service';
import { requireNumberIn, requireText } from '../core/bounds';
import { AppError, ErrorCode, badInput, invalidState, notFound } from '../core/errors/app-error';
import { decodeCursor } from '../core/graphql/pagination';
import { ReservationQueries } from '../reservations/reservation-queries.service';
import { ReservationEntity } from '../reservations/reservation.entities';
import { ReservationState } from '../reservations/reservation-state';
import { MountsService } from '../storage/mounts.service';
import { StorageResources } from '../storage/storage-resources.service';
import { DatasetEntity, GpuAllocationEntity, MountEntity } from '../storage/storage.entities';
import { StorageDesign } from '../vocabulary/domain';
import type { Principal } from '../tenancy/principal';
import { Role } from '../tenancy/tenancy.entities';
import { FIBER_LATENCY_US_PER_KM } from '../topology/pce';
import { TopologyService } from '../topology/topology.service';
import { AtRestProtection, InMotionProtection, measuresOf } from '../protection/profile';
import { RunConnectionKind, SecurityMeasure, TrainingRunEntity, TrainingRunState } from './run.entities';
import type { CreateTrainingRunInput } from './run.models';
import { RunsRepository } from './runs.repository';
import { actingTenant, canSee, isTenantKey } from '../core/visibility';

/** Bounds of a run's inputs (documented in the README), as the planner bounds the same quantities. */
export const RUN_BOUNDS = {
  labelLength: 200,
  modelNameLength: 200,
  maxBatchSize: 1_000_000,
  maxStepsPerEpoch: 1_000_000_000,
  maxEpochs: 100_000,
  maxBandwidthGbps: 1_000_000,
  maxRttMs: 100_000,
  reasonLength: 2000,
  /** A replica's copy or a cache's fill: at most 366 days, as the planner bounds an epoch. */
  maxPreparationSeconds: 31_622_400,
} as const;

/** Lightpaths that never carried data and never will: a run cannot have used them. */
const NEVER_CARRIED = new Set<ReservationState>([
  ReservationState.HELD,
  ReservationState.CANCELLED,
  ReservationState.EXPIRED,
  ReservationState.FAILED,
]);

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
    private readonly topology: TopologyService,
    private readonly audit: AuditService,
  ) {}

  async create(principal: Principal, input: CreateTrainingRunInput): Promise<TrainingRunEntity> {
    assertRunAccess(principal);
    const tenantId = await this.runTenant(principal, input.tenantId ?? null);
    const label = requireText('input.label', input.label, RUN_BOUNDS.labelLength);
    const w = input.workload;
    const modelName = requireText('input.workload.modelName', w.modelName, RUN_BOUNDS.modelNameLength);
    requireNumberIn('input.workload.batchSize', w.batchSize, { min: 1, max: RUN_BOUNDS.maxBatchSize, integer: true });
    requireNumberIn('input.workload.steps', w.steps, { min: 1, max: RUN_BOUNDS.maxStepsPerEpoch, integer: true });
    const epochs = w.epochs ?? 1;
    requireNumberIn('input.workload.epochs', epochs, { min: 1, max: RUN_BOUNDS.maxEpochs, integer: true });
    let securityMeasures = checkSecurityMeasures(input.securityMeasures ?? [SecurityMeasure.NONE]);
    const c = input.connection;
    const own = <T extends { tenantId: string }>(field: string, what: string, object: T): T => {
      if (object.tenantId !== tenantId)
        throw badInput(field, `${field}: this ${what} belongs to another tenant than the run (${tenantId}).`);
      return object;
    };

    // The connection, and the lightpath's ends when it is one.
    let reservation: ReservationEntity | null = null;
    if (c.kind === RunConnectionKind.APN) {
      if (!c.reservationId)
        throw badInput(
          'input.connection.reservationId',
          'input.connection.reservationId: an APN run names the reservation of its lightpath.',
        );
      for (const field of ['bandwidthGbps', 'rttMs'] as const) {
        if (c[field] !== undefined && c[field] !== null) {
          throw badInput(
            `input.connection.${field}`,
            `input.connection.${field}: an APN run takes its ${field === 'rttMs' ? 'round trip' : 'rate'} from the reservation; leave it out.`,
          );
        }
      }
      const found = await naming('input.connection.reservationId', () => this.reservations.get(principal, c.reservationId as string));
      reservation = own('input.connection.reservationId', 'reservation', found);
      if (NEVER_CARRIED.has(reservation.state)) {
        throw new AppError(
          ErrorCode.INVALID_STATE,
          `Reservation ${reservation.id} is ${reservation.state}; its lightpath never carried data${reservation.state === ReservationState.HELD ? ' (commit the hold first)' : ''}.`,
          { field: 'input.connection.reservationId', details: { state: reservation.state } },
        );
      }
    } else {
      if (c.reservationId)
        throw badInput(
          'input.connection.reservationId',
          `input.connection.reservationId: only APN runs go over a reservation; this one is ${c.kind}.`,
        );
      if (c.kind === RunConnectionKind.INTERNET) {
        if (c.bandwidthGbps === undefined || c.bandwidthGbps === null)
          throw badInput('input.connection.bandwidthGbps', 'input.connection.bandwidthGbps: an INTERNET run gives its link’s bandwidth.');
        if (c.rttMs === undefined || c.rttMs === null)
          throw badInput('input.connection.rttMs', 'input.connection.rttMs: an INTERNET run gives its link’s round trip.');
      }
      if (c.bandwidthGbps !== undefined && c.bandwidthGbps !== null) {
        requireNumberIn('input.connection.bandwidthGbps', c.bandwidthGbps, {
          min: 0,
          exclusiveMin: true,
          max: RUN_BOUNDS.maxBandwidthGbps,
          unit: 'Gbps',
        });
      }
      if (c.rttMs !== undefined && c.rttMs !== null)
        requireNumberIn('input.connection.rttMs', c.rttMs, { min: 0, max: RUN_BOUNDS.maxRttMs, unit: 'ms' });
      if (input.mountId) throw badInput('input.mountId', `input.mountId: a mount runs over a lightpath; a ${c.kind} run has none.`);
    }

    // The mount, whose design, dataset and allocation the run inherits unless it names its own (which must agree).
    let mount: MountEntity | null = null;
    if (input.mountId) {
      mount = own('input.mountId', 'mount', await naming('input.mountId', () => this.mounts.mount(principal, input.mountId as string)));
      if (mount.reservationId !== reservation!.id) {
        throw badInput(
          'input.mountId',
          `input.mountId: mount ${mount.id} runs over reservation ${mount.reservationId}, not ${reservation!.id}.`,
        );
      }
      if (input.design && input.design !== mount.design) {
        throw badInput(
          'input.design',
          `input.design: the run says ${input.design}, but mount ${mount.id} is ${mount.design}; leave design out or make them agree.`,
        );
      }
      if (w.datasetId && w.datasetId !== mount.datasetId) {
        throw badInput(
          'input.workload.datasetId',
          `input.workload.datasetId: mount ${mount.id} mounts dataset ${mount.datasetId}, not ${w.datasetId}.`,
        );
      }
      if (input.gpuAllocationId && input.gpuAllocationId !== mount.gpuAllocationId) {
        throw badInput(
          'input.gpuAllocationId',
          `input.gpuAllocationId: mount ${mount.id} serves allocation ${mount.gpuAllocationId}, not ${input.gpuAllocationId}.`,
        );
      }
    }
    if (mount) {
      // The mount's profile says what was in force; a run over it states the same, so that runs with and
      // without a measure are compared on what actually protected the data.
      const inForce = measuresOf({
        inMotion: mount.protectionInMotion as InMotionProtection[],
        atRest: mount.protectionAtRest as AtRestProtection,
      }) as SecurityMeasure[];
      if (input.securityMeasures && [...securityMeasures].sort().join() !== [...inForce].sort().join()) {
        throw badInput(
          'input.securityMeasures',
          `input.securityMeasures: mount ${mount.id} is protected by ${inForce.join(', ')}, but the run says ${securityMeasures.join(', ')}; leave securityMeasures out to take the mount's, or attach a mount with the measures to compare.`,
        );
      }
      securityMeasures = inForce;
    }
    const design = mount?.design ?? input.design ?? StorageDesign.DIRECT;
    let preparationSeconds: number | null = null;
    if (input.preparationSeconds !== undefined && input.preparationSeconds !== null) {
      const field = 'input.preparationSeconds';
      if (mount)
        throw badInput(field, `${field}: the run's mount ${mount.id} records its replication or cache fill; leave preparationSeconds out.`);
      if (design === StorageDesign.DIRECT)
        throw badInput(field, `${field}: a DIRECT run copies and fills nothing before its steps; give it for REPLICATION or CACHE.`);
      requireNumberIn(field, input.preparationSeconds, { min: 0, max: RUN_BOUNDS.maxPreparationSeconds, unit: 's' });
      preparationSeconds = input.preparationSeconds;
    }

    // The workload's size: from the dataset, or as given.
    const datasetId = w.datasetId ?? mount?.datasetId ?? null;
    let dataset: DatasetEntity | null = null;
    let datasetBytes: bigint;
    let datasetItems: bigint;
    if (datasetId) {
      dataset = own('input.workload.datasetId', 'dataset', await this.storage.dataset(principal, datasetId, 'input.workload.datasetId'));
      for (const field of ['datasetBytes', 'datasetItems'] as const) {
        if (w[field] !== undefined && w[field] !== null) {
          throw badInput(
            `input.workload.${field}`,
            `input.workload.${field}: taken from dataset ${dataset.name}; give datasetId, or datasetBytes and datasetItems, not both.`,
          );
        }
      }
      datasetBytes = BigInt(dataset.bytes);
      datasetItems = BigInt(dataset.fileCount);
    } else {
      if (w.datasetBytes === undefined || w.datasetBytes === null)
        throw badInput('input.workload.datasetBytes', 'input.workload.datasetBytes: give datasetId, or datasetBytes and datasetItems.');
      if (w.datasetItems === undefined || w.datasetItems === null)
        throw badInput('input.workload.datasetItems', 'input.workload.datasetItems: give datasetId, or datasetBytes and datasetItems.');
      if (w.datasetBytes <= 0n) throw badInput('input.workload.datasetBytes', 'input.workload.datasetBytes must be positive.');
      if (w.datasetItems <= 0n) throw badInput('input.workload.datasetItems', 'input.workload.datasetItems must be positive.');
      datasetBytes = w.datasetBytes;
      datasetItems = w.datasetItems;
    }

    const allocationId = input.gpuAllocationId ?? mount?.gpuAllocationId ?? null;
    const allocation: GpuAllocationEntity | null = allocationId
      ? own('input.gpuAllocationId', 'GPU allocation', await this.storage.gpuAllocation(principal, allocationId, 'input.gpuAllocationId'))
      : null;

    const { gpuSiteId, storageSiteId } = await this.sites(input, c.kind, reservation, dataset, allocation);

    const run = Object.assign(new TrainingRunEntity(), {
      id: randomUUID(),
      tenantId,
      label,
      state: TrainingRunState.RECORDING,
      modelName,
      datasetId,
      datasetBytes: datasetBytes.toString(),
      datasetItems: datasetItems.toString(),
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
    if (!(await this.repository.tenantExists(requested)))
      throw badInput('input.tenantId', `input.tenantId: tenant ${requested} does not exist.`);
    return requested;
  }

  /**
   * Where the GPUs ran and where the data was read from. APN: the lightpath's destination and source, which
   * the allocation's cluster and the dataset's server must be at. INTERNET: as given, else the allocation's
   * cluster site and the dataset's storage site. LOCAL: one site for both.
   */
  private async sites(
    input: CreateTrainingRunInput,
    kind: RunConnectionKind,
    reservation: ReservationEntity | null,
    dataset: DatasetEntity | null,
    allocation: GpuAllocationEntity | null,
  ): Promise<{ gpuSiteId: string; storageSiteId: string }> {
    const snapshot = await this.topology.snapshot({ maxAgeMs: 1000 });
    const code = (id: string | null | undefined) => (id ? (snapshot.sites.get(id)?.code ?? id) : 'unknown');
    for (const field of ['gpuSiteId', 'storageSiteId'] as const) {
      const id = input[field];
      if (id && !snapshot.sites.has(id) && !(await this.topology.snapshot()).sites.has(id)) {
        throw badInput(`input.${field}`, `input.${field}: site ${id} does not exist; list them with { sites { id code } }.`);
      }
    }
    const clusterSite = allocation ? ((await this.storage.gpuClusters([allocation.clusterId]))[0]?.siteId ?? null) : null;
    const datasetSite = dataset ? ((await this.storage.storageSystems([dataset.storageSystemId]))[0]?.siteId ?? null) : null;
    const agree = (field: string, what: string, site: string | null, expected: string, where: 'GPUs' | 'data') => {
      if (site !== null && site !== expected)
        throw badInput(field, `${field}: ${what} is at site ${code(site)}, but the run's ${where} are at ${code(expected)}.`);
    };

    if (kind === RunConnectionKind.APN) {
      const r = reservation as ReservationEntity;
      const source =
        snapshot.endpoints.get(r.sourceEndpointId)?.siteId ?? (await this.topology.snapshot()).endpoints.get(r.sourceEndpointId)?.siteId;
      const destination =
        snapshot.endpoints.get(r.destinationEndpointId)?.siteId ??
        (await this.topology.snapshot()).endpoints.get(r.destinationEndpointId)?.siteId;
      if (!source || !destination) throw new Error(`reservation ${r.id} refers to endpoints missing from the topology`);
      if (input.gpuSiteId && input.gpuSiteId !== destination) {
        throw badInput(
          'input.gpuSiteId',
          `input.gpuSiteId: the lightpath ends at ${code(destination)}, where the GPUs are; not at ${code(input.gpuSiteId)}.`,
        );
      }
      if (input.storageSiteId && input.storageSiteId !== source) {
        throw badInput(
          'input.storageSiteId',
          `input.storageSiteId: the lightpath starts at ${code(source)}, where the data is; not at ${code(input.storageSiteId)}.`,
        );
      }
      agree('input.gpuAllocationId', 'the allocation’s GPU cluster', clusterSite, destination, 'GPUs');
      agree('input.workload.datasetId', 'the dataset’s storage', datasetSite, source, 'data');
      return { gpuSiteId: destination, storageSiteId: source };
    }
    if (kind === RunConnectionKind.INTERNET) {
      const gpuSiteId = input.gpuSiteId ?? clusterSite;
      const storageSiteId = input.storageSiteId ?? datasetSite;
      if (!gpuSiteId) throw badInput('input.gpuSiteId', 'input.gpuSiteId: give the GPU site, or a gpuAllocationId whose cluster is there.');
      if (!storageSiteId)
        throw badInput('input.storageSiteId', 'input.storageSiteId: give the storage site, or a datasetId whose storage is there.');
      agree('input.gpuAllocationId', 'the allocation’s GPU cluster', clusterSite, gpuSiteId, 'GPUs');
      agree('input.workload.datasetId', 'the dataset’s storage', datasetSite, storageSiteId, 'data');
      return { gpuSiteId, storageSiteId };
    }
    // LOCAL: a dataset of the office may have been copied next to the GPUs, so its own site does not decide.
    const gpuSiteId = input.gpuSiteId ?? clusterSite ?? input.storageSiteId ?? datasetSite;
    if (!gpuSiteId) throw badInput('input.gpuSiteId', 'input.gpuSiteId: give the site where the GPUs and the data were.');
    const storageSiteId = input.storageSiteId ?? gpuSiteId;
    if (storageSiteId !== gpuSiteId) {
      throw badInput(
        'input.storageSiteId',
        `input.storageSiteId: a LOCAL run reads data at the GPUs' site (${code(gpuSiteId)}), not at ${code(storageSiteId)}; use INTERNET or APN.`,
      );
    }
    agree('input.gpuAllocationId', 'the allocation’s GPU cluster', clusterSite, gpuSiteId, 'GPUs');
    return { gpuSiteId, storageSiteId };
  }
}

/** The measures in force: at least one, each once, NONE alone. */
function checkSecurityMeasures(measures: SecurityMeasure[]): SecurityMeasure[] {
  const field = 'input.securityMeasures';
  if (measures.length === 0) throw badInput(field, `${field}: name the measures in force, or [NONE] when none was applied.`);
  if (new Set(measures).size !== measures.length) throw badInput(field, `${field}: each measure once.`);
  if (measures.includes(SecurityMeasure.NONE) && measures.length > 1)
    throw badInput(field, `${field}: NONE says no measure was applied; it cannot stand with others.`);
  return measures;
}
