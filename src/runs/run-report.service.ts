import { Injectable } from '@nestjs/common';
import { AuditCheckpointService } from '../audit/audit-checkpoint.service';
import { AuditService } from '../audit/audit.service';
import type { MeasureStanding } from '../protection/profile';
import { type CustodyProof, MountProtection } from '../storage/mount-protection.service';
import { MountsService } from '../storage/mounts.service';
import { MountEntity } from '../storage/storage.entities';
import { StorageDesign } from '../vocabulary/domain';
import type { Principal } from '../tenancy/principal';
import { type ReportAudit, type ReportModel, type ReportRun, renderReportHtml, renderReportMarkdown } from './report';
import { RunEvaluationService, type RunPrediction } from './run-evaluation.service';
import type { RunSummary } from './run-summary';
import { RunConnectionKind, SecurityMeasure, TrainingRunEntity } from './run.entities';
import { RunSeriesRepository } from './run-series.repository';

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
    private readonly series: RunSeriesRepository,
    private readonly mounts: MountsService,
    private readonly mountProtection: MountProtection,
    private readonly audit: AuditService,
    private readonly checkpoints: AuditCheckpointService,
  ) {}

  /** The latest checkpoint, its signature checked now, and how far it covers each run's audit entries. */
  private async auditEvidence(runs: readonly TrainingRunEntity[]): Promise<ReportAudit> {
    const latest = await this.checkpoints.latest();
    const checkpoint = latest
      ? {
          seq: String(latest.seq),
          headHash: latest.headHash,
          at: new Date(latest.at).toISOString(),
          keyId: latest.keyId,
          signatureValid: this.checkpoints.signatureValid(latest),
        }
      : null;
    const perRun = await Promise.all(
      runs.map(async (run) => {
        const ids = [run.id, run.mountId, run.reservationId].filter((id): id is string => id !== null && id !== undefined);
        const [lastSeq, pending] = await Promise.all([this.audit.lastSeqOf(ids), this.audit.pendingOf(ids)]);
        return { label: run.label, lastSeq, pending };
      }),
    );
    return { checkpoint, runs: perRun };
  }

  async render(principal: Principal, ids: readonly string[], format: ReportFormatName, field = 'ids'): Promise<string> {
    const model = await this.model(principal, ids, field);
    return format === 'md' ? renderReportMarkdown(model) : renderReportHtml(model);
  }

  async model(principal: Principal, ids: readonly string[], field = 'ids'): Promise<ReportModel> {
    const { runs, summaries, verdicts, shared } = await this.evaluation.compare(principal, ids, field);
    const predictions = await this.evaluation.predictions(runs, summaries);
    const mountIds = runs.map((r) => r.mountId).filter((id): id is string => id !== null);
    const mounts = new Map((mountIds.length ? await this.mounts.mountsByIds(mountIds) : []).map((m) => [m.id, m]));
    const custody = await this.mountProtection.proofsOfMounts(mountIds);
    const code = (id: string) => shared.sites.get(id)?.code ?? id;
    const reportRuns = await Promise.all(
      runs.map(async (run): Promise<ReportRun> => {
        const summary = summaries.get(run.id)!;
        const [stepSeries, powerSeries] = await Promise.all([this.series.stepSample(run.id, STEP_POINTS), this.power(run, summary)]);
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
          times: {
            read: summary.readSecondsWithPreparation,
            gpu: summary.gpu.totalSeconds,
            save: summary.save.totalSeconds,
            preparation: summary.preparationSeconds,
            training: summary.trainingSeconds,
          },
          perStep: {
            readP50: summary.read.p50Seconds ?? 0,
            readP99: summary.read.p99Seconds ?? 0,
            gpuP50: summary.gpu.p50Seconds ?? 0,
            gpuP99: summary.gpu.p99Seconds ?? 0,
            saveP50: summary.save.p50Seconds ?? 0,
            saveP99: summary.save.p99Seconds ?? 0,
          },
          storage: summary.storage.map((s) => ({
            direction: s.direction === 'READ' ? 'read' : 'write',
            throughputMBps: s.throughputMBps,
            latencyMs: s.latencyMs ?? Number.NaN,
          })),
          energy: summary.energy.map((e) => ({ equipment: e.equipment, kind: e.kind, site: code(e.siteId), kwh: e.itKwh, basis: e.basis })),
          sites: summary.sites.map((s) => ({ site: code(s.siteId), pue: s.pue, kwh: s.kwh })),
          costs: [...summary.costs.map((c) => ({ item: c.item, usd: c.usd })), { item: 'total', usd: summary.costUsd }],
          logs: { lines: Number(run.logLineCount), errors: Number(run.logErrorCount), warnings: Number(run.logWarnCount) },
          prediction: predictionOf(predictions.get(run.id) ?? null),
          stepSeries: stepSeries.map((s) => s.seconds),
          powerSeries,
          security: (() => {
            const mount = run.mountId ? (mounts.get(run.mountId) ?? null) : null;
            const held = mount ? (custody.get(mount.id) ?? null) : null;
            return securityText(
              run,
              mount,
              mount
                ? {
                    standings: this.mountProtection.standings(mount),
                    proof: held?.proof ?? null,
                    keyDestroyedAt: held?.record.keyDestroyedAt ?? null,
                  }
                : null,
            );
          })(),
        };
      }),
    );
    return {
      title: `PoC report: ${runs.length} measured run${runs.length > 1 ? 's' : ''} (${[...new Set(runs.map((r) => r.modelName))].join(', ')})`,
      generatedAt: new Date().toISOString(),
      runs: reportRuns,
      verdicts,
      audit: await this.auditEvidence(runs),
    };
  }

  /** Watts over the run per piece of equipment, in at most POWER_POINTS spans. */
  private async power(run: TrainingRunEntity, summary: RunSummary): Promise<ReportRun['powerSeries']> {
    if (Number(run.powerSampleCount) === 0) return [];
    const start = run.startedAt ?? null;
    const end = run.finishedAt ?? run.lastStepEndAt ?? null;
    if (!start || !end || end <= start) return [];
    const from = new Date(start.getTime() - summary.preparationSeconds * 1000);
    return this.series.powerPoints(run.id, from, end, POWER_POINTS);
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

/** What the report knows of a run's mount beyond its profile: the measures' standings and the proof of deletion. */
export interface MountEvidence {
  standings: MeasureStanding[];
  proof: CustodyProof | null;
  keyDestroyedAt: Date | null;
}

const when = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** What the signed attestations prove about the places the bytes reached, said plainly. */
function deletionText(evidence: MountEvidence, copy: boolean): string {
  const proof = evidence.proof;
  if (!proof) return 'no bytes reached the data center through the mount (it never attached)';
  const gpu = proof.places.filter((p) => p.kind === 'GPU_NODE');
  const attested = gpu.filter((p) => p.attestedAt !== null);
  const refused = proof.attestations.filter((a) => !a.valid).length;
  const parts = [
    gpu.length === 0
      ? 'no GPU node'
      : attested.length === gpu.length
        ? `all ${gpu.length} GPU node(s) attested (Ed25519, after the detach) that the mount was unmounted, the page cache dropped and scratch wiped`
        : `not proven on the GPU nodes: ${attested.length} of ${gpu.length} attested unmount, page-cache drop and scratch wipe (missing: ${gpu
            .filter((p) => !p.attestedAt)
            .map((p) => p.name)
            .join(', ')})`,
  ];
  if (copy) {
    const node = proof.places.find((p) => p.kind === 'STORAGE_SYSTEM');
    parts.push(
      node?.attestedAt
        ? `${node.name} attested the copy destroyed at ${when(node.attestedAt)}`
        : `not proven: ${node?.name ?? 'the DC node'} has not attested the copy destroyed`,
    );
  }
  if (refused > 0) parts.push(`${refused} attestation(s) refused (bad signature, wrong node or too early)`);
  return parts.join('; ');
}

/**
 * The PoC Reference's three places of data, each with the measures in force or, plainly, none. The run
 * records the measures; its mount (where it names one) says how the GPU nodes reached the data.
 */
export function securityText(
  run: TrainingRunEntity,
  mount: MountEntity | null,
  evidence: MountEvidence | null = null,
): ReportRun['security'] {
  const has = (m: SecurityMeasure) => run.securityMeasures.includes(m);
  const copy = run.design === StorageDesign.REPLICATION ? 'the replica' : run.design === StorageDesign.CACHE ? 'the cache' : null;
  const statement = (measure: string) => evidence?.standings.find((s) => s.measure === measure)?.statement;
  const deletion = mount && evidence ? `; deletion: ${deletionText(evidence, copy !== null)}` : '';
  const inUse = 'data in use on the GPU nodes: no isolation measure (confidential computing) in force';
  const inDataCenter = copy
    ? has(SecurityMeasure.AT_REST_ENCRYPTION)
      ? `${copy} encrypted at rest (AT_REST_ENCRYPTION${mount ? ': a per-mount AES-256 data key wrapped by the key-encryption key' : ''})${evidence?.keyDestroyedAt ? `, its key destroyed at ${when(evidence.keyDestroyedAt)} (crypto-erase)` : ''}; ${inUse}${deletion}`
      : `not applied: ${copy} at the data center is not encrypted at rest, and no measure protects data in use on the GPU nodes${deletion}`
    : `no copy rests at the data center (DIRECT); ${inUse}${deletion}`;
  const link =
    run.connectionKind === RunConnectionKind.APN
      ? 'the lightpath'
      : run.connectionKind === RunConnectionKind.INTERNET
        ? 'the Internet link'
        : 'the site network';
  const via = mount ? ` (mount ${mount.id}: ${mount.protocol === 'NFS_RDMA' ? 'NFS over RDMA' : 'NFSv4.2 over TCP'}, ${mount.design})` : '';
  const motion = [
    has(SecurityMeasure.NFS_KRB5P) ? `Kerberos privacy (sec=krb5p)${statement('NFS_KRB5P') ? ` — ${statement('NFS_KRB5P')}` : ''}` : null,
    has(SecurityMeasure.NFS_TLS) ? `RPC-with-TLS (RFC 9289)${statement('NFS_TLS') ? ` — ${statement('NFS_TLS')}` : ''}` : null,
    has(SecurityMeasure.LINK_ENCRYPTION)
      ? `encrypting transponders on the lightpath${statement('LINK_ENCRYPTION') ? ` — ${statement('LINK_ENCRYPTION')}` : ''}`
      : null,
  ].filter((x): x is string => x !== null);
  const notInForce = [
    !has(SecurityMeasure.NFS_KRB5P) && !has(SecurityMeasure.NFS_TLS) ? 'no end-to-end RPC encryption (neither krb5p nor TLS)' : null,
    run.connectionKind === RunConnectionKind.APN && !has(SecurityMeasure.LINK_ENCRYPTION) ? 'no link encryption' : null,
  ].filter((x): x is string => x !== null);
  const inMotion =
    motion.length > 0
      ? `${motion.join('; ')}${via}${notInForce.length ? `; not in force: ${notInForce.join(', ')}` : ''}`
      : `not applied: sec=sys over an unencrypted ${link.replace(/^the /, '')}${via}`;
  const atOffice = mount
    ? `the office export admits only the allocation's node addresses (root_squash, nftables)${has(SecurityMeasure.NFS_KRB5P) ? ' and authenticates them with Kerberos' : has(SecurityMeasure.NFS_TLS) ? ' and authenticates them with client certificates valid for the allocation only' : ', without authenticating them (sec=sys)'}; encryption of the office storage itself is not recorded with the run`
    : 'not recorded with the run: the office storage’s own protection is outside the measures a run records';
  return { inDataCenter, inMotion, atOffice };
}
