import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { formatSeconds, windowProblem } from '../core/time';
import { badInput } from '../core/errors/app-error';
import { Link } from '../topology/topology.models';
import { TopologyService, TopologySnapshot } from '../topology/topology.service';
import { CapacityRepository } from './capacity.repository';
import { Availability, AvailabilityInput } from './reservation.models';

const DEFAULT_SEARCH_DAYS = 30;

/** "How many lightpaths still fit, and from when does one fit?" for an endpoint pair or a site pair. */
@Injectable()
export class AvailabilityService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly capacity: CapacityRepository,
    private readonly topology: TopologyService,
  ) {}

  async availability(input: AvailabilityInput): Promise<Availability> {
    if (input.start.getTime() >= input.end.getTime()) {
      throw badInput('input.end', `end (${input.end.toISOString()}) must be after start (${input.start.toISOString()}).`);
    }
    const unbounded = windowProblem({ start: 'input.start', end: 'input.end' }, input.start, input.end, this.config);
    if (unbounded) throw badInput(unbounded.field, unbounded.message);
    const snapshot = await this.topology.snapshot();
    const source = this.side(snapshot, 'source', input.sourceEndpointId, input.sourceSiteId, input.rateGbps);
    const destination = this.side(snapshot, 'destination', input.destinationEndpointId, input.destinationSiteId, input.rateGbps);
    if (source.siteId === destination.siteId) {
      throw badInput('input.destinationSiteId', 'Source and destination are at the same site; a lightpath joins two different sites.');
    }
    const durationMs = (input.durationSeconds ?? (input.end.getTime() - input.start.getTime()) / 1000) * 1000;
    if (!(durationMs > 0)) throw badInput('input.durationSeconds', 'durationSeconds must be positive.');
    if (durationMs > this.config.maxDurationSeconds * 1000) {
      throw badInput(
        'input.durationSeconds',
        `durationSeconds may be at most ${this.config.maxDurationSeconds} (APN_MAX_DURATION_S), the longest window one can book.`,
      );
    }
    const latest = Date.now() + this.config.maxAdvanceSeconds * 1000;
    const horizon = input.searchUntil?.getTime() ?? Math.min(latest, input.start.getTime() + DEFAULT_SEARCH_DAYS * 86_400_000);
    if (horizon > latest) {
      throw badInput(
        'input.searchUntil',
        `searchUntil may be at most ${formatSeconds(this.config.maxAdvanceSeconds)} ahead (APN_MAX_ADVANCE_S): no window can be booked beyond that.`,
      );
    }
    const window = { start: input.start.getTime(), end: input.end.getTime() };
    const searchWindow = { start: window.start, end: Math.max(horizon, window.end) };
    const endpointIds = [...source.endpointIds, ...destination.endpointIds];
    const occupancy = await this.capacity.occupancy(searchWindow, endpointIds);

    const pce = snapshot.pathComputer;
    const lightpaths = pce.countLightpaths({
      from: source.nodeId,
      to: destination.nodeId,
      window,
      occupancy,
      sourceEndpointIds: source.endpointIds,
      destinationEndpointIds: destination.endpointIds,
    });
    const earliest = pce.earliestStart({
      from: source.nodeId,
      to: destination.nodeId,
      durationMs,
      notBefore: window.start,
      horizon,
      occupancy,
      sourceEndpointIds: source.endpointIds,
      destinationEndpointIds: destination.endpointIds,
    });
    return Object.assign(new Availability(), {
      lightpaths,
      earliestStart: earliest ? new Date(earliest.start) : null,
      earliestEnd: earliest ? new Date(earliest.start + durationMs) : null,
      earliestPath: earliest
        ? earliest.path.linkIds.map((id) => Link.from(snapshot.links.get(id) as NonNullable<ReturnType<typeof snapshot.links.get>>))
        : null,
      earliestChannel: earliest ? earliest.path.channel : null,
    });
  }

  private side(
    snapshot: TopologySnapshot,
    side: 'source' | 'destination',
    endpointId: string | null | undefined,
    siteId: string | null | undefined,
    rateGbps: number,
  ): { siteId: string; nodeId: string; endpointIds: string[] } {
    const endpointField = `input.${side}EndpointId`;
    const siteField = `input.${side}SiteId`;
    if (!!endpointId === !!siteId) {
      throw badInput(endpointField, `Give exactly one of ${endpointField} and ${siteField}.`);
    }
    if (endpointId) {
      const endpoint = snapshot.endpoints.get(endpointId);
      if (!endpoint) throw badInput(endpointField, `${endpointField}: endpoint ${endpointId} does not exist.`);
      if (endpoint.rateGbps !== rateGbps) {
        throw badInput(endpointField, `${endpointField}: endpoint ${endpoint.code} runs at ${endpoint.rateGbps} Gbps, not ${rateGbps}.`);
      }
      const nodeId = snapshot.nodeOfEndpoint(endpoint);
      if (!nodeId) throw badInput(endpointField, `${endpointField}: the site of ${endpoint.code} is not attached to an APN node.`);
      return { siteId: endpoint.siteId, nodeId, endpointIds: [endpoint.id] };
    }
    const site = snapshot.sites.get(siteId as string);
    if (!site) throw badInput(siteField, `${siteField}: site ${siteId} does not exist.`);
    if (!site.nodeId) throw badInput(siteField, `${siteField}: site ${site.code} is not attached to an APN node.`);
    const endpointIds = (snapshot.endpointsBySite.get(site.id) ?? []).filter((e) => e.rateGbps === rateGbps).map((e) => e.id);
    return { siteId: site.id, nodeId: site.nodeId, endpointIds };
  }
}
