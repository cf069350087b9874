import { Module } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { ApiKeySessions } from './api-key-sessions';
import { ApiKeysRepository } from './api-keys.repository';
import { AuthService } from './auth.service';
import { RolesGuard } from './roles';
import { SubscriptionKeyInterceptor } from './subscription-key.interceptor';
import { TenancyResolver } from './tenancy.resolver';
import { TenancyService } from './tenancy.service';
import { TenantsRepository } from './tenants.repository';

@Module({
  providers: [
    AuthService,
    ApiKeySessions,
    TenancyService,
    TenantsRepository,
    ApiKeysRepository,
    TenancyResolver,
    { provide: APP_GUARD, useClass: RolesGuard },
    { provide: APP_INTERCEPTOR, useClass: SubscriptionKeyInterceptor },
  ],
  exports: [AuthService, TenancyService],
})
export class TenancyModule {}
