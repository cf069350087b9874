import { Controller, Get, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ErrorCode, badInput, httpStatusOf } from '../core/errors/app-error';
import { isUuid } from '../core/ids';
import type { Principal } from '../tenancy/principal';
import { MAX_COMPARED_RUNS } from './run-evaluation.service';
import { RunReportService } from './run-report.service';

/**
 * GET /runs/report?ids=<id>,<id>…&format=html|md: the PoC report of runs the caller may see, the same
 * document as the runsReport query. Errors answer `{ error: { code, message, field } }` with the HTTP
 * status of the code, as the uploads do.
 */
@Controller('runs')
export class RunReportController {
  constructor(private readonly reports: RunReportService) {}

  @Get('report')
  async report(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    try {
      const principal = (request as FastifyRequest & { principal?: Principal | null }).principal;
      if (!principal) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Not authenticated: send the header Authorization: Bearer <token>.');
      const query = request.query as Record<string, unknown>;
      for (const name of Object.keys(query)) {
        if (name !== 'ids' && name !== 'format') throw badInput(name, `${name} is not a parameter of /runs/report; give ids and format.`);
        if (typeof query[name] !== 'string') throw badInput(name, `${name} must be given once.`);
      }
      const format = (query.format as string | undefined) ?? 'html';
      if (format !== 'html' && format !== 'md') throw badInput('format', 'format must be html or md.');
      const text = (query.ids as string | undefined) ?? '';
      if (text.length > MAX_COMPARED_RUNS * 37) throw badInput('ids', `ids: at most ${MAX_COMPARED_RUNS} run ids, separated by commas.`);
      const ids = text
        .split(',')
        .map((id) => id.trim())
        .filter((id) => id !== '');
      const malformed = ids.find((id) => !isUuid(id));
      if (malformed !== undefined)
        throw badInput('ids', `ids must be training run ids (UUIDs) separated by commas; got ${JSON.stringify(malformed.slice(0, 80))}.`);
      const document = await this.reports.render(principal, ids, format, 'ids');
      await reply
        .code(200)
        .header('content-type', format === 'md' ? 'text/markdown; charset=utf-8' : 'text/html; charset=utf-8')
        .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
        .header('cache-control', 'no-store')
        .send(document);
    } catch (error) {
      const appError = error instanceof AppError ? error : null;
      if (!appError) request.log.error({ err: error }, 'run report failed');
      const code = appError?.code ?? ErrorCode.INTERNAL;
      const field = appError?.extensions.field;
      await reply
        .code(httpStatusOf(code))
        .send({ error: { code, message: appError?.message ?? 'The report failed unexpectedly.', ...(field ? { field } : {}) } });
    }
  }
}
