import { Injectable } from '@nestjs/common';
import { badInput } from '../core/errors/app-error';
import { BillingService } from '../metering/billing.service';
import { DEFAULT_RATE_CARD, type RateCard, selectRateCard } from '../metering/rating';
import type { DistanceClass } from '../vocabulary/domain';
import type { ScenarioInput, WorkloadInput } from '../planning/estimator';
import { PlanningService } from '../planning/planning.service';
import type { ReferenceValues } from '../vocabulary/reference';
import { MountsService } from '../storage/mounts.service';
import { StorageResources } from '../storage/storage-resources.service';
import { MountState } from '../storage/mount-state';
import { StorageDesign } from '../vocabulary/domain';
import type { Principal } from '../tenancy/principal';
import type { SiteEntity } from '../topology/topology.entities';
import { TopologyService } from '../topology/topology.service';
import { type EvaluatedRun, type Verdict, evaluateRuns } from './evaluation';
import { type EquipmentReference, type RunSummary, type SiteFigures, summarizeRun } from './run-summary';
import { RunConnectionKind, SecurityMeasure, TrainingRunEntity, TrainingRunState } from './run.entities';
import { RunSeriesRepository } from './run-series.repository';
import { RunsRepository } from './runs.repository';
import { RunsService } from './runs.service';

/** compareRuns and the report take at most this many runs. */
export const MAX_COMPARED_RUNS = 16;

export interface RunPrediction {
  predictedSeconds: number;
  measuredSeconds: number;
  errorPercent: number;
  bound: string;
  gpuSecondsPerStepSource: string;
  reasons: string[];
}

/** What every summary of one request shares: read once. */
interface Shared {
  values: ReferenceValues;
  cards: RateCard[];
  sites: Map<string, SiteEntity>;
}

/**
 * Evaluating measured runs: each run's summary (the PoC Reference's metrics), the planner's prediction beside
 * it, and runs side by side with the verdicts they allow. The pure engines do the arithmetic (run-summary,
 * evaluation); this service reads what they need, once per request for what runs share.
 */
@Injectable()
export class RunEvaluationService {
  constructor(
    private readonly repository: RunsRepository,
    private readonly series: RunSeriesRepository,
    private readonly runs: RunsService,
    private readonly storage: StorageResources,
    private readonly mounts: MountsService,
    private readonly topology: TopologyService,
    private readonly planning: PlanningService,
    private readonly billing: BillingService,
  ) {}

  /** Runs the caller named, each visible to it (another tenant's is NOT_FOUND), in the order named. */
  async visibleRuns(principal: Principal, ids: readonly string[], field: string): Promise<TrainingRunEntity[]> {
    if (ids.length === 0) throw badInput(field, `${field}: name at least one run.`);
    if (ids.length > MAX_COMPARED_RUNS) throw badInput(field, `${field}: at most ${MAX_COMPARED_RUNS} runs at once; got ${ids.length}.`);
    if (new Set(ids).size !== ids.length) throw badInput(field, `${field}: each run once.`);
    const out: TrainingRunEntity[] = [];
    for (const id of ids) out.push(await this.runs.visible(principal, id));
    return out;
  }

