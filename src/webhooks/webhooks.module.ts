import { Module } from '@nestjs/common';
import { WebhookTargets } from './webhook-target';
import { WebhookResolver } from './webhook.resolver';
import { WebhookService } from './webhook.service';

@Module({ providers: [WebhookService, WebhookTargets, WebhookResolver], exports: [WebhookService] })
export class WebhooksModule {}
