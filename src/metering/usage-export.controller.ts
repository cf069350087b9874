import { Controller, Get, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { AppError, ErrorCode, badInput, httpStatusOf } from '../core/errors/app-error';
import { isUuid } from '../core/ids';
import { parseInstant } from '../core/time';
import { AuthService } from '../tenancy/auth.service';
import { BillingService } from './billing.service';
import { ExportRow, UsageRepository } from './usage.repository';

const CSV_COLUMNS = [
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'revision',
  'quantity',
  'unit',
  'resourceId',
  'rateGbps',
  'distanceClass',
  'design',
  'site',
  'appliesTo',
  'data',
] as const;

/**
 * One CSV cell. Text from an external usage event that starts with = + - @ tab or carriage return would run
 * as a formula in a spreadsheet (CSV injection): it is prefixed with ' and quoted, as OWASP advises.
 */
const csvCell = (value: unknown): string => {
  if (value === undefined || value === null) return '';
  const text = typeof value === 'object' ? JSON.stringify(value) : `${value as string | number | boolean | bigint}`;
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) return `"'${text.replace(/"/g, '""')}"`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

function cloudEvent(r: ExportRow): Record<string, unknown> {
  return {
    specversion: '1.0',
    id: r.id,
    source: r.source,
    type: r.type,
    subject: r.subject,
    time: new Date(r.time).toISOString(),
    datacontenttype: 'application/json',
    revision: r.revision,
    data: r.data,
  };
}

function csvLine(r: ExportRow): string {
  const e = cloudEvent(r);
  const d = r.data;
  const values: Record<(typeof CSV_COLUMNS)[number], unknown> = {
    specversion: e.specversion,
    id: e.id,
    source: e.source,
    type: e.type,
    subject: e.subject,
    time: e.time,
    revision: e.revision,
    quantity: d.quantity,
    unit: d.unit,
    resourceId: d.resourceId,
    rateGbps: d.rateGbps,
    distanceClass: d.distanceClass,
    design: d.design,
    site: d.site,
    appliesTo: d.appliesTo,
    data: d,
  };
  return `${CSV_COLUMNS.map((c) => csvCell(values[c])).join(',')}\r\n`;
}

/** A client's instant, read strictly: a day that does not exist or a year outside 1970-9999 is refused, never rolled over. */
function dateParam(name: string, value: unknown): Date {
  if (typeof value !== 'string')
    throw badInput(name, 'must be given once, as an ISO-8601 date-time with a time zone, e.g. 2026-11-01T00:00:00Z');
  const parsed = parseInstant(value);
  if (!parsed.ok) throw badInput(name, `${name} ${parsed.reason}`);
  return parsed.date;
}

/**
 * GET /usage/export?tenantId=&from=&to=&format=csv|json: the latest revision of every usage event with
 * `time` in [from, to), streamed in pages of 5,000 read by keyset (tenant, time, source, id), so memory stays
 * flat however many there are. json is NDJSON, one CloudEvent per line; csv has a header row.
 */
@Controller()
export class UsageExportController {
  constructor(
    private readonly auth: AuthService,
    private readonly billing: BillingService,
    private readonly usageEvents: UsageRepository,
  ) {}

  @Get('usage/export')
  async export(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    try {
      const principal = await this.auth.authenticate(request.headers.authorization);
      const query = request.query as Record<string, unknown>;
      const format = query.format ?? 'json';
      if (format !== 'csv' && format !== 'json') throw badInput('format', 'must be csv or json (NDJSON)');
      const from = dateParam('from', query.from);
      const to = dateParam('to', query.to);
      if (to <= from) throw badInput('to', 'must be after from');
      if (query.tenantId !== undefined && typeof query.tenantId !== 'string')
        throw badInput('tenantId', 'must be given once, as a tenant id (a UUID)');
      const requested = typeof query.tenantId === 'string' && query.tenantId !== '' ? query.tenantId : null;
      if (requested !== null && !isUuid(requested)) throw badInput('tenantId', 'must be a tenant id (a UUID)');
      const tenant = this.billing.scope(principal, requested);
      // The first page is read before the answer starts, so that a failure is still answered with a status.
      const pages = this.usageEvents.exportPages(tenant, from, to);
      const first = await pages.next();
      const body = Readable.from(
        (async function* () {
          if (format === 'csv') yield `${CSV_COLUMNS.join(',')}\r\n`;
          if (first.done) return;
          const render = (page: ExportRow[]) =>
            page.map((r) => (format === 'csv' ? csvLine(r) : `${JSON.stringify(cloudEvent(r))}\n`)).join('');
          yield render(first.value);
          for await (const page of pages) yield render(page);
        })(),
      );
      const filename = `usage-${from.toISOString().slice(0, 10)}-${to.toISOString().slice(0, 10)}.${format === 'csv' ? 'csv' : 'ndjson'}`;
      await reply
        .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
        .header('content-disposition', `attachment; filename="${filename}"`)
        .send(body);
    } catch (error) {
      const appError = error instanceof AppError ? error : null;
      const code = appError?.code ?? ErrorCode.INTERNAL;
      if (!appError) request.log.error({ err: error }, 'usage export failed');
      await reply.code(httpStatusOf(code)).send({
        error: {
          code,
          message: appError?.message ?? 'The export failed unexpectedly.',
          ...(appError?.extensions.field ? { field: appError.extensions.field } : {}),
        },
      });
    }
  }
}
