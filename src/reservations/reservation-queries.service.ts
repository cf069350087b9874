import { isUuid } from '../core/ids';
import { Injectable } from '@nestjs/common';
import DataLoader from 'dataloader';
import { AppError, ErrorCode, notFound } from '../core/errors/app-error';
import { decodeCursor, encodeCursor } from '../core/graphql/pagination';
import type { Principal } from '../tenancy/principal';
import { Role } from '../tenancy/tenancy.entities';
import { frequencyThz, FIBER_LATENCY_US_PER_KM } from '../topology/pce';
import { Endpoint, Link } from '../topology/topology.models';
import { TopologyService } from '../topology/topology.service';
import { ReservationEntity } from './reservation.entities';
import { Reservation, ReservationConnection, ReservationTransition } from './reservation.models';
import { ReservationState } from './reservation-state';
import { canSee, isTenantKey } from '../core/visibility';
import { ReservationsRepository } from './reservations.repository';

export interface ReservationFilter {
  first: number;
  after?: string | null;
  state?: ReservationState | null;
  tenantId?: string | null;
}

/** Reads of reservations, always scoped to what the caller may see. */
@Injectable()
export class ReservationQueries {
  constructor(
    private readonly reservations: ReservationsRepository,
    private readonly topology: TopologyService,
  ) {}

  async get(principal: Principal, id: string): Promise<ReservationEntity> {
    assertCanRead(principal);
    if (!isUuid(id)) throw notFound('Reservation', id);
    const r = await this.reservations.findById(id);
    if (!r || !canSee(principal, r.tenantId)) throw notFound('Reservation', id);
    return r;
  }

  /** Reservations by id, without a visibility check: for objects of the same tenant the caller could already see. */
  byIds(ids: readonly string[]): Promise<ReservationEntity[]> {
    return this.reservations.byIds(ids);
  }

  async list(principal: Principal, f: ReservationFilter): Promise<{ rows: ReservationEntity[]; hasNextPage: boolean }> {
    assertCanRead(principal);
    let tenantId: string | null | undefined;
    if (isTenantKey(principal)) tenantId = principal.tenantId;
    else if (f.tenantId) tenantId = isUuid(f.tenantId) ? f.tenantId : null;
    const after = f.after ? decodeCursor(f.after) : null;
    const rows = await this.reservations.page({ tenantId, state: f.state, after }, f.first + 1);
    return { rows: rows.slice(0, f.first), hasNextPage: rows.length > f.first };
  }

  async toModel(r: ReservationEntity, history: ReservationTransition[] = []): Promise<Reservation> {
    // Rendering only: endpoints and links are never deleted, so a snapshot checked a second ago is enough
    // unless it predates an object this reservation uses (imported moments ago through another replica).
    let snapshot = await this.topology.snapshot({ maxAgeMs: 1000 });
    const known = (s: typeof snapshot) =>
      s.endpoints.has(r.sourceEndpointId) && s.endpoints.has(r.destinationEndpointId) && r.pathLinkIds.every((id) => s.links.has(id));
    if (!known(snapshot)) snapshot = await this.topology.snapshot();
    const endpoint = (id: string) => {
      const e = snapshot.endpoints.get(id);
      if (!e) throw new Error(`reservation ${r.id} refers to missing endpoint ${id}`);
      return Endpoint.from(e);
    };
    return Object.assign(new Reservation(), {
      id: r.id,
      state: r.state,
      tenant: { id: r.tenantId },
      source: endpoint(r.sourceEndpointId),
      destination: endpoint(r.destinationEndpointId),
      rateGbps: r.rateGbps,
      start: r.startAt,
      end: r.endAt,
      channel: r.channel,
      frequencyThz: frequencyThz(r.channel),
      path: r.pathLinkIds.map((id) => {
        const link = snapshot.links.get(id);
        if (!link) throw new Error(`reservation ${r.id} refers to missing link ${id}`);
        return Link.from(link);
      }),
      distanceKm: r.distanceKm,
      rttMs: Math.round(2 * r.distanceKm * FIBER_LATENCY_US_PER_KM * 1000) / 1e6,
      linkEncryption: Boolean(
        snapshot.endpoints.get(r.sourceEndpointId)?.encryption && snapshot.endpoints.get(r.destinationEndpointId)?.encryption,
      ),
      holdExpiresAt: r.holdExpiresAt,
      idempotencyKey: r.idempotencyKey,
      createdAt: r.createdAt,
      history,
    });
  }

  async toConnection(page: { rows: ReservationEntity[]; hasNextPage: boolean }): Promise<ReservationConnection> {
    const edges = await Promise.all(page.rows.map(async (r) => ({ cursor: encodeCursor(r.createdAt, r.id), node: await this.toModel(r) })));
    return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  /** Batches the history of every reservation resolved in one request into one query. */
  historyLoader(): DataLoader<string, ReservationTransition[]> {
    return new DataLoader(async (ids) => {
      const rows = await this.reservations.history(ids);
      const byId = new Map<string, ReservationTransition[]>(ids.map((id) => [id, []]));
      for (const row of rows) {
        byId.get(row.reservation_id)?.push(
          Object.assign(new ReservationTransition(), {
            state: row.to_state,
            fromState: row.from_state,
            at: row.at,
            actor: row.actor,
            reason: row.reason,
          }),
        );
      }
      return ids.map((id) => byId.get(id) ?? []);
    });
  }
}

function assertCanRead(principal: Principal): void {
  if (principal.role === Role.BILLING) {
    throw new AppError(ErrorCode.FORBIDDEN, 'Billing keys read usage and invoices, not reservations.');
  }
}
