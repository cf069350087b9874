import { TenancyService } from '../tenancy/tenancy.service';
import { Injectable, Logger } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { badInput, forbidden, pgErrorCode } from '../core/errors/app-error';
import { isUuid } from '../core/ids';
import type { Principal } from '../tenancy/principal';
import { RateCardEntity } from './metering.entities';
import { DEFAULT_RATE_CARD, RateCard, RatedUsage, RatingError, UsageRecord, rate, rateCardPricesProblem, selectRateCard } from './rating';
import {
  Rejection,
  USAGE_BOUNDS,
  UsageEventInputShape,
  UsageRow,
  claimedServiceResource,
  isRejection,
  validateUsageEvent,
} from './usage-events';
import { WebhookService } from '../webhooks/webhook.service';
import { StoreRefusal, isRowDataError, storeFailureReason } from './usage-store';
import { InvoiceGroupRow, UsageRepository } from './usage.repository';
import { RateCardsRepository } from './rate-cards.repository';
import { isTenantKey } from '../core/visibility';

export const MAX_BATCH = USAGE_BOUNDS.eventsPerCall;

export enum UsageGroupBy {
  METER = 'METER',
  DAY = 'DAY',
  RESOURCE = 'RESOURCE',
  DISTANCE_CLASS = 'DISTANCE_CLASS',
  DESIGN = 'DESIGN',
  TENANT = 'TENANT',
}

const GROUP_COLUMNS: Record<UsageGroupBy, string> = {
  [UsageGroupBy.METER]: 'type',
  [UsageGroupBy.DAY]: `(date_trunc('day', time AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')`,
  [UsageGroupBy.RESOURCE]: 'resource_id',
  [UsageGroupBy.DISTANCE_CLASS]: 'distance_class',
  [UsageGroupBy.DESIGN]: 'design',
  [UsageGroupBy.TENANT]: 'tenant_id',
};

export interface UsageTotalRow {
  meter: string;
  day: Date | null;
  resourceId: string | null;
  distanceClass: string | null;
  design: string | null;
  tenantId: string | null;
  quantity: string;
  events: number;
}

export interface InvoicePreviewResult {
  tenantId: string;
  period: string;
  from: Date;
  to: Date;
  rated: RatedUsage;
  events: number;
}

/** A row the store refused: its position in the rows given, the field below `events[i]` ('' for the whole event), why. */
interface StoreRejection {
  position: number;
  field: string;
  reason: string;
}

const PERIOD = /^(\d{4})-(\d{2})$/;

/**
 * The UTC month `text` names as YYYY-MM, as [from, to), or why it is none. Its end must be an instant the
 * service accepts and answers (up to 9999-12-31), so months run from 1970-01 to 9999-11.
 */
export function invoicePeriod(text: string): { from: Date; to: Date } | { reason: string } {
  const match = PERIOD.exec(text);
  const year = match ? Number(match[1]) : NaN;
  const month = match ? Number(match[2]) : NaN;
  if (!match || month < 1 || month > 12 || year < 1970 || (year === 9999 && month === 12) || year > 9999) {
    return { reason: 'must be a month from 1970-01 to 9999-11 as YYYY-MM (UTC), e.g. 2026-11' };
  }
  return { from: new Date(Date.UTC(year, month - 1, 1)), to: new Date(Date.UTC(year, month, 1)) };
}

/** Ingest, rate cards, usage totals and invoice previews. */
@Injectable()
export class BillingService {
  private readonly log = new Logger(BillingService.name);
  private readonly knownTenants = new Set<string>();

  constructor(
    private readonly usageEvents: UsageRepository,
    private readonly cards: RateCardsRepository,
    private readonly webhooks: WebhookService,
    private readonly tenancy: TenancyService,
  ) {}

  /**
   * Keeps the good events of a batch, names each bad one; a (source, id) already stored is a duplicate.
   * Events are checked in memory and inserted in one statement; should PostgreSQL still refuse the batch
   * for a value in it, the events are inserted one by one so that only the bad ones are lost.
   */
  async record(events: readonly UsageEventInputShape[]): Promise<{ accepted: number; duplicates: number; rejected: Rejection[] }> {
    if (events.length > MAX_BATCH) throw badInput('events', `send at most ${MAX_BATCH} events per call; split the batch`);
    const subjects = new Set<string>();
    for (const e of events)
      if (typeof e.subject === 'string' && !this.knownTenants.has(e.subject.toLowerCase())) subjects.add(e.subject.toLowerCase());
    const candidates = [...subjects].filter((s) => isUuid(s));
    if (candidates.length > 0) {
      for (const id of await this.tenancy.existing(candidates)) this.knownTenants.add(id);
    }
    const rows: UsageRow[] = [];
    const indices: number[] = [];
    const rejected: Rejection[] = [];
    events.forEach((e, i) => {
      const checked = validateUsageEvent(e, i, (id) => this.knownTenants.has(id));
      if (isRejection(checked)) rejected.push(checked);
      else {
        rows.push(checked);
        indices.push(i);
      }
    });
    const { written, refused } = await this.store(rows);
    for (const { position, field, reason } of refused)
      rejected.push({ index: indices[position], field: `events[${indices[position]}]${field}`, reason });
    rejected.sort((a, b) => a.index - b.index);
    await this.webhooks.publishUsageEvents(written);
    return { accepted: written.length, duplicates: rows.length - written.length - refused.length, rejected };
  }

