import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AppError, ErrorCode, badInput, notFound } from '../core/errors/app-error';
import type { Principal } from '../tenancy/principal';
import { Role } from '../tenancy/tenancy.entities';
import { integratePower } from './power-integration';
import { POWER_MAX_GAP_SECONDS } from './run-summary';
import { RunConnectionKind, TrainingRunEntity, TrainingRunState } from './run.entities';
import { RunSeriesRepository } from './run-series.repository';
import { RunsRepository } from './runs.repository';
import { StorageDesign } from '../vocabulary/domain';
import { canSee } from '../core/visibility';

/** A measured run as the planner calibrates on it: its time per epoch, and the link it ran over. */
export interface CalibrationRun {
  readonly id: string;
  readonly label: string;
  readonly kind: RunConnectionKind;
  /** Training seconds per epoch (Read + GPU + Save of the recorded steps, scaled to the planned steps). */
  readonly epochSeconds: number;
  /** The run's round trip as recorded: APN the fiber's, INTERNET and LOCAL as given. */
  readonly rttMs: number | null;
  readonly bandwidthGbps: number | null;
  readonly distanceKm: number | null;
}

export interface CalibrationRuns {
  readonly datasetBytes: number;
  readonly stepsPerEpoch: number;
  readonly remote: CalibrationRun;
  readonly local: CalibrationRun;
  /** How the same-site run was chosen, when the caller did not name it. */
  readonly choice: string;
}

/** What the measured runs tell the rest of the service: calibration pairs for the planner, GPU power for metering. */
@Injectable()
export class RunMeasurementsService {
  constructor(
    private readonly repository: RunsRepository,
    private readonly series: RunSeriesRepository,
  ) {}

  /**
   * The pair the planner calibrates on: `runId`, a completed DIRECT run over APN or the Internet, and its
   * same-site counterpart — `baselineRunId` when given, else the newest completed LOCAL DIRECT run of the
   * same tenant and workload (model, dataset size, steps per epoch, epochs), preferring one with the same
   * security measures. Runs the caller may not see are NOT_FOUND; BILLING keys see no runs.
   */
  async calibrationRuns(
    principal: Principal,
    runId: string,
    baselineRunId: string | null,
    field = 'input.calibrationRunId',
  ): Promise<CalibrationRuns> {
    if (principal.role !== Role.OPERATOR && principal.role !== Role.TENANT) {
      throw new AppError(
        ErrorCode.FORBIDDEN,
        `Calibrating on measured runs needs role OPERATOR or TENANT; your token has role ${principal.role}.`,
      );
    }
    const baselineField = field.replace(/calibrationRunId$/, 'calibrationBaselineRunId');
    const remote = await this.visible(principal, runId, field);
    if (remote.state !== TrainingRunState.COMPLETED)
      throw badInput(field, `${field}: run ${remote.id} is ${remote.state}; calibrate on a COMPLETED run.`);
    if (remote.connectionKind === RunConnectionKind.LOCAL || remote.design !== StorageDesign.DIRECT) {
      throw badInput(
        field,
        `${field}: run "${remote.label}" is a ${remote.connectionKind} ${remote.design} run; calibrate on a remote DIRECT run (APN or INTERNET), whose same-site counterpart is found for it.`,
      );
    }
    if (Number(remote.stepCount) === 0) throw badInput(field, `${field}: run "${remote.label}" recorded no steps.`);
    let local: TrainingRunEntity;
    let choice: string;
    if (baselineRunId) {
      local = await this.visible(principal, baselineRunId, baselineField);
      const problem = this.counterpartProblem(remote, local);
      if (problem) throw badInput(baselineField, `${baselineField}: run "${local.label}" ${problem}.`);
      choice = `same-site run "${local.label}" (${local.id}) as named`;
    } else {
      const candidates = (await this.repository.sameSiteRuns(remote.tenantId, remote)).filter((c) => Number(c.stepCount) > 0);
      if (candidates.length === 0) {
        throw badInput(
          field,
          `${field}: run "${remote.label}" has no same-site counterpart: record a COMPLETED LOCAL DIRECT run of the same workload (${remote.modelName}, ${remote.datasetBytes} bytes, ${remote.stepsPerEpoch} steps × ${remote.epochs} epochs), or name one with calibrationBaselineRunId.`,
        );
      }
      const measures = [...remote.securityMeasures].sort().join();
      local = candidates.find((c) => [...c.securityMeasures].sort().join() === measures) ?? candidates[0];
      choice =
        candidates.length === 1
          ? `same-site run "${local.label}" (${local.id}), the only completed LOCAL DIRECT run of this workload`
          : `same-site run "${local.label}" (${local.id}), the newest of ${candidates.length} completed LOCAL DIRECT runs of this workload` +
            `${[...local.securityMeasures].sort().join() === measures ? ' with the same security measures' : ''}; name another with calibrationBaselineRunId`;
    }
    return {
      datasetBytes: Number(remote.datasetBytes),
      stepsPerEpoch: remote.stepsPerEpoch,
      remote: asCalibrationRun(remote),
      local: asCalibrationRun(local),
      choice,
    };
  }

