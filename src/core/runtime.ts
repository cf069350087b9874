import type { AppConfig } from './config/config';

/** What the entrypoint resolved before Nest starts: the validated config and the database to use. */
export interface Runtime {
  readonly config: AppConfig;
  readonly databaseUrl: string;
}
