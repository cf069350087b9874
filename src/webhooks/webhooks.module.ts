import { Module } from '@nestjs/common';
import { TenancyModule } from '../tenancy/tenancy.module';
import { WebhookTargets } from './webhook-target';
import { WebhookResolver } from './webhook.resolver';
import { WebhookService } from './webhook.service';
import { WebhooksRepository } from './webhooks.repository';

@Module({
  imports: [TenancyModule],
  providers: [WebhookService, WebhooksRepository, WebhookTargets, WebhookResolver],
  exports: [WebhookService],
})
export class WebhooksModule {}
