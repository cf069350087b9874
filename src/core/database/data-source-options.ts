import type { DataSourceOptions } from 'typeorm';

/** The tables and migrations of the service, given by the application (src/persistence.ts). */
export interface Persistence {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- entity and migration classes, as TypeORM takes them
  readonly entities: Function[];
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- as above
  readonly migrations: Function[];
}

export function dataSourceOptions(url: string, poolSize: number, persistence: Persistence): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: persistence.entities,
    migrations: persistence.migrations,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    poolSize,
    extra: { max: poolSize, connectionTimeoutMillis: 10_000 },
  };
}
