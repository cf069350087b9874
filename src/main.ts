import 'reflect-metadata';
import { createServer, type Server } from 'node:http';
import { INestApplicationContext, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { ApiModule, WorkerModule } from './app.module';
import { resolveAdminToken } from './core/admin-token';
import { resolveProtectionKeys } from './core/protection-keys';
import { AppConfig, ConfigError, loadConfig } from './core/config/config';
import { DataDirInUseError, lockDataDir } from './core/database/data-dir-lock';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './core/database/embedded-postgres';
import { CONSOLE_ASSETS_DIR, registerConsole } from './core/console/console';
import { GRAPHIQL_ASSETS_DIR, registerGraphiql } from './core/graphiql/graphiql';
import { registerDocumentGuard } from './core/graphql/document-guard';
import { registerRequestBudget } from './core/graphql/request-budget';
import { registerGraphqlTransportCheck } from './core/graphql/transport';
import { HealthService } from './core/health/health.service';
import { registerAuthentication } from './core/http-hooks';
import { MetricsService } from './core/metrics/metrics.service';
import { AuthService } from './tenancy/auth.service';
import { seedIfEmpty } from './topology/seed';

export interface RunningService {
  readonly app: INestApplicationContext;
  readonly url: string | null;
  readonly adminToken: string;
  readonly databaseUrl: string;
  stop(): Promise<void>;
}

/** Starts the service in the configured role. Used by the CLI entrypoint and by the e2e tests. */
export async function startService(env: NodeJS.ProcessEnv, options: { quiet?: boolean } = {}): Promise<RunningService> {
  const baseConfig = loadConfig(env);
  const say = (line: string) => {
    if (!options.quiet) process.stdout.write(`${line}\n`);
  };
  const { dataDirLock, admin, keys, embedded } = await openStorage(baseConfig, say);
  const config: AppConfig = Object.freeze({
    ...baseConfig,
    adminToken: admin.token,
    keyEncryptionKey: keys.keyEncryptionKey,
    caKeyPem: keys.caKeyPem,
    auditSigningKeyPem: keys.auditSigningKeyPem,
  });
  const databaseUrl = config.databaseUrl ?? (embedded as EmbeddedPostgres).url;
  const runtime = { config, databaseUrl };
  const logger: LogLevel[] | false = options.quiet ? false : ['log', 'error', 'warn'];

  let started: { app: INestApplicationContext; url: string | null };
  try {
    started = config.role === 'worker' ? await startWorker(runtime, logger, say) : await startApi(runtime, logger);
  } catch (error) {
    await embedded?.stop();
    dataDirLock?.release();
    throw error;
  }
  const { app, url } = started;
  announce(admin, config.role, url, say);

  let stopping: Promise<void> | null = null;
  return {
    app,
    url,
    adminToken: admin.token,
    databaseUrl,
    stop: () =>
      (stopping ??= (async () => {
        // Nest drains: workers finish their running jobs, the HTTP server its in-flight requests, then pools close.
        await app.close();
        await embedded?.stop();
        dataDirLock?.release();
      })()),
  };
}

type Runtime = { config: AppConfig; databaseUrl: string };

/**
 * What the service keeps before Nest starts: the lock of APN_DATA_DIR, the operator token and the protection
 * keys, and the embedded database when no DATABASE_URL is given. Releases the lock if any of it fails.
 */
async function openStorage(baseConfig: AppConfig, say: (line: string) => void) {
  // The embedded database's files and the generated operator token live in APN_DATA_DIR: one process at a time.
  const dataDirLock = !baseConfig.databaseUrl && baseConfig.dataDir !== 'memory' ? lockDataDir(baseConfig.dataDir) : null;
  if (dataDirLock?.tookOverFrom) {
    const stale = dataDirLock.tookOverFrom;
    say(
      `data directory ${dataDirLock.dir}: took over the lock of process ${stale.pid} on ${stale.host} (since ${stale.since}), which no longer runs`,
    );
  }
  try {
    const admin = resolveAdminToken(baseConfig);
    const keys = resolveProtectionKeys(baseConfig);
    let embedded: EmbeddedPostgres | null = null;
    if (!baseConfig.databaseUrl) {
      embedded = await startEmbeddedPostgres(baseConfig.dataDir);
      say(
        `embedded PostgreSQL (PGlite) at ${embedded.url}, data in ${baseConfig.dataDir === 'memory' ? 'memory (nothing is kept)' : baseConfig.dataDir}`,
      );
    }
    return { dataDirLock, admin, keys, embedded };
  } catch (error) {
    dataDirLock?.release();
    throw error;
  }
}

/** The worker role: the job processors, and /health and /metrics on APN_METRICS_PORT when it is set. */
async function startWorker(
  runtime: Runtime,
  logger: LogLevel[] | false,
  say: (line: string) => void,
): Promise<{ app: INestApplicationContext; url: null }> {
  const { config } = runtime;
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(runtime), { bufferLogs: true, logger });
  app.useLogger(app.get(Logger));
  await seedIfEmpty(app, config);
  await app.init();
  if (config.metricsPort) {
    // A worker has no API: on its own port it serves /health, for an orchestrator's probes, and
    // /metrics, for Prometheus to scrape its job timings.
    const workerServer = await serveWorkerHttp(app.get(HealthService), app.get(MetricsService), config.metricsPort, config.host);
    const closeApp = app.close.bind(app);
    app.close = async () => {
      await new Promise<void>((r) => workerServer.close(() => r()));
      await closeApp();
    };
    const base = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${config.metricsPort}`;
    say(`worker health at ${base}/health, metrics at ${base}/metrics`);
  }
  return { app, url: null };
}

/** The api role (and `all`, which runs the job processors too): the HTTP server and its hooks. */
async function startApi(runtime: Runtime, logger: LogLevel[] | false): Promise<{ app: INestApplicationContext; url: string }> {
  const { config } = runtime;
  const http = await NestFactory.create<NestFastifyApplication>(
    ApiModule.forRoot(runtime, { withWorker: config.role === 'all' }),
    new FastifyAdapter({ logger: false, bodyLimit: 5 * 1024 * 1024 }),
    { bufferLogs: true, logger },
  );
  http.useLogger(http.get(Logger));
  const fastify = http.getHttpAdapter().getInstance();
  registerRequestBudget(fastify, { budgetMs: config.requestBudgetMs, connections: config.requestConnections, route: '/graphql' });
  registerAuthentication(fastify, http.get(AuthService));
  registerDocumentGuard(fastify, '/graphql');
  // After the document guard: the transport check may parse the document.
  registerGraphqlTransportCheck(fastify, '/graphql');
  registerGraphiql(fastify, { assetsDir: GRAPHIQL_ASSETS_DIR });
  registerConsole(fastify, { assetsDir: CONSOLE_ASSETS_DIR });
  await seedIfEmpty(http, config);
  await http.listen(config.port, config.host);
  const address = fastify.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  return { app: http, url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}` };
}

