import { createServerTemplates, ensureEmbeddedTemplates, TEMPLATE_DATA_DIR_ENV, TEMPLATE_DATABASE_ENV } from './templates';

/**
 * Once per pass, before any test file: the migrated and seeded templates every test file's service starts
 * from (see templates.ts). The test files read where they are from the environment, which Jest's workers
 * inherit.
 */
export default async function globalSetup(): Promise<void> {
  // TEST_TEMPLATES=off: every service starts on an empty database, as before templates (to compare).
  if (process.env.TEST_TEMPLATES === 'off') return;
  const started = Date.now();
  if (process.env.TEST_DATABASE_URL) {
    process.env[TEMPLATE_DATABASE_ENV] = await createServerTemplates(process.env.TEST_DATABASE_URL, process.env.TEST_REDIS_URL);
  } else {
    process.env[TEMPLATE_DATA_DIR_ENV] = await ensureEmbeddedTemplates();
  }
  if (process.env.TEST_TIMINGS) process.stderr.write(`\ntest templates ready in ${Date.now() - started} ms\n`);
}