  /**
   * Measured IT energy of GPU nodes per hour window: for each (allocation, node name) with power samples
   * in a run that names the allocation, a function giving the joules over [from, to), or null when the
   * samples do not cover that span (see integratePower).
   */
  async gpuNodeEnergy(
    m: EntityManager,
    fromMs: number,
    toMs: number,
  ): Promise<(allocationId: string, node: string, from: number, to: number) => number | null> {
    const gap = POWER_MAX_GAP_SECONDS * 1000;
    const rows = await this.series.gpuNodeSamples(m, new Date(fromMs - gap), new Date(toMs + gap));
    const series = new Map<string, Array<[number, number]>>();
    for (const r of rows) {
      const key = `${r.allocationId}|${r.node}`;
      if (!series.has(key)) series.set(key, []);
      series.get(key)!.push([r.ms, r.watts]);
    }
    return (allocationId, node, from, to) => {
      const points = series.get(`${allocationId}|${node}`);
      return points ? integratePower(points, from, to, gap) : null;
    };
  }

  private async visible(principal: Principal, id: string, field: string): Promise<TrainingRunEntity> {
    const run = await this.repository.findRun(id);
    if (!run || !canSee(principal, run.tenantId)) {
      const error = notFound('Training run', id);
      throw new AppError(ErrorCode.NOT_FOUND, `${field}: ${error.message}`, { field });
    }
    return run;
  }

  private counterpartProblem(remote: TrainingRunEntity, local: TrainingRunEntity): string | null {
    if (local.tenantId !== remote.tenantId) return 'belongs to another tenant than the run calibrated on';
    if (local.connectionKind !== RunConnectionKind.LOCAL || local.design !== StorageDesign.DIRECT)
      return `is a ${local.connectionKind} ${local.design} run, not a same-site (LOCAL DIRECT) one`;
    if (local.state !== TrainingRunState.COMPLETED) return `is ${local.state}, not COMPLETED`;
    if (Number(local.stepCount) === 0) return 'recorded no steps';
    if (
      local.modelName !== remote.modelName ||
      local.datasetBytes !== remote.datasetBytes ||
      local.stepsPerEpoch !== remote.stepsPerEpoch ||
      local.epochs !== remote.epochs
    ) {
      return 'trained another workload (model, dataset size, steps per epoch and epochs must be the same)';
    }
    return null;
  }
}

function asCalibrationRun(run: TrainingRunEntity): CalibrationRun {
  const steps = Number(run.stepCount);
  const seconds = run.readSecondsSum + run.gpuSecondsSum + run.saveSecondsSum;
  return {
    id: run.id,
    label: run.label,
    kind: run.connectionKind,
    epochSeconds: (seconds / steps) * run.stepsPerEpoch,
    rttMs: run.rttMs,
    bandwidthGbps: run.bandwidthGbps,
    distanceKm: run.distanceKm,
  };
}