/** The lines an operator reads at start: where the token is (or the token itself, once) and where to connect. */
function announce(
  admin: ReturnType<typeof resolveAdminToken>,
  role: AppConfig['role'],
  url: string | null,
  say: (line: string) => void,
): void {
  if (admin.generated) {
    say(`operator token (shown once${admin.file ? `, kept in ${admin.file}` : ''}): ${admin.token}`);
  } else if (admin.file) {
    say(`operator token: see ${admin.file}`);
  }
  if (url)
    say(
      `apn-orchestrator (${role}) listening on ${url} — GraphQL at ${url}/graphql, console at ${url}/console, GraphiQL at ${url}/graphiql`,
    );
  else say(`apn-orchestrator worker started`);
}

function serveWorkerHttp(health: HealthService, metrics: MetricsService, port: number, host: string): Promise<Server> {
  const server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (request.method !== 'GET' || (path !== '/metrics' && path !== '/health')) {
      response.writeHead(404).end();
      return;
    }
    if (path === '/health') {
      // The same checks and answer as the api's GET /health: 200 when the database and the queue answer, else 503.
      health.report().then(
        (report) =>
          response
            .writeHead(report.status === 'ok' ? 200 : 503, { 'content-type': 'application/json; charset=utf-8' })
            .end(JSON.stringify(report)),
        () => response.writeHead(503).end(),
      );
      return;
    }
    metrics.render().then(
      ({ contentType, body }) => response.writeHead(200, { 'content-type': contentType }).end(body),
      () => response.writeHead(500).end(),
    );
  });
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolvePromise(server));
  });
}

async function main(): Promise<void> {
  let service: RunningService;
  try {
    service = await startService(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    if (error instanceof DataDirInUseError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`failed to start: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  }
  const shutdown = (signal: string) => {
    process.stdout.write(`${signal} received: draining and shutting down\n`);
    const force = setTimeout(() => {
      process.stderr.write('shutdown took longer than 30 s; exiting\n');
      process.exit(1);
    }, 30_000);
    force.unref();
    service.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`error during shutdown: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

if (require.main === module) void main();
