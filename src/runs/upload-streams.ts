import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** The upload routes, as the router names them. */
export const UPLOAD_ROUTES: ReadonlySet<string> = new Set(['/runs/:id/steps', '/runs/:id/nfsiostat', '/runs/:id/power', '/runs/:id/logs']);

/** A content type no client sends: the one body parser that hands the request stream over unread. */
const STREAM = 'application/x-apn-upload-stream';

const declaredTypes = new WeakMap<object, string>();

/** The content type the client declared for an upload (lower case, without parameters), or ''. */
export function uploadContentType(request: FastifyRequest): string {
  return (declaredTypes.get(request.raw) ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * Lets the upload routes read their bodies as streams, whatever content type the client declares
 * (application/x-ndjson, text/csv, text/plain, or curl's default), while every other route keeps Fastify's
 * parsers and their size limit: before parsing, an upload's declared content type is set aside and replaced
 * by one whose parser passes the stream through untouched. That parser refuses any other route, as Fastify
 * refuses a type it has no parser for.
 */
@Injectable()
export class UploadStreams implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    // A worker has no HTTP server.
    const adapter = this.adapterHost.httpAdapter;
    if (!adapter) return;
    const fastify = adapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', async (request) => {
      if (!UPLOAD_ROUTES.has(request.routeOptions.url ?? '')) return;
      declaredTypes.set(request.raw, request.headers['content-type'] ?? '');
      request.headers['content-type'] = STREAM;
    });
    fastify.addContentTypeParser(STREAM, (request, payload, done) => {
      if (UPLOAD_ROUTES.has(request.routeOptions.url ?? '')) {
        done(null, payload);
        return;
      }
      done(
        Object.assign(new Error(`Unsupported Media Type: ${STREAM}`), { statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' }),
        undefined,
      );
    });
  }
}
