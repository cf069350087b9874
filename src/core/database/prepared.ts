import type { EntityManager } from 'typeorm';

interface PgClient {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[] }>;
}

/**
 * Runs a hot statement as a named prepared statement, so PostgreSQL plans it once per connection instead
 * of on every call: on the transaction's connection inside a transaction, else on any pooled connection
 * (the pg driver prepares it on each connection the first time that connection runs it). Not on the
 * embedded engine: there every connection shares one session, and so one namespace of prepared statements.
 */
export async function queryPrepared<T>(
  m: EntityManager,
  usePrepared: boolean,
  name: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  if (!usePrepared) return m.query(text, values);
  const runner = m.queryRunner;
  const client: PgClient = runner
    ? ((await runner.connect()) as PgClient)
    : (m.dataSource.driver as unknown as { master: PgClient }).master;
  const result = await client.query({ name, text, values });
  return result.rows as T[];
}
