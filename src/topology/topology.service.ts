import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { badInput, pgErrorCode, PgErrorCode } from '../core/errors/app-error';
import type { Principal } from '../tenancy/principal';
import { PathComputer } from './pce';
import { parseTopologyDocument, TopologyDocument } from './topology-document';
import { EndpointEntity, LinkEntity, NodeEntity, SiteEntity } from './topology.entities';
import { TopologyRepository } from './topology.repository';

/** How stale a snapshot may be for reads: a replica may lag an import by this much (as bookings, which re-check). */
const REQUEST_SNAPSHOT_MAX_AGE_MS = 1000;

/** An immutable view of the topology at one revision, with its path computer. */
export class TopologySnapshot {
  readonly nodes = new Map<string, NodeEntity>();
  readonly sites = new Map<string, SiteEntity>();
  readonly links = new Map<string, LinkEntity>();
  readonly endpoints = new Map<string, EndpointEntity>();
  readonly sitesByNode = new Map<string, SiteEntity>();
  readonly endpointsBySite = new Map<string, EndpointEntity[]>();
  readonly pathComputer: PathComputer;

  constructor(
    readonly revision: string,
    nodes: NodeEntity[],
    sites: SiteEntity[],
    links: LinkEntity[],
    endpoints: EndpointEntity[],
  ) {
    for (const n of nodes) this.nodes.set(n.id, n);
    for (const s of sites) {
      this.sites.set(s.id, s);
      if (s.nodeId) this.sitesByNode.set(s.nodeId, s);
    }
    for (const l of links) this.links.set(l.id, l);
    for (const e of endpoints) {
      this.endpoints.set(e.id, e);
      const list = this.endpointsBySite.get(e.siteId) ?? [];
      list.push(e);
      this.endpointsBySite.set(e.siteId, list);
    }
    this.pathComputer = new PathComputer(
      nodes.map((n) => ({ id: n.id })),
      links.map((l) => ({ id: l.id, a: l.aNodeId, b: l.bNodeId, lengthKm: l.lengthKm, channelCount: l.channelCount })),
    );
  }

  nodeOfEndpoint(endpoint: EndpointEntity): string | null {
    return this.sites.get(endpoint.siteId)?.nodeId ?? null;
  }
}

export interface ImportSummary {
  revision: string;
  nodes: number;
  sites: number;
  links: number;
  endpoints: number;
}

/**
 * The topology: import (one transaction, all or nothing) and a cached snapshot that every replica
 * refreshes when the revision in the database moves on.
 */
@Injectable()
export class TopologyService {
  private readonly logger = new Logger(TopologyService.name);
  private cached: TopologySnapshot | null = null;
  private checkedAt = 0;
  private loading: Promise<TopologySnapshot> | null = null;
  private checking: Promise<TopologySnapshot> | null = null;

  constructor(
    private readonly repository: TopologyRepository,
    private readonly audit: AuditService,
  ) {}

  /**
   * The current snapshot. Bookings check the revision every time; callers that only render names and
   * lengths of objects they already hold may accept one checked within `maxAgeMs`. Callers that arrive
   * while a revision check is in flight share it, so a burst of reads costs one query, not one each.
   */
  async snapshot(options: { maxAgeMs?: number } = {}): Promise<TopologySnapshot> {
    if (this.cached && options.maxAgeMs && Date.now() - this.checkedAt <= options.maxAgeMs) return this.cached;
    this.checking ??= this.check().finally(() => (this.checking = null));
    return this.checking;
  }

  /**
   * The snapshot of one GraphQL request, read once and shared by every field it resolves: a response
   * describes one revision, and nesting (sites → endpoints → site → …) costs no query per level.
   */
  forRequest(context: { loaders?: Record<string, unknown> }): Promise<TopologySnapshot> {
    const loaders = (context.loaders ??= {});
    return ((loaders.topologySnapshot as Promise<TopologySnapshot> | undefined) ??= this.snapshot({
      maxAgeMs: REQUEST_SNAPSHOT_MAX_AGE_MS,
    }));
  }

  private async check(): Promise<TopologySnapshot> {
    const checkedAt = Date.now();
    const revision = await this.repository.revision();
    if (this.cached?.revision === revision) {
      this.checkedAt = checkedAt;
      return this.cached;
    }
    if (!this.loading) {
      this.loading = this.load(revision).finally(() => (this.loading = null));
    }
    return this.loading;
  }

  private async load(revision: string): Promise<TopologySnapshot> {
    const { nodes, sites, links, endpoints } = await this.repository.all();
    this.cached = new TopologySnapshot(revision, nodes, sites, links, endpoints);
    this.checkedAt = Date.now();
    return this.cached;
  }

  isEmpty(): Promise<boolean> {
    return this.repository.isEmpty();
  }

