import { Module } from '@nestjs/common';
import { PkiController } from './pki.controller';
import { ProtectionService } from './protection.service';

/** Data protection's key material and policy: data keys, the mount CA and its CRL, minimums and defaults. */
@Module({
  providers: [ProtectionService],
  controllers: [PkiController],
  exports: [ProtectionService],
})
export class ProtectionModule {}
