/**
 * What a migration may need from the configuration and cannot find in the database: the key-encryption key,
 * for a migration that encrypts values stored in clear (WebhookSecretsSealed). Set by the runner for the
 * duration of a run; a migration that needs a value absent here refuses to run, naming the variable.
 */
export interface MigrationContext {
  keyEncryptionKey?: Buffer;
}

let current: MigrationContext = {};

export function withMigrationContext<T>(context: MigrationContext, run: () => Promise<T>): Promise<T> {
  const previous = current;
  current = context;
  return run().finally(() => {
    current = previous;
  });
}

export function migrationContext(): MigrationContext {
  return current;
}