  /**
   * Stores checked rows in one statement. Should PostgreSQL refuse the batch for a value in it anyway, the
   * rows are inserted one by one (lowest revision first, so that each series gets the owner the batch would
   * give it), and each row it refuses is named with a reason in the service's words.
   */
  private async store(rows: readonly UsageRow[]): Promise<{ written: Array<{ source: string; id: string }>; refused: StoreRejection[] }> {
    const claims = rows.map(claimedServiceResource);
    const refusal = (position: number, why: StoreRefusal) => ({ position, ...storeRefusalOf(rows[position], why) });
    try {
      const outcome = await this.usageEvents.insert(rows, claims);
      return { written: outcome.written, refused: outcome.refused.map((r) => refusal(r.position, r.refusal)) };
    } catch (error) {
      if (!isRowDataError(error)) throw error;
      this.log.warn(
        `PostgreSQL refused a batch of ${rows.length} usage events (SQLSTATE ${pgErrorCode(error)}); inserting them one by one`,
      );
    }
    const written: Array<{ source: string; id: string }> = [];
    const refused: StoreRejection[] = [];
    const order = rows.map((_, i) => i).sort((a, b) => rows[a].revision - rows[b].revision || a - b);
    for (const position of order) {
      try {
        const outcome = await this.usageEvents.insert([rows[position]], [claims[position]]);
        written.push(...outcome.written);
        for (const r of outcome.refused) refused.push(refusal(position, r.refusal));
      } catch (error) {
        if (!isRowDataError(error)) throw error;
        this.log.warn(
          `PostgreSQL refused usage event ${JSON.stringify(rows[position].id.slice(0, 200))} of ${JSON.stringify(rows[position].source.slice(0, 200))} ` +
            `(SQLSTATE ${pgErrorCode(error)}: ${(error as Error).message})`,
        );
        refused.push({ position, field: '', reason: storeFailureReason(error) });
      }
    }
    refused.sort((a, b) => a.position - b.position);
    return { written, refused };
  }

  /** The stored cards, with the reference card (version 1) first. */
  async rateCards(): Promise<Array<RateCard & { createdAt: Date | null }>> {
    const stored = await this.cards.all();
    return [{ ...DEFAULT_RATE_CARD, createdAt: null }, ...stored.map((s) => ({ ...toCard(s), createdAt: s.createdAt }))];
  }

  async createRateCard(input: { effectiveFrom: Date; prices: unknown }): Promise<RateCard & { createdAt: Date | null }> {
    const from = input.effectiveFrom;
    if (from.getUTCDate() !== 1 || from.getUTCHours() + from.getUTCMinutes() + from.getUTCSeconds() + from.getUTCMilliseconds() !== 0) {
      throw badInput(
        'input.effectiveFrom',
        'must be the first day of a month at 00:00 UTC (e.g. 2026-12-01T00:00:00Z), so that one card prices a whole invoice period',
      );
    }
    const prices = input.prices;
    const problem = rateCardPricesProblem(prices);
    if (problem) throw badInput(problem.field ? `input.prices.${problem.field}` : 'input.prices', problem.reason);
    return this.cards.transaction(async (m) => {
      const entity = Object.assign(new RateCardEntity(), {
        id: randomUUID(),
        version: await this.cards.nextVersion(m),
        effectiveFrom: from,
        currency: 'USD',
        prices: prices as Record<string, unknown>,
      });
      const card = toCard(entity);
      try {
        rate([], card);
      } catch (error) {
        if (error instanceof RatingError)
          throw badInput(error.field.replace(/^card\./, 'input.prices.'), error.message.replace(/^card\.[^:]*: /, ''));
        throw error;
      }
      const saved = await this.cards.save(entity, m);
      return { ...card, createdAt: saved.createdAt };
    });
  }

