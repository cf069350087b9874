import { Args, Context, ID, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import DataLoader from 'dataloader';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { Site } from '../topology/topology.models';
import { TopologyService } from '../topology/topology.service';
import { RunEvaluationService } from './run-evaluation.service';
import {
  EnergyBasisEnum,
  ReportFormat,
  RunComparison,
  RunVerdict,
  TrainingRunPrediction,
  TrainingRunSummary,
  VerdictKindEnum,
} from './run-evaluation.models';
import { RunReportService } from './run-report.service';
import type { RunSummary } from './run-summary';
import { toTrainingRun } from './run.mapper';
import { TrainingRun } from './run.models';
import { RunsRepository } from './runs.repository';

interface RunContext {
  loaders?: Record<string, unknown>;
}

const VERDICT_KINDS: Record<string, VerdictKindEnum> = {
  'KR1.1': VerdictKindEnum.KR1_1,
  'KR2.1': VerdictKindEnum.KR2_1,
  'KR3.1': VerdictKindEnum.KR3_1,
  SECURITY: VerdictKindEnum.SECURITY,
  SITE: VerdictKindEnum.SITE,
};

/** Summaries, predictions, comparisons and the report of measured runs. */
@Resolver(() => TrainingRun)
@Roles(Role.OPERATOR, Role.TENANT)
export class RunEvaluationResolver {
  constructor(
    private readonly evaluation: RunEvaluationService,
    private readonly reports: RunReportService,
    private readonly repository: RunsRepository,
    private readonly topology: TopologyService,
  ) {}

  @ResolveField(() => TrainingRunSummary, {
    description:
      'The PoC Reference’s metrics: Read/GPU/Save totals and per-step percentiles, training time, storage throughput and latency, energy per equipment and site, cost.',
  })
  async summary(@Parent() run: TrainingRun, @Context() ctx: RunContext): Promise<TrainingRunSummary> {
    const summary = await this.summaries(ctx).load(run.id);
    return this.toModel(summary, ctx);
  }

  @ResolveField(() => TrainingRunPrediction, {
    nullable: true,
    description: 'The planner’s prediction for the run’s scenario, and its error; null where it cannot model the run.',
  })
  async prediction(@Parent() run: TrainingRun, @Context() ctx: RunContext): Promise<TrainingRunPrediction | null> {
    const loader = this.loader(ctx, 'runPredictions', async (ids: readonly string[]) => {
      const runs = await this.repository.findRuns(ids);
      const loaded = await Promise.all(runs.map((r) => this.summaries(ctx).load(r.id)));
      const summaries = new Map<string, RunSummary>(runs.map((r, i) => [r.id, loaded[i]]));
      const predictions = await this.evaluation.predictions(runs, summaries);
      return ids.map((id) => predictions.get(id) ?? null);
    });
    return await loader.load(run.id);
  }

  @Query(() => RunComparison, {
    description:
      'Runs of yours side by side (at most 16), with the verdicts they allow: KR1.1, KR2.1, KR3.1, security measures, green vs standard data center.',
  })
  async compareRuns(
    @Args('runIds', { type: () => [ID] }) runIds: string[],
    @CurrentPrincipal() p: Principal,
    @Context() ctx: RunContext,
  ): Promise<RunComparison> {
    const { runs, summaries, verdicts } = await this.evaluation.compare(p, runIds);
    // The runs' summaries are resolved from what the comparison computed.
    const loader = this.summaries(ctx);
    for (const [id, summary] of summaries) loader.prime(id, summary);
    const snapshot = await this.topology.forRequest(ctx);
    return {
      runs: runs.map((r) => toTrainingRun(r, (id) => snapshot.sites.get(id))),
      verdicts: verdicts.map((v): RunVerdict => ({ ...v, kind: VERDICT_KINDS[v.kind] })),
    };
  }

  @Query(() => String, {
    description:
      'The PoC report of runs of yours (at most 16), as self-contained HTML or Markdown; GET /runs/report gives the same document.',
  })
  runsReport(
    @Args('ids', { type: () => [ID] }) ids: string[],
    @CurrentPrincipal() p: Principal,
    @Args('format', { type: () => ReportFormat, nullable: true, defaultValue: ReportFormat.HTML }) format: ReportFormat,
  ): Promise<string> {
    return this.reports.render(p, ids, format === ReportFormat.MARKDOWN ? 'md' : 'html');
  }

  private summaries(ctx: RunContext): DataLoader<string, RunSummary> {
    return this.loader(ctx, 'runSummaries', async (ids: readonly string[]) => {
      const runs = await this.repository.findRuns(ids);
      const summaries = await this.evaluation.summaries(runs);
      return ids.map((id) => summaries.get(id) ?? new Error(`training run ${id} has no summary`));
    });
  }

  private async toModel(s: RunSummary, ctx: RunContext): Promise<TrainingRunSummary> {
    let snapshot = await this.topology.forRequest(ctx);
    if ([...s.energy.map((e) => e.siteId), ...s.sites.map((x) => x.siteId)].some((id) => !snapshot.sites.has(id)))
      snapshot = await this.topology.snapshot();
    const site = (id: string) => Site.from(snapshot.sites.get(id)!);
    return {
      ...s,
      storage: s.storage.map((x) => ({ ...x })),
      energy: s.energy.map((e) => ({
        ...e,
        site: site(e.siteId),
        basis: e.basis === 'measured' ? EnergyBasisEnum.MEASURED : EnergyBasisEnum.RATED,
      })),
      sites: s.sites.map((x) => ({ ...x, site: site(x.siteId) })),
      costs: s.costs.map((c) => ({ ...c })),
    };
  }

  private loader<K, T>(ctx: RunContext, name: string, batch: (ids: readonly K[]) => Promise<Array<T | Error>>): DataLoader<K, T> {
    const loaders = (ctx.loaders ??= {});
    return ((loaders[name] as DataLoader<K, T> | undefined) ??= new DataLoader<K, T>(batch));
  }
}
