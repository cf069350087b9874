import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { GraphQLModule } from '@nestjs/graphql';
import { MercuriusDriver, MercuriusDriverConfig } from '@nestjs/mercurius';
import { AuditCheckpointsModule } from './audit/audit-checkpoints.module';
import { AuditModule } from './audit/audit.module';
import { CoreModule } from './core/core.module';
import { MeteringModule } from './metering/metering.module';
import {
  beforeExecution,
  errorFormatter,
  graphqlContext,
  MAX_DOCUMENT_TOKENS,
  protectionRules,
  subscriptionOptions,
  validateSubscription,
} from './core/graphql/graphql-options';
import { checkOperationInputs } from './core/graphql/input-guard';
import { FairShare } from './core/graphql/fair-share';
import { PassThroughGqlFilter } from './core/graphql/pass-through.filter';
import { refuseOperationsOverWebSocket } from './core/graphql/transport';
import { DateTimeScalar } from './core/graphql/scalars';
import { HealthController } from './core/health/health.controller';
import { MetricsController } from './core/metrics/metrics.controller';
import { JobWorker } from './core/queue/job-worker.service';
import type { Runtime } from './core/runtime';
import { OperationsModule } from './operations/operations.module';
import { PERSISTENCE } from './persistence';
import { PlanningModule } from './planning/planning.module';
import { WebhooksModule } from './webhooks/webhooks.module';
import { ProtectionModule } from './protection/protection.module';
import { ProvisioningModule } from './provisioning/provisioning.module';
import { QuotasModule } from './quotas/quotas.module';
import { ReservationsModule } from './reservations/reservations.module';
import { RunsModule } from './runs/runs.module';
import { StorageModule } from './storage/storage.module';
import { AuthService } from './tenancy/auth.service';
import { TenancyModule } from './tenancy/tenancy.module';
import { TopologyModule } from './topology/topology.module';

/** The capabilities, identical in every role. */
const DOMAIN_MODULES = [
  AuditModule,
  TenancyModule,
  TopologyModule,
  ReservationsModule,
  ProtectionModule,
  StorageModule,
  ProvisioningModule,
  PlanningModule,
  WebhooksModule,
  MeteringModule,
  RunsModule,
  QuotasModule,
  OperationsModule,
  AuditCheckpointsModule,
];

@Module({ providers: [JobWorker] })
class WorkerProcessorsModule {}

/** `api` (HTTP + GraphQL), optionally with the job processors in the same process (`all`). */
@Module({})
export class ApiModule {
  static forRoot(runtime: Runtime, options: { withWorker: boolean }): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        CoreModule.forRoot(runtime, PERSISTENCE),
        ...DOMAIN_MODULES,
        GraphQLModule.forRootAsync<MercuriusDriverConfig>({
          driver: MercuriusDriver,
          imports: [TenancyModule],
          inject: [AuthService, FairShare],
          useFactory: (auth: AuthService, fairShare: FairShare): MercuriusDriverConfig => ({
            path: '/graphql',
            graphiql: false,
            autoSchemaFile: true,
            sortSchema: true,
            buildSchemaOptions: { dateScalarMode: 'isoDate' },
            context: graphqlContext,
            subscription: subscriptionOptions(auth),
            validationRules: protectionRules(runtime.config),
            // Parsing stops early on a document of absurd length (the field and cost rules bound the rest).
            graphql: { parseOptions: { maxTokens: MAX_DOCUMENT_TOKENS } },
            // Every argument within its bounds before any resolver runs (core/graphql/input-guard.ts).
            hooks: {
              // Queries and mutations over the WebSocket are refused before anything else (core/graphql/transport.ts).
              preParsing: refuseOperationsOverWebSocket,
              // Literals before validation, so that a refused value names its argument; variables once known.
              preValidation: (schema, document) => checkOperationInputs(schema, document, undefined),
              preExecution: beforeExecution(runtime.config, fairShare),
              preSubscriptionExecution: validateSubscription(runtime.config),
            },
            errorFormatter,
          }),
        }),
        ...(options.withWorker ? [WorkerProcessorsModule] : []),
      ],
      providers: [DateTimeScalar, { provide: APP_FILTER, useClass: PassThroughGqlFilter }],
      controllers: [HealthController, MetricsController],
    };
  }
}

/** `worker`: job processors only, no HTTP. */
@Module({})
export class WorkerModule {
  static forRoot(runtime: Runtime): DynamicModule {
    return {
      module: WorkerModule,
      imports: [CoreModule.forRoot(runtime, PERSISTENCE), ...DOMAIN_MODULES, WorkerProcessorsModule],
    };
  }
}
