import { Controller, Get, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ProtectionService } from './protection.service';

/**
 * The mount CA's public documents, which verifiers fetch without a token (RFC 5280 publishes them so):
 * GET /pki/ca.pem (the CA certificate), GET /pki/crl (the CRL in DER, application/pkix-crl, RFC 5280 §4.2.1.13)
 * and GET /pki/crl.pem. The CRL lists every revoked certificate that has not expired and is valid for an hour.
 */
@Controller('pki')
export class PkiController {
  constructor(private readonly protection: ProtectionService) {}

  @Get('ca.pem')
  async ca(@Res() reply: FastifyReply): Promise<void> {
    await reply.code(200).header('content-type', 'application/x-pem-file').send(this.protection.ca.certificatePem);
  }

  @Get('crl')
  async crl(@Res() reply: FastifyReply): Promise<void> {
    const crl = await this.protection.crl();
    await reply.code(200).header('content-type', 'application/pkix-crl').header('cache-control', 'no-store').send(crl.der);
  }

  @Get('crl.pem')
  async crlPem(@Req() _request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const crl = await this.protection.crl();
    await reply.code(200).header('content-type', 'application/x-pem-file').header('cache-control', 'no-store').send(crl.pem);
  }
}