  /** Summaries of runs the caller may see, computed together. */
  async summaries(runs: readonly TrainingRunEntity[], shared?: Shared): Promise<Map<string, RunSummary>> {
    const out = new Map<string, RunSummary>();
    if (runs.length === 0) return out;
    const ctx = shared ?? (await this.shared());
    const ids = runs.map((r) => r.id);
    const withIo = runs.filter((r) => Number(r.ioSampleCount) > 0).map((r) => r.id);
    const [buckets, io] = await Promise.all([this.series.stepBuckets(ids), this.series.ioSeries(withIo)]);
    await Promise.all(
      runs.map(async (run) => {
        const preparation = await this.preparation(run);
        const start = run.startedAt?.getTime() ?? null;
        const end = (run.finishedAt ?? run.lastStepEndAt)?.getTime() ?? null;
        const from = start === null ? null : new Date(start - preparation.seconds * 1000);
        const [power, nodes] = await Promise.all([
          Number(run.powerSampleCount) === 0
            ? Promise.resolve([])
            : this.series.powerSeries(run.id, from, end === null ? null : new Date(end), run.state !== TrainingRunState.RECORDING),
          run.gpuAllocationId ? this.storage.nodesOfAllocation(run.gpuAllocationId) : Promise.resolve([]),
        ]);
        const mine = (phase: number) =>
          buckets.filter((b) => b.runId === run.id && b.phase === phase).map((b) => [b.bucket, b.steps] as const);
        const summary = summarizeRun({
          design: run.design,
          connection: {
            kind: run.connectionKind,
            distanceKm: run.distanceKm,
            bandwidthGbps: run.bandwidthGbps,
            distanceClass: distanceClass(run.distanceKm, ctx.values),
          },
          datasetBytes: Number(run.datasetBytes),
          epochs: run.epochs,
          stepsPlanned: run.stepsPerEpoch * run.epochs,
          steps: {
            recorded: Number(run.stepCount),
            readSeconds: run.readSecondsSum,
            gpuSeconds: run.gpuSecondsSum,
            saveSeconds: run.saveSecondsSum,
            buckets: { read: mine(0), gpu: mine(1), save: mine(2) },
          },
          preparation,
          window: { startMs: start, endMs: end },
          io: io.filter((s) => s.runId === run.id),
          power,
          gpuNodes: nodes.map((n) => ({ name: n.name, ratedPowerKw: n.ratedPowerKw })),
          gpuSite: figures(ctx.sites.get(run.gpuSiteId), run.gpuSiteId),
          storageSite: figures(ctx.sites.get(run.storageSiteId), run.storageSiteId),
          reference: reference(ctx.values),
          rateCard: selectRateCard(ctx.cards, run.startedAt ?? run.createdAt) ?? DEFAULT_RATE_CARD,
        });
        out.set(run.id, summary);
      }),
    );
    return out;
  }

  /**
   * The planner's prediction for each run's scenario (its workload, connection, design and sites), for the
   * steps it recorded, and the error against its measured training time. The GPU time per step comes from
   * the tenant's same-site run of the workload when there is one (its epoch), else from the run's own GPU
   * phase, so that the prediction tests what the network and the design add. Null where the planner cannot
   * model the run (no steps, or a figure it refuses).
   */
  async predictions(runs: readonly TrainingRunEntity[], summaries: Map<string, RunSummary>): Promise<Map<string, RunPrediction | null>> {
    const out = new Map<string, RunPrediction | null>();
    for (const run of runs) {
      const summary = summaries.get(run.id);
      const recorded = Number(run.stepCount);
      if (!summary || recorded === 0 || summary.trainingSeconds <= 0) {
        out.set(run.id, null);
        continue;
      }
      const counterpart = run.connectionKind === RunConnectionKind.LOCAL ? null : await this.counterpart(run);
      const workload: WorkloadInput = { datasetBytes: run.datasetBytes, steps: run.stepsPerEpoch, epochs: run.epochs };
      let gpuSource: string;
      if (counterpart) {
        const seconds =
          ((counterpart.readSecondsSum + counterpart.gpuSecondsSum + counterpart.saveSecondsSum) / Number(counterpart.stepCount)) *
          counterpart.stepsPerEpoch;
        workload.localEpochSeconds = seconds;
        gpuSource = `derived from the same-site run "${counterpart.label}" (${counterpart.id}): ${seconds.toFixed(1)} s per epoch`;
      } else {
        workload.gpuSecondsPerStep = run.gpuSecondsSum / recorded;
        gpuSource = `the run's own mean GPU time per step (${(workload.gpuSecondsPerStep * 1000).toFixed(3)} ms); no same-site run of this workload to derive it from`;
      }
      const scenario: ScenarioInput = { label: 'measured run', kind: run.connectionKind, gpuSiteId: run.gpuSiteId };
      if (run.connectionKind !== RunConnectionKind.LOCAL) scenario.design = run.design;
      if (run.connectionKind === RunConnectionKind.APN) {
        scenario.distanceKm = run.distanceKm ?? undefined;
        scenario.bandwidthGbps = run.bandwidthGbps ?? undefined;
      }
      if (run.connectionKind === RunConnectionKind.INTERNET) {
        scenario.rttMs = run.rttMs ?? undefined;
        scenario.bandwidthGbps = run.bandwidthGbps ?? undefined;
      }
      try {
        const result = await this.planning.plan({ workload, scenarios: [scenario], storageSiteId: run.storageSiteId }, 'prediction.');
        const s = result.scenarios[0];
        const planned = run.stepsPerEpoch * run.epochs;
        const predictedSeconds = s.replicationSeconds + (s.totalSeconds - s.replicationSeconds) * (recorded / planned);
        out.set(run.id, {
          predictedSeconds,
          measuredSeconds: summary.trainingSeconds,
          errorPercent: ((predictedSeconds - summary.trainingSeconds) / summary.trainingSeconds) * 100,
          bound: String(s.bound),
          gpuSecondsPerStepSource: gpuSource,
          reasons: recorded === planned ? s.reasons : [...s.reasons, `Scaled to the ${recorded} recorded of ${planned} planned steps`],
        });
      } catch {
        out.set(run.id, null);
      }
    }
    return out;
  }

