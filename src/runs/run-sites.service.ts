import { Injectable } from '@nestjs/common';
import { badInput } from '../core/errors/app-error';
import { ReservationEntity } from '../reservations/reservation.entities';
import { StorageResources } from '../storage/storage-resources.service';
import { DatasetEntity, GpuAllocationEntity } from '../storage/storage.entities';
import { TopologyService, TopologySnapshot } from '../topology/topology.service';
import { RunConnectionKind } from './run.entities';
import type { CreateTrainingRunInput } from './run.models';

export interface RunSiteIds {
  gpuSiteId: string;
  storageSiteId: string;
}

/** What the sites of a run are decided from: the input, and where its allocation's cluster and its dataset are. */
interface Placement {
  readonly input: CreateTrainingRunInput;
  readonly clusterSite: string | null;
  readonly datasetSite: string | null;
  /** A site's code, for messages. */
  readonly code: (id: string | null | undefined) => string;
}

/**
 * Where a run's GPUs ran and where its data was read from. APN: the lightpath's destination and source,
 * which the allocation's cluster and the dataset's server must be at. INTERNET: as given, else the
 * allocation's cluster site and the dataset's storage site. LOCAL: one site for both.
 */
@Injectable()
export class RunSites {
  constructor(
    private readonly topology: TopologyService,
    private readonly storage: StorageResources,
  ) {}

  async sites(
    input: CreateTrainingRunInput,
    kind: RunConnectionKind,
    reservation: ReservationEntity | null,
    dataset: DatasetEntity | null,
    allocation: GpuAllocationEntity | null,
  ): Promise<RunSiteIds> {
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
    const placement: Placement = { input, clusterSite, datasetSite, code };
    if (kind === RunConnectionKind.APN) return this.lightpathSites(placement, snapshot, reservation as ReservationEntity);
    if (kind === RunConnectionKind.INTERNET) return internetSites(placement);
    return localSites(placement);
  }

  /** APN: the GPUs at the lightpath's destination, the data at its source. */
  private async lightpathSites(p: Placement, snapshot: TopologySnapshot, r: ReservationEntity): Promise<RunSiteIds> {
    const source =
      snapshot.endpoints.get(r.sourceEndpointId)?.siteId ?? (await this.topology.snapshot()).endpoints.get(r.sourceEndpointId)?.siteId;
    const destination =
      snapshot.endpoints.get(r.destinationEndpointId)?.siteId ??
      (await this.topology.snapshot()).endpoints.get(r.destinationEndpointId)?.siteId;
    if (!source || !destination) throw new Error(`reservation ${r.id} refers to endpoints missing from the topology`);
    const { input, code } = p;
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
    agreeGpus(p, destination);
    agreeData(p, source);
    return { gpuSiteId: destination, storageSiteId: source };
  }
}

/** INTERNET: the sites as given, else those of the allocation's cluster and of the dataset's storage. */
function internetSites(p: Placement): RunSiteIds {
  const gpuSiteId = p.input.gpuSiteId ?? p.clusterSite;
  const storageSiteId = p.input.storageSiteId ?? p.datasetSite;
  if (!gpuSiteId) throw badInput('input.gpuSiteId', 'input.gpuSiteId: give the GPU site, or a gpuAllocationId whose cluster is there.');
  if (!storageSiteId)
    throw badInput('input.storageSiteId', 'input.storageSiteId: give the storage site, or a datasetId whose storage is there.');
  agreeGpus(p, gpuSiteId);
  agreeData(p, storageSiteId);
  return { gpuSiteId, storageSiteId };
}

/** LOCAL: one site; a dataset of the office may have been copied next to the GPUs, so its own site does not decide. */
function localSites(p: Placement): RunSiteIds {
  const { input, code } = p;
  const gpuSiteId = input.gpuSiteId ?? p.clusterSite ?? input.storageSiteId ?? p.datasetSite;
  if (!gpuSiteId) throw badInput('input.gpuSiteId', 'input.gpuSiteId: give the site where the GPUs and the data were.');
  const storageSiteId = input.storageSiteId ?? gpuSiteId;
  if (storageSiteId !== gpuSiteId) {
    throw badInput(
      'input.storageSiteId',
      `input.storageSiteId: a LOCAL run reads data at the GPUs' site (${code(gpuSiteId)}), not at ${code(storageSiteId)}; use INTERNET or APN.`,
    );
  }
  agreeGpus(p, gpuSiteId);
  return { gpuSiteId, storageSiteId };
}

/** The allocation's GPU cluster, when the run names one, is where the run's GPUs are. */
function agreeGpus(p: Placement, expected: string): void {
  agree(p, 'input.gpuAllocationId', 'the allocation’s GPU cluster', p.clusterSite, expected, 'GPUs');
}

/** The dataset's storage, when the run names one, is where the run's data is. */
function agreeData(p: Placement, expected: string): void {
  agree(p, 'input.workload.datasetId', 'the dataset’s storage', p.datasetSite, expected, 'data');
}

function agree(p: Placement, field: string, what: string, site: string | null, expected: string, where: 'GPUs' | 'data'): void {
  if (site !== null && site !== expected)
    throw badInput(field, `${field}: ${what} is at site ${p.code(site)}, but the run's ${where} are at ${p.code(expected)}.`);
}
