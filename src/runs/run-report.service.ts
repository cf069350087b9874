import { Injectable } from '@nestjs/common';
import { MountsService } from '../storage/mounts.service';
import { MountEntity, StorageDesign } from '../storage/storage.entities';
import type { Principal } from '../tenancy/principal';
import { type ReportModel, type ReportRun, renderReportHtml, renderReportMarkdown } from './report';
import { RunEvaluationService, type RunPrediction } from './run-evaluation.service';
import type { RunSummary } from './run-summary';
import { RunConnectionKind, SecurityMeasure, TrainingRunEntity } from './run.entities';
import { RunsRepository } from './runs.repository';

export type ReportFormatName = 'html' | 'md';

/** Points of the charts: steps shown per run, power spans per piece of equipment. */
const STEP_POINTS = 300;
const POWER_POINTS = 200;

/**
 * The PoC report of runs the caller may see: their summaries, the verdicts they allow, the planner's
 * predictions, the security measures in force (and the mounts' settings), and downsampled series, mapped
 * into the report model and rendered by the pure renderers.
 */
@Injectable()
export class RunReportService {
  constructor(
    private readonly evaluation: RunEvaluationService,
    private readonly repository: RunsRepository,
    private readonly mounts: MountsService,
  ) {}

  async render(principal: Principal, ids: readonly string[], format: ReportFormatName, field = 'ids'): Promise<string> {
    const model = await this.model(principal, ids, field);
    return format === 'md' ? renderReportMarkdown(model) : renderReportHtml(model);
  }

  async model(principal: Principal, ids: readonly string[], field = 'ids'): Promise<ReportModel> {
    const { runs, summaries, verdicts, shared } = await this.evaluation.compare(principal, ids, field);
    const predictions = await this.evaluation.predictions(runs, summaries);
    const mountIds = runs.map((r) => r.mountId).filter((id): id is string => id !== null);
    const mounts = new Map((mountIds.length ? await this.mounts.mountsByIds(mountIds) : []).map((m) => [m.id, m]));
    const code = (id: string) => shared.sites.get(id)?.code ?? id;
    const reportRuns = await Promise.all(
      runs.map(async (run): Promise<ReportRun> => {
        const summary = summaries.get(run.id)!;
        const [stepSeries, powerSeries] = await Promise.all([this.repository.stepSample(run.id, STEP_POINTS), this.power(run, summary)]);
        return {
          id: run.id,
          label: run.label,
          state: run.state,
          failureReason: run.failureReason,
          connection: connectionText(run),
          design: run.design,
          securityMeasures: run.securityMeasures,
          workload: `${run.modelName}, ${(Number(run.datasetBytes) / 1e12).toFixed(2)} TB, ${run.stepsPerEpoch} steps × ${run.epochs} epoch${run.epochs > 1 ? 's' : ''}`,
          gpuSite: code(run.gpuSiteId),
          storageSite: code(run.storageSiteId),
          steps: { recorded: summary.stepsRecorded, planned: summary.stepsPlanned },
          times: { read: summary.readSecondsWithPreparation, gpu: summary.gpu.totalSeconds, save: summary.save.totalSeconds, preparation: summary.preparationSeconds, training: summary.trainingSeconds },
          perStep: {
            readP50: summary.read.p50Seconds ?? 0,
            readP99: summary.read.p99Seconds ?? 0,
            gpuP50: summary.gpu.p50Seconds ?? 0,
            gpuP99: summary.gpu.p99Seconds ?? 0,
            saveP50: summary.save.p50Seconds ?? 0,
            saveP99: summary.save.p99Seconds ?? 0,
          },
          storage: summary.storage.map((s) => ({ direction: s.direction === 'READ' ? 'read' : 'write', throughputMBps: s.throughputMBps, latencyMs: s.latencyMs ?? Number.NaN })),
          energy: summary.energy.map((e) => ({ equipment: e.equipment, kind: e.kind, site: code(e.siteId), kwh: e.itKwh, basis: e.basis })),
          sites: summary.sites.map((s) => ({ site: code(s.siteId), pue: s.pue, kwh: s.kwh })),
          costs: [...summary.costs.map((c) => ({ item: c.item, usd: c.usd })), { item: 'total', usd: summary.costUsd }],
          logs: { lines: Number(run.logLineCount), errors: Number(run.logErrorCount), warnings: Number(run.logWarnCount) },
          prediction: predictionOf(predictions.get(run.id) ?? null),
          stepSeries: stepSeries.map((s) => s.seconds),
          powerSeries,
          security: securityText(run, run.mountId ? mounts.get(run.mountId) ?? null : null),
        };
      }),
    );
    return {
      title: `PoC report: ${runs.length} measured run${runs.length > 1 ? 's' : ''} (${[...new Set(runs.map((r) => r.modelName))].join(', ')})`,
      generatedAt: new Date().toISOString(),
      runs: reportRuns,
      verdicts,
    };
  }

