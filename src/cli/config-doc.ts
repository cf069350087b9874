import { readFileSync, writeFileSync } from 'node:fs';
import { configurationMarkdown } from '../core/config/config-doc';

/**
 * Writes docs/configuration.md from the configuration schema (`npm run config:doc`), or with `--check`
 * fails when the committed page differs from what the schema says.
 */
const file = 'docs/configuration.md';
const text = configurationMarkdown();
if (process.argv.includes('--check')) {
  let committed = '';
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    // Missing counts as different.
  }
  if (committed !== text) {
    process.stderr.write(`${file} differs from the configuration schema; run "npm run config:doc" and commit the result.\n`);
    process.exit(1);
  }
  process.stdout.write(`config:check: ${file} matches the configuration schema\n`);
} else {
  writeFileSync(file, text);
  process.stdout.write(`wrote ${file}\n`);
}