  /** Runs side by side (their summaries), and evaluateRuns' verdicts over them. */
  async compare(
    principal: Principal,
    ids: readonly string[],
    field = 'runIds',
  ): Promise<{ runs: TrainingRunEntity[]; summaries: Map<string, RunSummary>; verdicts: Verdict[]; shared: Shared }> {
    const runs = await this.visibleRuns(principal, ids, field);
    const shared = await this.shared();
    const summaries = await this.summaries(runs, shared);
    const evaluated = runs.map((r) => this.evaluated(r, summaries.get(r.id)!, shared));
    return { runs, summaries, verdicts: evaluateRuns(evaluated), shared };
  }

  async shared(): Promise<Shared> {
    const [values, cards, snapshot] = await Promise.all([
      this.planning.resolvedReference(),
      this.billing.rateCards(),
      this.topology.snapshot({ maxAgeMs: 1000 }),
    ]);
    return { values, cards, sites: snapshot.sites };
  }

  private evaluated(run: TrainingRunEntity, summary: RunSummary, shared: Shared): EvaluatedRun {
    const site = shared.sites.get(run.gpuSiteId);
    return {
      id: run.id,
      label: run.label,
      completed: run.state === TrainingRunState.COMPLETED,
      connection: { kind: run.connectionKind, distanceKm: run.distanceKm, rttMs: run.rttMs, bandwidthGbps: run.bandwidthGbps },
      design: run.design,
      securityMeasures: run.securityMeasures.filter((m) => m !== SecurityMeasure.NONE),
      workload: { modelName: run.modelName, datasetBytes: run.datasetBytes, steps: run.stepsPerEpoch, epochs: run.epochs },
      gpuSite: { code: site?.code ?? run.gpuSiteId, kind: site?.kind ?? 'GREEN_DC', pue: site?.pue ?? 1 },
      trainingSeconds: summary.trainingSeconds,
      energyKwh: summary.energyKwh,
    };
  }

  /** The newest completed same-site DIRECT run of the tenant's workload, with the same security measures if any has them. */
  async counterpart(run: TrainingRunEntity): Promise<TrainingRunEntity | null> {
    const candidates = (await this.repository.sameSiteRuns(run.tenantId, run)).filter((c) => c.id !== run.id && Number(c.stepCount) > 0);
    const measures = [...run.securityMeasures].sort().join();
    return candidates.find((c) => [...c.securityMeasures].sort().join() === measures) ?? candidates[0] ?? null;
  }