  /** Whose usage the caller may read: tenants their own, whatever they ask; others any, or all (null). */
  scope(p: Principal, tenantId: string | null | undefined): string | null {
    if (tenantId !== null && tenantId !== undefined && !isUuid(tenantId)) throw badInput('tenantId', 'must be a tenant id (a UUID)');
    if (isTenantKey(p)) {
      if (!p.tenantId) throw forbidden('This key belongs to no tenant.');
      return p.tenantId;
    }
    return tenantId ?? null;
  }

  async usage(
    p: Principal,
    args: { tenantId?: string | null; from: Date; to: Date; groupBy?: UsageGroupBy[] | null },
  ): Promise<UsageTotalRow[]> {
    if (args.to.getTime() <= args.from.getTime()) throw badInput('to', 'must be after from');
    const tenant = this.scope(p, args.tenantId);
    const groups = [...new Set([UsageGroupBy.METER, ...(args.groupBy ?? [])])];
    const columns = groups.map((g) => ({ expression: GROUP_COLUMNS[g], alias: `g_${g.toLowerCase()}` }));
    const rows = await this.usageEvents.totals(columns, args.from, args.to, tenant);
    return rows.map((r) => ({
      meter: r.g_meter as string,
      day: r.g_day ? new Date(r.g_day as Date) : null,
      resourceId: (r.g_resource as string | undefined) ?? null,
      distanceClass: (r.g_distance_class as string | undefined) ?? null,
      design: (r.g_design as string | undefined) ?? null,
      tenantId: (r.g_tenant as string | undefined) ?? null,
      quantity: trimDecimal(r.quantity as string),
      events: r.events as number,
    }));
  }

  /** Sums the period's latest revisions from the daily totals and rates the aggregates with the card in force at its start. */
  async invoicePreview(p: Principal, tenantId: string | null | undefined, period: string): Promise<InvoicePreviewResult> {
    const month = invoicePeriod(period);
    if ('reason' in month) throw badInput('period', month.reason);
    const tenant = this.scope(p, tenantId);
    if (!tenant) throw badInput('tenantId', 'name the tenant to invoice (BILLING and OPERATOR keys see every tenant)');
    const { from, to } = month;
    const cards = await this.rateCards();
    const card = selectRateCard(cards, from) ?? DEFAULT_RATE_CARD;
    const groups: InvoiceGroupRow[] = await this.usageEvents.invoiceGroups(
      tenant,
      from.toISOString().slice(0, 10),
      to.toISOString().slice(0, 10),
    );
    const records: UsageRecord[] = groups.map((g, i) => ({
      specversion: '1.0',
      id: `aggregate-${i}`,
      source: 'urn:apn:orchestrator:invoice',
      type: g.type,
      time: from.toISOString(),
      data: {
        quantity: g.quantity,
        ...(g.rate_gbps !== null ? { rateGbps: g.rate_gbps } : {}),
        ...(g.distance_class !== null ? { distanceClass: g.distance_class } : {}),
        ...(g.design !== null ? { design: g.design } : {}),
        ...(g.applies_to !== null ? { appliesTo: g.applies_to } : {}),
        // What part of the shadow energy the service computed from measured power.
        ...(g.type === 'energy.kwh' ? { basis: 'mixed', measuredQuantity: g.measured } : {}),
      },
    }));
    return { tenantId: tenant, period, from, to, rated: rate(records, card), events: groups.reduce((n, g) => n + g.events, 0) };
  }
}

/** The field and reason of a row the store refused. */
function storeRefusalOf(row: UsageRow, why: StoreRefusal): { field: string; reason: string } {
  switch (why) {
    case StoreRefusal.METERED_BY_SERVICE:
      return {
        field: '.data.resourceId',
        reason:
          `metered by the service: ${row.resourceId} is a reservation, mount or GPU allocation whose ${row.type} the service derives ` +
          'from its own records; reporting it again would bill it twice. Report external usage under a meter of your own namespace',
      };
    case StoreRefusal.OTHER_TENANT:
      return {
        field: '.subject',
        reason:
          `this ${row.type} series (source, data.resourceId, time) belongs to another tenant; a correction must name the tenant ` +
          'of the earlier revisions, the tenant that owns the resource',
      };
    default: {
      const unhandled: never = why;
      return unhandled;
    }
  }
}

function trimDecimal(text: string): string {
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}

function toCard(entity: RateCardEntity): RateCard {
  return {
    ...(entity.prices as unknown as Omit<RateCard, 'id' | 'version' | 'effectiveFrom' | 'currency'>),
    id: entity.id,
    version: entity.version,
    effectiveFrom: entity.effectiveFrom.toISOString(),
    currency: 'USD',
  };
}
