import { Controller, Get, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ErrorCode, httpStatusOf } from '../core/errors/app-error';
import type { Principal } from '../tenancy/principal';
import { AuditCheckpointService } from './audit-checkpoint.service';

/**
 * GET /audit/checkpoint-key.pem: the public key checkpoints are signed with (SPKI PEM), without a token:
 * it is what a verifier needs, and reveals nothing. GET /audit/checkpoints/latest: the latest signed
 * checkpoint, as the offline verifier reads it, for any key (checkpoints show hashes and counts only).
 */
@Controller('audit')
export class AuditCheckpointController {
  constructor(private readonly checkpoints: AuditCheckpointService) {}

  @Get('checkpoint-key.pem')
  async key(@Res() reply: FastifyReply): Promise<void> {
    await reply
      .code(200)
      .header('content-type', 'application/x-pem-file')
      .header('x-apn-key-id', this.checkpoints.keyId)
      .send(this.checkpoints.publicKeyPem);
  }

  @Get('checkpoints/latest')
  async latest(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const principal = (request as FastifyRequest & { principal?: Principal | null }).principal;
    if (!principal) {
      await reply
        .code(httpStatusOf(ErrorCode.UNAUTHENTICATED))
        .send({ error: { code: ErrorCode.UNAUTHENTICATED, message: 'Not authenticated: send the header Authorization: Bearer <token>.' } });
      return;
    }
    const latest = await this.checkpoints.latest();
    if (!latest) {
      const error = new AppError(
        ErrorCode.NOT_FOUND,
        'No audit checkpoint has been signed yet; one is taken every APN_AUDIT_CHECKPOINT_INTERVAL_S, or at once by takeAuditCheckpoint.',
      );
      await reply.code(404).send({ error: { code: error.code, message: error.message } });
      return;
    }
    await reply
      .code(200)
      .header('content-type', 'application/json')
      .header('cache-control', 'no-store')
      .send(JSON.stringify(this.checkpoints.document(latest), null, 2) + '\n');
  }
}
