import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { requireText } from '../core/bounds';
import { badInput } from '../core/errors/app-error';
import type { Principal } from '../tenancy/principal';
import { TopologyService } from '../topology/topology.service';
import { FieldError } from '../vocabulary/domain';
import { RunConnectionKind } from '../runs/run.entities';
import { RunMeasurementsService } from '../runs/run-measurements.service';
import { compareScenarios, type ComparisonResult, type CompareInput, type SitePricingInput } from './estimator';
import { REFERENCE_DEFAULTS, basisList, resolveReference, type MeasuredPair, type ReferenceValues } from '../vocabulary/reference';
import { PlanningRepository } from './planning.repository';
import type { CompareScenariosInput, ReferenceValue } from './planning.models';

/** Planner errors name the input as the API does; GraphQL arguments live under `input.`. */
function asBadInput(error: unknown, prefix: string): never {
  if (error instanceof FieldError) throw badInput(`${prefix}${error.field}`, error.message);
  throw error;
}

/**
 * The planner over GraphQL: the pure estimator fed with the sites of the topology (PUE, carbon intensity,
 * energy price) and the operator's overrides of the reference values, which are kept in the database so
 * every replica plans with the same figures.
 */
@Injectable()
export class PlanningService {
  constructor(
    private readonly repository: PlanningRepository,
    private readonly topology: TopologyService,
    private readonly audit: AuditService,
    private readonly runs: RunMeasurementsService,
  ) {}

  /**
   * compareScenarios over GraphQL. With `calibrationRunId`, the model is fitted to the caller's own pair of
   * measured runs (that run and its same-site counterpart) instead of the PoC's; the warnings say which
   * runs were used and how the counterpart was chosen.
   */
  async compare(input: CompareScenariosInput, principal: Principal | null = null): Promise<ComparisonResult> {
    let calibration: MeasuredPair | undefined;
    let choice: string | null = null;
    if (input.calibrationRunId || input.calibrationBaselineRunId) {
      if (!input.calibrationRunId)
        throw badInput(
          'input.calibrationRunId',
          'input.calibrationRunId: name the remote run to calibrate on; calibrationBaselineRunId only chooses its same-site counterpart.',
        );
      if (!principal) throw new Error('calibrating on runs needs the caller');
      const pair = await this.runs.calibrationRuns(principal, input.calibrationRunId, input.calibrationBaselineRunId ?? null);
      const values = await this.resolvedReference();
      const lanRtt = values['model.lanRttMs'].value;
      const remote = pair.remote;
      // An APN run records the fiber's round trip; the hosts add theirs, as the planner's own scenarios do.
      const rttMs = remote.kind === RunConnectionKind.APN ? lanRtt + (remote.rttMs ?? 0) : (remote.rttMs ?? lanRtt);
      calibration = {
        bytesPerStep: pair.datasetBytes / pair.stepsPerEpoch,
        steps: pair.stepsPerEpoch,
        local: { label: pair.local.label, epochSeconds: pair.local.epochSeconds },
        remote: {
          label: remote.label,
          epochSeconds: remote.epochSeconds,
          rttMs,
          bandwidthGbps: remote.bandwidthGbps ?? values['model.apnBandwidthGbps'].value,
        },
      };
      choice = `calibrated on run "${remote.label}" (${remote.id}) and ${pair.choice}`;
    }
    const result = await this.plan({
      workload: {
        datasetBytes: input.workload.datasetBytes,
        steps: input.workload.steps,
        epochs: input.workload.epochs,
        gpuSecondsPerStep: input.workload.gpuSecondsPerStep ?? undefined,
        localEpochSeconds: input.workload.localEpochSeconds ?? undefined,
      },
      scenarios: input.scenarios.map((s) => ({
        label: s.label,
        kind: s.kind,
        design: s.design ?? undefined,
        bandwidthGbps: s.bandwidthGbps ?? undefined,
        rttMs: s.rttMs ?? undefined,
        distanceKm: s.distanceKm ?? undefined,
        gpuSiteId: s.gpuSiteId ?? undefined,
      })),
      confidential: input.confidential ?? undefined,
      storageSiteId: input.storageSiteId ?? undefined,
      gpuPricing: input.gpuPricing ?? undefined,
      calibration,
    });
    return choice ? { ...result, warnings: [choice, ...result.warnings] } : result;
  }

  /** The estimator with the topology's site figures and the operator's overrides; planner errors name the input. */
  async plan(request: Omit<CompareInput, 'sites' | 'overrides'>, prefix = 'input.'): Promise<ComparisonResult> {
    const snapshot = await this.topology.snapshot({ maxAgeMs: 1000 });
    const sites: Record<string, SitePricingInput> = {};
    for (const s of snapshot.sites.values()) {
      sites[s.id] = { pue: s.pue, carbonKgPerKwh: s.gridCarbonKgPerKwh, energyUsdPerKwh: s.energyPricePerKwh };
    }
    try {
      return compareScenarios({ ...request, sites, overrides: await this.repository.overrides() });
    } catch (error) {
      return asBadInput(error, prefix);
    }
  }

  /** The reference values in force: defaults, the operator's overrides, the calibration under them. */
  async resolvedReference(): Promise<ReferenceValues> {
    try {
      return resolveReference(await this.repository.overrides());
    } catch (error) {
      return asBadInput(error, '');
    }
  }

  /** Every reference value in force, with its basis and whether an operator replaced it. */
  async referenceValues(): Promise<ReferenceValue[]> {
    const overrides = await this.repository.overrides();
    let values;
    try {
      values = resolveReference(overrides);
    } catch (error) {
      return asBadInput(error, '');
    }
    return basisList(values).map((v) => ({ key: v.key, value: v.value, basis: v.basis, overridden: v.key in overrides }));
  }

  /** Replaces a reference value; refused (naming the key) if the planner could not work with it. */
  async setReferenceValue(principal: Principal, key: string, value: unknown, basis: string | null): Promise<ReferenceValue[]> {
    const current = await this.repository.overrides();
    const entry = {
      value,
      basis: (basis === null ? '' : requireText('basis', basis, 200, { optional: true })) || `set by ${principal.actor}`,
    };
    try {
      resolveReference({ ...current, [key]: entry });
    } catch (error) {
      return asBadInput(error, '');
    }
    await this.repository.transaction(async (m) => {
      await this.repository.saveOverride(m, key, value, entry.basis, principal.actor);
      await this.audit.append(m, {
        actor: principal.actor,
        action: 'reference.overridden',
        entityType: 'reference_value',
        entityId: null,
        data: { key, value, basis: entry.basis },
      });
    });
    return this.referenceValues();
  }

  /** Goes back to the default of a reference value. */
  async clearReferenceValue(principal: Principal, key: string): Promise<ReferenceValue[]> {
    if (!(key in REFERENCE_DEFAULTS))
      throw badInput('key', `key: ${key} is not a reference key; list them with { referenceValues { key } }.`);
    await this.repository.transaction(async (m) => {
      await this.repository.deleteOverride(m, key);
      await this.audit.append(m, {
        actor: principal.actor,
        action: 'reference.reset',
        entityType: 'reference_value',
        entityId: null,
        data: { key },
      });
    });
    return this.referenceValues();
  }
}
