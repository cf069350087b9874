import { Controller, Inject, Post, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { AppError, ErrorCode, badInput, httpStatusOf } from '../core/errors/app-error';
import { isUuid } from '../core/ids';
import type { Principal } from '../tenancy/principal';
import { nameProblem, parseMicros } from './ingest/records';
import { NFSIOSTAT_BOUNDS } from './ingest/nfsiostat';
import { RunIngestService, UploadKind, UploadOptions, UploadStoppedError } from './run-ingest.service';
import { uploadContentType } from './upload-streams';

/** Query parameters of the uploads, each given at most once. */
function queryParam(request: FastifyRequest, name: string): string | null {
  const value = (request.query as Record<string, unknown>)[name];
  if (value === undefined) return null;
  if (typeof value !== 'string') throw badInput(name, `${name} must be given once.`);
  return value;
}

function uploadOptions(kind: UploadKind, request: FastifyRequest): UploadOptions {
  const options: UploadOptions = { format: null, node: '', firstReport: 0, startedAt: null, intervalSeconds: null };
  if (kind === 'steps') {
    const format = queryParam(request, 'format');
    const contentType = uploadContentType(request);
    if (format !== null && format !== 'ndjson' && format !== 'csv')
      throw badInput('format', 'format must be ndjson or csv (or left out: told from the content type, else from the first line).');
    options.format = format ?? (contentType === 'text/csv' ? 'csv' : /json/.test(contentType) ? 'ndjson' : null);
  }
  if (kind === 'nfsiostat') {
    const node = queryParam(request, 'node');
    if (node !== null) {
      const problem = nameProblem(node, 200);
      if (problem) throw badInput('node', `node ${problem}.`);
      options.node = node.trim();
    }
    const first = queryParam(request, 'firstReport');
    if (first !== null) {
      if (!/^\d{1,9}$/.test(first) || Number(first) > NFSIOSTAT_BOUNDS.maxReport)
        throw badInput('firstReport', `firstReport must be a whole number from 0 to ${NFSIOSTAT_BOUNDS.maxReport}.`);
      options.firstReport = Number(first);
    }
    const interval = queryParam(request, 'interval');
    if (interval !== null) {
      const seconds = Number(interval);
      if (!/^\d+(\.\d+)?$/.test(interval) || seconds <= 0 || seconds > 86_400)
        throw badInput('interval', 'interval must be the INTERVAL given to nfsiostat, in seconds (more than 0, at most 86400).');
      options.intervalSeconds = seconds;
    }
    const start = queryParam(request, 'start');
    if (start !== null) {
      const parsed = parseMicros(start);
      if (!parsed.ok) throw badInput('start', `start ${parsed.reason}.`);
      if (options.intervalSeconds === null) throw badInput('interval', 'interval is needed with start, to place each report in time.');
      options.startedAt = parsed.micros;
    }
  }
  return options;
}

/**
 * POST /runs/{id}/steps, /nfsiostat, /power and /logs: a run's data as the tools write it, streamed from the
 * request body (never held whole). The authentication hook has already put the caller on the request.
 * Answers `{ accepted, duplicates, rejected: [{ line, field, reason }], rejectedCount, lines, … }`; errors
 * answer `{ error: { code, message, field } }` with the HTTP status of the code, and when an upload stopped
 * part-way, with the counts of what was stored before.
 */
@Controller('runs')
export class RunUploadsController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly ingest: RunIngestService,
  ) {}

  @Post(':id/steps')
  steps(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.upload('steps', request, reply);
  }

  @Post(':id/nfsiostat')
  nfsiostat(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.upload('nfsiostat', request, reply);
  }

  @Post(':id/power')
  power(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.upload('power', request, reply);
  }

  @Post(':id/logs')
  logs(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.upload('logs', request, reply);
  }

  private async upload(kind: UploadKind, request: FastifyRequest, reply: FastifyReply): Promise<void> {
    try {
      const principal = (request as FastifyRequest & { principal?: Principal | null }).principal;
      if (!principal) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Not authenticated: send the header Authorization: Bearer <token>.');
      const id = (request.params as { id: string }).id;
      if (!isUuid(id)) throw badInput('id', `id must be a training run id (a UUID); got ${JSON.stringify(id.slice(0, 80))}.`);
      const options = uploadOptions(kind, request);
      const run = await this.ingest.target(principal, id);
      const declared = Number(request.headers['content-length'] ?? NaN);
      if (declared > this.config.runUploadMaxBytes) {
        // Refused before a byte is read.
        throw badInput(
          'body',
          `The upload announces ${declared} bytes; at most ${this.config.runUploadMaxBytes} are taken at once (APN_RUN_UPLOAD_MAX_BYTES). Split it.`,
        );
      }
      const body = request.body as AsyncIterable<Buffer> | undefined;
      const summary = await this.ingest.ingest(kind, run, body ?? emptyBody(), options);
      await reply.code(200).header('content-type', 'application/json; charset=utf-8').send(summary);
    } catch (error) {
      if (request.raw.destroyed && !(error instanceof AppError) && !(error instanceof UploadStoppedError)) {
        // The client went away mid-upload: what was stored stays; there is no one to answer.
        request.log.info({ err: error }, 'run upload aborted by the client');
        return;
      }
      const stopped = error instanceof UploadStoppedError ? error : null;
      const appError = stopped?.error ?? (error instanceof AppError ? error : null);
      const code = appError?.code ?? ErrorCode.INTERNAL;
      if (!appError) request.log.error({ err: error }, 'run upload failed');
      const field = appError?.extensions.field;
      // The rest of an unread body is not taken in: the connection closes after the answer.
      if (!request.raw.complete) reply.header('connection', 'close');
      await reply.code(httpStatusOf(code)).send({
        error: {
          code,
          message: appError?.message ?? 'The upload failed unexpectedly.',
          ...(field ? { field } : {}),
          ...(appError?.extensions.state ? { state: appError.extensions.state } : {}),
        },
        ...(stopped ? stopped.summary : {}),
      });
    }
  }
}

async function* emptyBody(): AsyncGenerator<Buffer> {}
