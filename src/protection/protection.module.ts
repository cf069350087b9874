import { Module } from '@nestjs/common';
import { PkiController } from './pki.controller';
import { TenancyModule } from '../tenancy/tenancy.module';
import { ProtectionRepository } from './protection.repository';
import { ProtectionService } from './protection.service';

/** Data protection's key material and policy: data keys, the mount CA and its CRL, minimums and defaults. */
@Module({
  imports: [TenancyModule],
  providers: [ProtectionRepository, ProtectionService],
  controllers: [PkiController],
  exports: [ProtectionService],
})
export class ProtectionModule {}
