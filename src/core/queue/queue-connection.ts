import { Redis } from 'ioredis';
import { createPostgresBackend, setDefaultBackendFactory, type ConnectionOptions } from 'bullmq';

export interface QueueConnection {
  readonly kind: 'redis' | 'postgres';
  /** Options for every Queue and Worker; BullMQ duplicates what it needs. */
  readonly connection: ConnectionOptions;
  /** Redis key prefix, so that several deployments (or test runs) can share one Redis. */
  readonly prefix: string | undefined;
  close(): Promise<void>;
  /** Calls `listener` each time the backend connection is re-established after a loss (Redis only). */
  onReconnect?(listener: () => void): void;
}

/**
 * Redis when REDIS_URL is set; otherwise BullMQ's PostgreSQL backend on the service's own database, so that
 * the embedded default needs nothing installed. The backend factory is process-wide in BullMQ and must be
 * chosen before any queue exists.
 */
export function createQueueConnection(redisUrl: string | undefined, databaseUrl: string, prefix: string): QueueConnection {
  if (redisUrl) {
    const redis = new Redis(redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
    return {
      kind: 'redis',
      connection: redis,
      prefix,
      async close() {
        redis.disconnect();
      },
      onReconnect(listener) {
        let connectedOnce = redis.status === 'ready';
        redis.on('ready', () => {
          if (connectedOnce) listener();
          connectedOnce = true;
        });
      },
    };
  }
  setDefaultBackendFactory(createPostgresBackend);
  return {
    kind: 'postgres',
    prefix: undefined,
    connection: { connectionString: databaseUrl, migrate: true, max: 4 },
    async close() {},
  };
}
