import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { DataSource } from 'typeorm';
import { APP_CONFIG } from './config/config';
import { dataSourceOptions, type Persistence } from './database/data-source-options';
import { HealthService } from './health/health.service';
import { runMigrationsLocked } from './database/migrate';
import { FairShare } from './graphql/fair-share';
import { DatabaseNotifications } from './database/notifications';
import { gateConnectionsByRequest } from './graphql/request-budget';
import { JobHandlers } from './queue/job-handlers';
import { MetricsService } from './metrics/metrics.service';
import { JobQueue } from './queue/job-queue.service';
import { createQueueConnection, type QueueConnection } from './queue/queue-connection';
import { QUEUE_CONNECTION } from './queue/queue.tokens';
import type { Runtime } from './runtime';

/** Secrets never reach the logs, whichever object carries them. */
export const LOG_REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'secret',
  '*.secret',
  'token',
  '*.token',
  'adminToken',
  '*.adminToken',
  'tapiToken',
  '*.tapiToken',
  'keyEncryptionKey',
  '*.keyEncryptionKey',
  'caKeyPem',
  '*.caKeyPem',
  'dataKey',
  '*.dataKey',
  'privateKeyPem',
  '*.privateKeyPem',
  'auditSigningKeyPem',
  '*.auditSigningKeyPem',
  'secretSealed',
  '*.secretSealed',
  'secretSha256',
  '*.secretSha256',
  'previousSecretSha256',
  '*.previousSecretSha256',
  'credential',
  '*.credential',
];

/** Plumbing shared by the api and the worker: config, logging, database (migrated at start), queues. */
@Global()
@Module({})
export class CoreModule {
  /** `persistence`: the application's tables and migrations (src/persistence.ts); core knows none itself. */
  static forRoot(runtime: Runtime, persistence: Persistence): DynamicModule {
    const { config } = runtime;
    return {
      module: CoreModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.logLevel,
            redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' },
            autoLogging: { ignore: (req) => req.url === '/health' },
            customProps: () => ({ service: 'apn-orchestrator', role: config.role }),
          },
        }),
        TypeOrmModule.forRootAsync({
          useFactory: () => dataSourceOptions(runtime.databaseUrl, config.dbPoolSize, persistence),
          dataSourceFactory: async (options) => {
            const dataSource = new DataSource(options!);
            await dataSource.initialize();
            gateConnectionsByRequest(dataSource);
            await runMigrationsLocked(dataSource, { keyEncryptionKey: config.keyEncryptionKey });
            return dataSource;
          },
        }),
      ],
      providers: [
        { provide: APP_CONFIG, useValue: config },
        {
          provide: QUEUE_CONNECTION,
          useFactory: (): QueueConnection => createQueueConnection(config.redisUrl, runtime.databaseUrl, config.queuePrefix),
        },
        JobQueue,
        JobHandlers,
        MetricsService,
        DatabaseNotifications,
        HealthService,
        FairShare,
      ],
      exports: [APP_CONFIG, QUEUE_CONNECTION, JobQueue, JobHandlers, MetricsService, DatabaseNotifications, HealthService, FairShare],
    };
  }
}