  /** Watts over the run per piece of equipment, in at most POWER_POINTS spans. */
  private async power(run: TrainingRunEntity, summary: RunSummary): Promise<ReportRun['powerSeries']> {
    if (Number(run.powerSampleCount) === 0) return [];
    const start = run.startedAt ?? null;
    const end = run.finishedAt ?? run.lastStepEndAt ?? null;
    if (!start || !end || end <= start) return [];
    const from = new Date(start.getTime() - summary.preparationSeconds * 1000);
    return this.repository.powerPoints(run.id, from, end, POWER_POINTS);
  }
}

function predictionOf(p: RunPrediction | null): ReportRun['prediction'] {
  return p ? { seconds: p.predictedSeconds, errorPercent: p.errorPercent } : null;
}

function connectionText(run: TrainingRunEntity): string {
  if (run.connectionKind === RunConnectionKind.APN) return `Open APN ${run.distanceKm ?? '?'} km, ${run.bandwidthGbps ?? '?'} Gbps`;
  if (run.connectionKind === RunConnectionKind.INTERNET) return `Internet ${run.bandwidthGbps} Gbps, ${run.rttMs} ms`;
  return 'same site';
}

/**
 * The PoC Reference's three places of data, each with the measures in force or, plainly, none. The run
 * records the measures; its mount (where it names one) says how the GPU nodes reached the data.
 */
export function securityText(run: TrainingRunEntity, mount: MountEntity | null): ReportRun['security'] {
  const has = (m: SecurityMeasure) => run.securityMeasures.includes(m);
  const copy = run.design === StorageDesign.REPLICATION ? 'the replica' : run.design === StorageDesign.CACHE ? 'the cache' : null;
  const inDataCenter = copy
    ? has(SecurityMeasure.AT_REST_ENCRYPTION)
      ? `${copy} encrypted at rest (AT_REST_ENCRYPTION); data in use on the GPU nodes: no isolation measure recorded`
      : `not applied: ${copy} at the data center is not encrypted at rest, and no measure protects data in use on the GPU nodes`
    : 'no copy rests at the data center (DIRECT); data in use on the GPU nodes: no isolation measure recorded';
  const link = run.connectionKind === RunConnectionKind.APN ? 'the lightpath' : run.connectionKind === RunConnectionKind.INTERNET ? 'the Internet link' : 'the site network';
  const via = mount ? ` (mount ${mount.id}: ${mount.protocol === 'NFS_RDMA' ? 'NFS over RDMA' : 'NFSv4.2 over TCP'}, ${mount.design})` : '';
  const motion = [
    has(SecurityMeasure.NFS_KRB5P) ? 'Kerberos privacy (sec=krb5p)' : null,
    has(SecurityMeasure.NFS_TLS) ? 'RPC-with-TLS (RFC 9289)' : null,
    has(SecurityMeasure.LINK_ENCRYPTION) ? 'encrypting transponders on the lightpath' : null,
  ].filter((x): x is string => x !== null);
  const inMotion = motion.length > 0 ? `${motion.join(', ')}${via}` : `not applied: sec=sys over an unencrypted ${link.replace(/^the /, '')}${via}`;
  return { inDataCenter, inMotion, atOffice: 'not recorded with the run: the office storage’s own protection is outside the measures a run records' };
}
