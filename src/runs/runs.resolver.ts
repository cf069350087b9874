import { Args, Context, ID, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import DataLoader from 'dataloader';
import { encodeCursor, pageSize } from '../core/graphql/pagination';
import { ReservationQueries } from '../reservations/reservation-queries.service';
import { Reservation } from '../reservations/reservation.models';
import { StorageLoaders } from '../storage/storage.loaders';
import { Dataset, GpuAllocation, Mount } from '../storage/storage.models';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { TopologyService } from '../topology/topology.service';
import { TrainingRunEntity, TrainingRunState } from './run.entities';
import { toTrainingRun } from './run.mapper';
import { CreateTrainingRunInput, TrainingRun, TrainingRunConnection } from './run.models';
import { RunsService } from './runs.service';

interface RunContext {
  loaders?: Record<string, unknown>;
}

/** The largest page of trainingRuns. */
const MAX_RUNS_PAGE = 100;

@Resolver(() => TrainingRun)
@Roles(Role.OPERATOR, Role.TENANT)
export class RunsResolver {
  constructor(
    private readonly runs: RunsService,
    private readonly topology: TopologyService,
    private readonly reservations: ReservationQueries,
    private readonly storageLoaders: StorageLoaders,
  ) {}

  @Mutation(() => TrainingRun, {
    description:
      'Records a training run to measure: its workload, connection (a reservation, an Internet link, or LOCAL), storage design, ' +
      'sites and security measures. Data then comes through POST /runs/{id}/steps, /nfsiostat, /power and /logs.',
  })
  async createTrainingRun(
    @Args('input') input: CreateTrainingRunInput,
    @CurrentPrincipal() p: Principal,
    @Context() ctx: RunContext,
  ): Promise<TrainingRun> {
    return (await this.views(ctx, [await this.runs.create(p, input)]))[0];
  }

  @Mutation(() => TrainingRun, {
    description: 'The training finished without error. Start and finish default to the first step’s start and the last step’s end.',
  })
  async completeTrainingRun(
    @Args('id', { type: () => ID }) id: string,
    @CurrentPrincipal() p: Principal,
    @Context() ctx: RunContext,
    @Args('startedAt', { type: () => Date, nullable: true }) startedAt?: Date | null,
    @Args('finishedAt', { type: () => Date, nullable: true }) finishedAt?: Date | null,
  ): Promise<TrainingRun> {
    return (await this.views(ctx, [await this.runs.complete(p, id, startedAt ?? null, finishedAt ?? null)]))[0];
  }

  @Mutation(() => TrainingRun, { description: 'The training did not finish, for `reason`. The finish defaults to the last step’s end.' })
  async failTrainingRun(
    @Args('id', { type: () => ID }) id: string,
    @Args('reason') reason: string,
    @CurrentPrincipal() p: Principal,
    @Context() ctx: RunContext,
    @Args('finishedAt', { type: () => Date, nullable: true }) finishedAt?: Date | null,
  ): Promise<TrainingRun> {
    return (await this.views(ctx, [await this.runs.fail(p, id, reason, finishedAt ?? null)]))[0];
  }

  @Query(() => TrainingRun, { description: 'A training run of yours (NOT_FOUND otherwise).' })
  async trainingRun(
    @Args('id', { type: () => ID }) id: string,
    @CurrentPrincipal() p: Principal,
    @Context() ctx: RunContext,
  ): Promise<TrainingRun> {
    return (await this.views(ctx, [await this.runs.visible(p, id)]))[0];
  }

  @Query(() => TrainingRunConnection, {
    description: `Your training runs, newest first (at most ${MAX_RUNS_PAGE} a page). Operators see all, or one tenant’s.`,
  })
  async trainingRuns(
    @CurrentPrincipal() p: Principal,
    @Context() ctx: RunContext,
    @Args('first', { type: () => Int, nullable: true }) first?: number,
    @Args('after', { type: () => String, nullable: true }) after?: string,
    @Args('tenantId', { type: () => ID, nullable: true }) tenantId?: string,
    @Args('state', { type: () => TrainingRunState, nullable: true }) state?: TrainingRunState,
  ): Promise<TrainingRunConnection> {
    const page = await this.runs.list(p, { first: pageSize(first), after, tenantId, state });
    const nodes = await this.views(ctx, page.rows);
    const edges = page.rows.map((r, i) => ({ cursor: encodeCursor(r.createdAt, r.id), node: nodes[i] }));
    return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  @ResolveField(() => Reservation, { nullable: true, description: 'APN: the lightpath the run used.' })
  async reservation(@Parent() run: TrainingRun, @Context() ctx: RunContext): Promise<Reservation | null> {
    const id = run.connection.reservationId;
    if (!id) return null;
    const loader = this.loader(ctx, 'runReservations', async (ids: readonly string[]) => {
      const found = new Map((await this.reservations.byIds(ids)).map((r) => [r.id, r]));
      return Promise.all(ids.map(async (i) => (found.has(i) ? this.reservations.toModel(found.get(i)!) : null)));
    });
    return loader.load(id);
  }

  @ResolveField(() => Dataset, { nullable: true })
  async dataset(@Parent() run: TrainingRun, @Context() ctx: RunContext): Promise<Dataset | null> {
    const id = run.workload.datasetId;
    if (!id) return null;
    return this.storageLoaders.datasets(ctx).load(id);
  }

  @ResolveField(() => Mount, { nullable: true })
  async mount(@Parent() run: TrainingRun, @Context() ctx: RunContext): Promise<Mount | null> {
    if (!run.mountId) return null;
    return this.storageLoaders.mounts(ctx).load(run.mountId);
  }

  @ResolveField(() => GpuAllocation, { nullable: true })
  async gpuAllocation(@Parent() run: TrainingRun, @Context() ctx: RunContext): Promise<GpuAllocation | null> {
    if (!run.gpuAllocationId) return null;
    return this.storageLoaders.gpuAllocations(ctx).load(run.gpuAllocationId);
  }

  /** One loader per request and relation: a page of runs loads each relation in one query. */
  private loader<T>(
    ctx: RunContext,
    name: string,
    batch: (ids: readonly string[]) => Promise<Array<T | null>>,
  ): DataLoader<string, T | null> {
    const loaders = (ctx.loaders ??= {});
    return ((loaders[name] as DataLoader<string, T | null> | undefined) ??= new DataLoader(batch));
  }

  private async views(ctx: RunContext, rows: TrainingRunEntity[]): Promise<TrainingRun[]> {
    let snapshot = await this.topology.forRequest(ctx);
    // A site imported moments ago through another replica may postdate the request's snapshot.
    if (rows.some((r) => !snapshot.sites.has(r.gpuSiteId) || !snapshot.sites.has(r.storageSiteId)))
      snapshot = await this.topology.snapshot();
    return rows.map((r) => toTrainingRun(r, (id) => snapshot.sites.get(id)));
  }
}
