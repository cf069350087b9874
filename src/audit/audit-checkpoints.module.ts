import { Module } from '@nestjs/common';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { AuditCheckpointController } from './audit-checkpoint.controller';
import { AuditCheckpointResolver } from './audit-checkpoint.resolver';
import { AuditCheckpointService } from './audit-checkpoint.service';
import { AuditCheckpointsRepository } from './audit-checkpoints.repository';

/** Signed checkpoints of the audit chain, pushed to AUDIT_CHECKPOINT webhooks; apart from AuditModule, which every capability imports. */
@Module({
  imports: [WebhooksModule],
  providers: [AuditCheckpointService, AuditCheckpointsRepository, AuditCheckpointResolver],
  controllers: [AuditCheckpointController],
  exports: [AuditCheckpointService],
})
export class AuditCheckpointsModule {}
