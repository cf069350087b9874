import { Module } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { ApiKeySessions } from './api-key-sessions';
import { AuthService } from './auth.service';
import { RolesGuard } from './roles';
import { SubscriptionKeyInterceptor } from './subscription-key.interceptor';
import { TenancyResolver } from './tenancy.resolver';
import { TenancyService } from './tenancy.service';

@Module({
  providers: [
    AuthService,
    ApiKeySessions,
    TenancyService,
    TenancyResolver,
    { provide: APP_GUARD, useClass: RolesGuard },
    { provide: APP_INTERCEPTOR, useClass: SubscriptionKeyInterceptor },
  ],
  exports: [AuthService, TenancyService],
})
export class TenancyModule {}
