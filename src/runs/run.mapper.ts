import type { SiteEntity } from '../topology/topology.entities';
import { Site } from '../topology/topology.models';
import { TrainingRunEntity } from './run.entities';
import { TrainingRun } from './run.models';
import { RUN_LOG_KEEP } from './runs.repository';

/** The GraphQL view of a run; `site` finds a site of the topology by id. */
export function toTrainingRun(run: TrainingRunEntity, site: (id: string) => SiteEntity | undefined): TrainingRun {
  const siteOf = (id: string) => {
    const s = site(id);
    if (!s) throw new Error(`training run ${run.id} refers to site ${id}, missing from the topology`);
    return Site.from(s);
  };
  const logLines = Number(run.logLineCount);
  const levels = {
    error: Number(run.logErrorCount),
    warn: Number(run.logWarnCount),
    info: Number(run.logInfoCount),
    debug: Number(run.logDebugCount),
  };
  return Object.assign(new TrainingRun(), {
    id: run.id,
    tenant: { id: run.tenantId },
    label: run.label,
    state: run.state,
    failureReason: run.failureReason,
    workload: {
      modelName: run.modelName,
      datasetId: run.datasetId,
      datasetBytes: BigInt(run.datasetBytes),
      datasetItems: BigInt(run.datasetItems),
      batchSize: run.batchSize,
      steps: run.stepsPerEpoch,
      epochs: run.epochs,
    },
    connection: {
      kind: run.connectionKind,
      reservationId: run.reservationId,
      distanceKm: run.distanceKm,
      rttMs: run.rttMs,
      bandwidthGbps: run.bandwidthGbps,
    },
    design: run.design,
    mountId: run.mountId,
    gpuAllocationId: run.gpuAllocationId,
    gpuSite: siteOf(run.gpuSiteId),
    storageSite: siteOf(run.storageSiteId),
    securityMeasures: run.securityMeasures,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    ingested: {
      steps: Number(run.stepCount),
      ioSamples: Number(run.ioSampleCount),
      powerSamples: Number(run.powerSampleCount),
      logLines,
      logLinesKept: Math.min(logLines, RUN_LOG_KEEP.first + RUN_LOG_KEEP.last),
      logLevels: { ...levels, other: logLines - levels.error - levels.warn - levels.info - levels.debug },
    },
    preparationSeconds: run.preparationSeconds,
    createdAt: run.createdAt,
  } satisfies TrainingRun);
}
