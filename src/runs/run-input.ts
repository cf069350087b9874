import { requireNumberIn, requireText } from '../core/bounds';
import { AppError, ErrorCode, badInput } from '../core/errors/app-error';
import { ReservationEntity } from '../reservations/reservation.entities';
import { ReservationState } from '../reservations/reservation-state';
import { AtRestProtection, InMotionProtection, measuresOf } from '../protection/profile';
import type { MountEntity } from '../storage/storage.entities';
import { StorageDesign } from '../vocabulary/domain';
import { RunConnectionKind, SecurityMeasure } from './run.entities';
import type { CreateTrainingRunInput } from './run.models';

/**
 * The checks of a new run's input that need nothing but the input and the references already found: its
 * bounds, the shape of its connection, and the agreement of what it states with its mount.
 */

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

const given = <T>(value: T | null | undefined): value is T => value !== undefined && value !== null;

/** The run's label and workload within their bounds; epochs default to one. */
export function checkWorkload(input: CreateTrainingRunInput): { label: string; modelName: string; epochs: number } {
  const label = requireText('input.label', input.label, RUN_BOUNDS.labelLength);
  const w = input.workload;
  const modelName = requireText('input.workload.modelName', w.modelName, RUN_BOUNDS.modelNameLength);
  requireNumberIn('input.workload.batchSize', w.batchSize, { min: 1, max: RUN_BOUNDS.maxBatchSize, integer: true });
  requireNumberIn('input.workload.steps', w.steps, { min: 1, max: RUN_BOUNDS.maxStepsPerEpoch, integer: true });
  const epochs = w.epochs ?? 1;
  requireNumberIn('input.workload.epochs', epochs, { min: 1, max: RUN_BOUNDS.maxEpochs, integer: true });
  return { label, modelName, epochs };
}

/** The measures in force: at least one, each once, NONE alone. */
export function checkSecurityMeasures(measures: SecurityMeasure[]): SecurityMeasure[] {
  const field = 'input.securityMeasures';
  if (measures.length === 0) throw badInput(field, `${field}: name the measures in force, or [NONE] when none was applied.`);
  if (new Set(measures).size !== measures.length) throw badInput(field, `${field}: each measure once.`);
  if (measures.includes(SecurityMeasure.NONE) && measures.length > 1)
    throw badInput(field, `${field}: NONE says no measure was applied; it cannot stand with others.`);
  return measures;
}

/** An APN run names its reservation, and takes its rate and round trip from it. Answers the reservation's id. */
export function checkApnConnection(c: CreateTrainingRunInput['connection']): string {
  if (!c.reservationId)
    throw badInput('input.connection.reservationId', 'input.connection.reservationId: an APN run names the reservation of its lightpath.');
  for (const field of ['bandwidthGbps', 'rttMs'] as const) {
    if (given(c[field])) {
      throw badInput(
        `input.connection.${field}`,
        `input.connection.${field}: an APN run takes its ${field === 'rttMs' ? 'round trip' : 'rate'} from the reservation; leave it out.`,
      );
    }
  }
  return c.reservationId;
}

/** A lightpath a run went over must have carried data. */
export function checkCarried(reservation: ReservationEntity): void {
  if (NEVER_CARRIED.has(reservation.state)) {
    throw new AppError(
      ErrorCode.INVALID_STATE,
      `Reservation ${reservation.id} is ${reservation.state}; its lightpath never carried data${reservation.state === ReservationState.HELD ? ' (commit the hold first)' : ''}.`,
      { field: 'input.connection.reservationId', details: { state: reservation.state } },
    );
  }
}

/** An INTERNET or LOCAL run: no reservation nor mount; an INTERNET run gives its link's bandwidth and round trip. */
export function checkOtherConnection(input: CreateTrainingRunInput): void {
  const c = input.connection;
  if (c.reservationId)
    throw badInput(
      'input.connection.reservationId',
      `input.connection.reservationId: only APN runs go over a reservation; this one is ${c.kind}.`,
    );
  if (c.kind === RunConnectionKind.INTERNET) {
    if (!given(c.bandwidthGbps))
      throw badInput('input.connection.bandwidthGbps', 'input.connection.bandwidthGbps: an INTERNET run gives its link’s bandwidth.');
    if (!given(c.rttMs)) throw badInput('input.connection.rttMs', 'input.connection.rttMs: an INTERNET run gives its link’s round trip.');
  }
  if (given(c.bandwidthGbps)) {
    requireNumberIn('input.connection.bandwidthGbps', c.bandwidthGbps, {
      min: 0,
      exclusiveMin: true,
      max: RUN_BOUNDS.maxBandwidthGbps,
      unit: 'Gbps',
    });
  }
  if (given(c.rttMs)) requireNumberIn('input.connection.rttMs', c.rttMs, { min: 0, max: RUN_BOUNDS.maxRttMs, unit: 'ms' });
  if (input.mountId) throw badInput('input.mountId', `input.mountId: a mount runs over a lightpath; a ${c.kind} run has none.`);
}

