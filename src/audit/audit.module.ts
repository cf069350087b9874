import { Global, Module } from '@nestjs/common';
import { AuditExportController } from './audit-export.controller';
import { AuditJobs } from './audit.jobs';
import { AuditRepository } from './audit.repository';
import { AuditResolver } from './audit.resolver';
import { AuditService } from './audit.service';

/** Global because every capability appends to the one chain inside its own transactions. */
@Global()
@Module({
  providers: [AuditService, AuditRepository, AuditResolver, AuditJobs],
  controllers: [AuditExportController],
  exports: [AuditService],
})
export class AuditModule {}