  /**
   * Imports a document: new codes are created, known codes updated in place. A link's channel count may
   * not drop below a channel that an allocation still holds.
   */
  async importTopology(input: unknown, principal: Pick<Principal, 'actor'>): Promise<ImportSummary> {
    const doc = parseTopologyDocument(input);
    let summary: ImportSummary;
    try {
      summary = await this.repository.transaction((m) => this.write(m, doc, principal.actor));
    } catch (error) {
      throw tapiUuidConflict(error) ?? error;
    }
    // This process reads its own import at once; other replicas within REQUEST_SNAPSHOT_MAX_AGE_MS.
    this.checkedAt = 0;
    this.logger.log({ ...summary, actor: principal.actor }, 'topology imported');
    return summary;
  }

  private async write(m: EntityManager, doc: TopologyDocument, actor: string): Promise<ImportSummary> {
    // Bookings in flight finish first and new ones wait, so none is written against the old link
    // capacities once this import commits (each booking's insert re-checks the topology revision).
    await this.repository.lockLinkAllocations(m);
    const nodeIds = await this.repository.upsert(
      m,
      'nodes',
      ['code', 'name', 'tapi_node_uuid'],
      doc.nodes.map((n) => [n.code, n.name, n.tapiNodeUuid ?? null]),
    );
    const siteIds = await this.repository.upsert(
      m,
      'sites',
      ['code', 'name', 'kind', 'node_id', 'pue', 'grid_carbon_kg_per_kwh', 'energy_price_per_kwh', 'renewable_share'],
      doc.sites.map((s) => [
        s.code,
        s.name,
        s.kind,
        nodeIds.get(s.node),
        s.pue,
        s.gridCarbonKgPerKwh,
        s.energyPricePerKwh,
        s.renewableShare,
      ]),
    );
    for (const [i, l] of doc.links.entries()) {
      const inUse = await this.repository.highestAllocatedChannel(m, l.code, l.channelCount);
      if (inUse !== null) {
        throw badInput(
          `document.links[${i}] (${l.code}).channelCount`,
          `document.links[${i}] (${l.code}).channelCount: channel ${inUse} is still allocated on this link; ` +
            `keep channelCount above it or release those reservations first. Nothing was imported.`,
        );
      }
    }
    await this.repository.upsert(
      m,
      'links',
      ['code', 'a_node_id', 'b_node_id', 'length_km', 'channel_count', 'tapi_link_uuid'],
      doc.links.map((l) => [l.code, nodeIds.get(l.a), nodeIds.get(l.b), l.lengthKm, l.channelCount, l.tapiLinkUuid ?? null]),
    );
    await this.repository.upsert(
      m,
      'endpoints',
      ['code', 'site_id', 'rate_gbps', 'tapi_service_interface_point_uuid', 'encryption'],
      doc.endpoints.map((e) => [e.code, siteIds.get(e.site), e.rateGbps, e.tapiServiceInterfacePointUuid ?? null, e.encryption ?? false]),
    );
    const summary: ImportSummary = {
      revision: await this.repository.addRevision(m, doc.name, actor),
      nodes: doc.nodes.length,
      sites: doc.sites.length,
      links: doc.links.length,
      endpoints: doc.endpoints.length,
    };
    await this.audit.append(m, {
      actor,
      action: 'topology.imported',
      entityType: 'topology',
      entityId: summary.revision,
      data: { name: doc.name, ...summary },
    });
    return summary;
  }
}

const TAPI_UUID_CONSTRAINTS: Record<string, string> = {
  nodes_tapi_node_uuid_key: 'tapiNodeUuid',
  links_tapi_link_uuid_key: 'tapiLinkUuid',
  endpoints_tapi_service_interface_point_uuid_key: 'tapiServiceInterfacePointUuid',
};

/**
 * A TAPI uuid the document gives one item while an item the document leaves out still holds it: the
 * deferred unique constraint fails at commit. Said as a user error, naming the field and the value.
 */
function tapiUuidConflict(error: unknown): Error | null {
  if (pgErrorCode(error) !== PgErrorCode.UNIQUE_VIOLATION) return null;
  const e = error as { constraint?: unknown; detail?: unknown; driverError?: { constraint?: unknown; detail?: unknown } };
  const text = (value: unknown): string => (typeof value === 'string' ? value : '');
  const constraint = text(e.driverError?.constraint ?? e.constraint);
  const field = TAPI_UUID_CONSTRAINTS[constraint];
  if (!field) return null;
  const detail = text(e.driverError?.detail ?? e.detail);
  const value = /=\((.*)\)/.exec(detail)?.[1];
  return badInput(
    `document.${field}`,
    `document: ${field} ${value ?? ''} is already mapped to an item this document does not list; ` +
      'give that item another uuid (or list it without one) in the same document. Nothing was imported.',
  );
}