/** The mount runs over the run's lightpath, and what the run names besides (design, dataset, allocation) agrees with it. */
export function checkMountAgrees(input: CreateTrainingRunInput, mount: MountEntity, reservation: ReservationEntity): void {
  if (mount.reservationId !== reservation.id) {
    throw badInput(
      'input.mountId',
      `input.mountId: mount ${mount.id} runs over reservation ${mount.reservationId}, not ${reservation.id}.`,
    );
  }
  if (input.design && input.design !== mount.design) {
    throw badInput(
      'input.design',
      `input.design: the run says ${input.design}, but mount ${mount.id} is ${mount.design}; leave design out or make them agree.`,
    );
  }
  const datasetId = input.workload.datasetId;
  if (datasetId && datasetId !== mount.datasetId) {
    throw badInput(
      'input.workload.datasetId',
      `input.workload.datasetId: mount ${mount.id} mounts dataset ${mount.datasetId}, not ${datasetId}.`,
    );
  }
  if (input.gpuAllocationId && input.gpuAllocationId !== mount.gpuAllocationId) {
    throw badInput(
      'input.gpuAllocationId',
      `input.gpuAllocationId: mount ${mount.id} serves allocation ${mount.gpuAllocationId}, not ${input.gpuAllocationId}.`,
    );
  }
}

/**
 * The measures of a run over a mount: the mount's profile says what was in force; a run over it states the
 * same, so that runs with and without a measure are compared on what actually protected the data.
 */
export function mountMeasures(input: CreateTrainingRunInput, mount: MountEntity, stated: SecurityMeasure[]): SecurityMeasure[] {
  const inForce = measuresOf({
    inMotion: mount.protectionInMotion as InMotionProtection[],
    atRest: mount.protectionAtRest as AtRestProtection,
  }) as SecurityMeasure[];
  if (input.securityMeasures && [...stated].sort().join() !== [...inForce].sort().join()) {
    throw badInput(
      'input.securityMeasures',
      `input.securityMeasures: mount ${mount.id} is protected by ${inForce.join(', ')}, but the run says ${stated.join(', ')}; leave securityMeasures out to take the mount's, or attach a mount with the measures to compare.`,
    );
  }
  return inForce;
}

/** The time a replica's copy or a cache's fill took, given only for a REPLICATION or CACHE run without a mount. */
export function checkPreparation(input: CreateTrainingRunInput, mount: MountEntity | null, design: StorageDesign): number | null {
  if (!given(input.preparationSeconds)) return null;
  const field = 'input.preparationSeconds';
  if (mount)
    throw badInput(field, `${field}: the run's mount ${mount.id} records its replication or cache fill; leave preparationSeconds out.`);
  if (design === StorageDesign.DIRECT)
    throw badInput(field, `${field}: a DIRECT run copies and fills nothing before its steps; give it for REPLICATION or CACHE.`);
  requireNumberIn(field, input.preparationSeconds, { min: 0, max: RUN_BOUNDS.maxPreparationSeconds, unit: 's' });
  return input.preparationSeconds;
}

/** The workload's size as given, when it names no dataset: both figures, positive. */
export function givenDatasetSize(w: CreateTrainingRunInput['workload']): { bytes: bigint; items: bigint } {
  if (!given(w.datasetBytes))
    throw badInput('input.workload.datasetBytes', 'input.workload.datasetBytes: give datasetId, or datasetBytes and datasetItems.');
  if (!given(w.datasetItems))
    throw badInput('input.workload.datasetItems', 'input.workload.datasetItems: give datasetId, or datasetBytes and datasetItems.');
  if (w.datasetBytes <= 0n) throw badInput('input.workload.datasetBytes', 'input.workload.datasetBytes must be positive.');
  if (w.datasetItems <= 0n) throw badInput('input.workload.datasetItems', 'input.workload.datasetItems must be positive.');
  return { bytes: w.datasetBytes, items: w.datasetItems };
}

/** A dataset named by the run sets its size: the run gives no figures of its own. */
export function checkNoDatasetSize(w: CreateTrainingRunInput['workload'], datasetName: string): void {
  for (const field of ['datasetBytes', 'datasetItems'] as const) {
    if (given(w[field])) {
      throw badInput(
        `input.workload.${field}`,
        `input.workload.${field}: taken from dataset ${datasetName}; give datasetId, or datasetBytes and datasetItems, not both.`,
      );
    }
  }
}