  /**
   * A replica's copy or a cache's fill before the steps: from the mount's history when the run names a
   * mount (each REPLICATING or WARMING spell up to the next transition, ATTACHED in the usual case), else as
   * given with the run.
   */
  private async preparation(run: TrainingRunEntity): Promise<{ seconds: number; basis: string }> {
    if (run.design === StorageDesign.DIRECT) return { seconds: 0, basis: 'DIRECT: nothing is copied or filled before the steps' };
    const what = run.design === StorageDesign.REPLICATION ? 'replication' : 'cache fill';
    if (run.mountId) {
      const history = await this.mounts.history(run.mountId);
      let seconds = 0;
      const spells: string[] = [];
      history.forEach((t, i) => {
        if (t.toState !== MountState.REPLICATING && t.toState !== MountState.WARMING) return;
        const next = history[i + 1];
        if (!next) return;
        const s = (next.at.getTime() - t.at.getTime()) / 1000;
        seconds += s;
        spells.push(`${t.toState} ${t.at.toISOString()} → ${next.toState} ${next.at.toISOString()} (${s.toFixed(1)} s)`);
      });
      if (spells.length > 0) return { seconds, basis: `${what} from the history of mount ${run.mountId}: ${spells.join('; ')}` };
      if (run.preparationSeconds !== null)
        return { seconds: run.preparationSeconds, basis: `${what} as given with the run (mount ${run.mountId} records none completed)` };
      return { seconds: 0, basis: `mount ${run.mountId} records no completed ${what} yet` };
    }
    if (run.preparationSeconds !== null)
      return { seconds: run.preparationSeconds, basis: `${what} as given with the run (preparationSeconds)` };
    return { seconds: 0, basis: `${what} not recorded: the run names no mount and gave no preparationSeconds` };
  }
}

function distanceClass(km: number | null, values: ReferenceValues): DistanceClass | null {
  if (km === null) return null;
  if (km <= values['network.metroMaxKm'].value) return 'METRO';
  if (km <= values['network.regionalMaxKm'].value) return 'REGIONAL';
  return 'LONG_HAUL';
}

function figures(site: SiteEntity | undefined, id: string): SiteFigures {
  if (!site) throw new Error(`site ${id} is missing from the topology`);
  return { id: site.id, code: site.code, pue: site.pue, carbonKgPerKwh: site.gridCarbonKgPerKwh, energyUsdPerKwh: site.energyPricePerKwh };
}

function reference(
  values: ReferenceValues,
): Record<'GPU_SERVER' | 'STORAGE_NFS_ARRAY' | 'CACHE_OR_REPLICA_NODE' | 'SWITCH_100G', EquipmentReference> {
  const of = (kind: 'GPU_SERVER' | 'STORAGE_NFS_ARRAY' | 'CACHE_OR_REPLICA_NODE' | 'SWITCH_100G'): EquipmentReference => ({
    powerKw: values[`equipment.${kind}.powerKw`].value,
    capexUsd: values[`equipment.${kind}.capexUsd`].value,
    lifeYears: values[`equipment.${kind}.lifeYears`].value,
    powerBasis: `reference ${kind}: ${values[`equipment.${kind}.powerKw`].basis}`,
    priceBasis: `reference ${kind}: ${values[`equipment.${kind}.capexUsd`].basis}`,
  });
  return {
    GPU_SERVER: of('GPU_SERVER'),
    STORAGE_NFS_ARRAY: of('STORAGE_NFS_ARRAY'),
    CACHE_OR_REPLICA_NODE: of('CACHE_OR_REPLICA_NODE'),
    SWITCH_100G: of('SWITCH_100G'),
  };
}
