import { dropServerTemplates, TEMPLATE_DATABASE_ENV } from './templates';

/** The server's template databases belong to this pass; the embedded ones stay cached for the next. */
export default async function globalTeardown(): Promise<void> {
  const prefix = process.env[TEMPLATE_DATABASE_ENV];
  if (process.env.TEST_DATABASE_URL && prefix) await dropServerTemplates(process.env.TEST_DATABASE_URL, prefix);
}
