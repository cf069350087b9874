import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { batchExtendedProtocolMessages } from './pglite-socket-batching';

/**
 * The embedded default: PostgreSQL compiled to WebAssembly (PGlite) with btree_gist, served over the
 * PostgreSQL wire protocol on a loopback port so that TypeORM, `pg` and BullMQ's PostgreSQL backend use
 * their ordinary drivers. pglite-socket serializes whole transactions, so the exclusion constraints behave
 * exactly as on a server.
 */
export interface EmbeddedPostgres {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  // ESM-first packages with CommonJS builds; loaded lazily so production never pays for them.
  const { PGlite } = await import('@electric-sql/pglite');
  const { btree_gist } = await import('@electric-sql/pglite/contrib/btree_gist');
  const { PGLiteSocketServer, PGLiteSocketHandler } = await import('@electric-sql/pglite-socket');
  batchExtendedProtocolMessages(PGLiteSocketHandler);

  let location: string | undefined;
  if (dataDir !== 'memory') {
    location = resolve(dataDir, 'pg');
    mkdirSync(location, { recursive: true });
  }
  const db = await PGlite.create(location, { extensions: { btree_gist } });
  // One PGlite instance is one session shared by every socket connection, so session settings are
  // global: BullMQ's objects live in schema `bullmq` and its pooled connections cannot pin their own
  // search_path here.
  await db.exec('CREATE EXTENSION IF NOT EXISTS btree_gist; SET search_path TO public, bullmq;');
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 500 });
  await server.start();
  const url = `postgres://postgres@${server.getServerConn()}/postgres?sslmode=disable`;
  let stopped = false;
  return {
    url,
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.stop();
      await db.close();
    },
  };
}
