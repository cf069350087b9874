import { readFileSync, writeFileSync } from 'node:fs';
import { GENERATED_BLOCKS, replaceBlock } from '../planning/predictions';

/**
 * Rewrites the generated prediction tables in docs/planner.md and README.md (`npm run planner:tables`),
 * or with `--check` fails when a committed document differs from what the code computes.
 */
function main(): void {
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const { file, name, render } of GENERATED_BLOCKS) {
    const current = readFileSync(file, 'utf8');
    const updated = replaceBlock(current, name, render());
    if (updated === current) {
      process.stdout.write(`planner:tables: ${file} (${name}) matches the code\n`);
    } else if (check) {
      stale += 1;
      process.stderr.write(`${file} (${name}) differs from what the code computes; run "npm run planner:tables"\n`);
    } else {
      writeFileSync(file, updated);
      process.stdout.write(`planner:tables: ${file} (${name}) updated\n`);
    }
  }
  if (stale > 0) process.exit(1);
}

main();
