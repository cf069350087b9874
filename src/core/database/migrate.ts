import { DataSource } from 'typeorm';
import { type MigrationContext, withMigrationContext } from './migration-context';

/**
 * Runs pending migrations under a session advisory lock, so that replicas starting together apply each
 * migration once while the others wait.
 */
const MIGRATION_LOCK_KEY = 7_263_001;

export async function runMigrationsLocked(dataSource: DataSource, context: MigrationContext = {}): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      const applied = await withMigrationContext(context, () => dataSource.runMigrations({ transaction: 'each' }));
      return applied.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  } finally {
    await runner.release();
  }
}
