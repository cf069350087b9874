import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const CORE = __dirname;
const SRC = resolve(CORE, '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

describe('core depends on nothing above it', () => {
  it('imports no capability, nor the application that assembles them', () => {
    const offending: string[] = [];
    for (const file of sources(CORE)) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:from|import|require\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
        const target = resolve(dirname(file), match[1]);
        const inCore = !relative(CORE, target).startsWith('..');
        if (!inCore && target.startsWith(SRC)) offending.push(`${relative(SRC, file)} → ${relative(SRC, target)}`);
      }
    }
    expect(offending).toEqual([]);
  });
});
