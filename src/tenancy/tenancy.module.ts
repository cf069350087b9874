import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthService } from './auth.service';
import { RolesGuard } from './roles';
import { TenancyResolver } from './tenancy.resolver';
import { TenancyService } from './tenancy.service';

@Module({
  providers: [AuthService, TenancyService, TenancyResolver, { provide: APP_GUARD, useClass: RolesGuard }],
  exports: [AuthService],
})
export class TenancyModule {}
