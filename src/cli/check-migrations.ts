import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../core/database/data-source-options';
import { PERSISTENCE } from '../persistence';
import { startEmbeddedPostgres } from '../core/database/embedded-postgres';
import { runMigrationsLocked } from '../core/database/migrate';

/**
 * Fails when the entities and the migrations disagree: applies every migration to an empty database,
 * then asks TypeORM which statements it would still need to make the schema match the entities.
 * Uses a scratch database on the server named by DATABASE_URL, or an in-memory embedded one.
 */
async function main(): Promise<void> {
  const serverUrl = process.env.DATABASE_URL;
  let url: string;
  let cleanup: () => Promise<void>;
  if (serverUrl) {
    const name = `apn_schema_check_${randomBytes(4).toString('hex')}`;
    const admin = new Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    const u = new URL(serverUrl);
    u.pathname = `/${name}`;
    url = u.toString();
    cleanup = async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    };
  } else {
    const embedded = await startEmbeddedPostgres('memory');
    url = embedded.url;
    cleanup = () => embedded.stop();
  }
  const dataSource = new DataSource(dataSourceOptions(url, 2, PERSISTENCE));
  let pending: string[] = [];
  try {
    await dataSource.initialize();
    await runMigrationsLocked(dataSource);
    const sql = await dataSource.driver.createSchemaBuilder().log();
    pending = sql.upQueries.map((q) => q.query);
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await cleanup();
  }
  if (pending.length > 0) {
    console.error(`Entities and migrations have drifted; a migration is missing for:\n${pending.join(';\n')};`);
    process.exit(1);
  }
  console.log('migrations:check: entities and migrations agree');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
