import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { HealthService } from './health.service';

/** Liveness and readiness in one: 200 when the database and the queue backend both answer, else 503. */
@Controller()
export class HealthController {
  constructor(private readonly service: HealthService) {}

  @Get('health')
  async health(@Res() reply: FastifyReply): Promise<void> {
    const report = await this.service.report();
    await reply.status(report.status === 'ok' ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE).send(report);
  }
}
