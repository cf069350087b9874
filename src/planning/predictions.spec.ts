import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GENERATED_BLOCKS, kr11ReachKm, replaceBlock } from './predictions';

const ROOT = path.resolve(__dirname, '..', '..');

describe('generated prediction tables', () => {
  it.each(GENERATED_BLOCKS.map((block) => [`${block.file} (${block.name})`, block] as const))(
    '%s matches what the code computes (npm run planner:tables rewrites it)',
    (_, { file, name, render }) => {
      const document = readFileSync(path.join(ROOT, file), 'utf8');
      expect(replaceBlock(document, name, render())).toBe(document);
    },
  );

  it('finds where DIRECT stops meeting KR1.1, by bisection on the estimator', () => {
    const reach = kr11ReachKm('DIRECT', 1)!;
    expect(reach).toBeGreaterThan(40);
    expect(reach).toBeLessThan(1000);
    expect(kr11ReachKm('REPLICATION', 1)).toBeNull();
  });

  it('refuses a document without the markers', () => {
    expect(() => replaceBlock('no markers here', 'planner-summary', 'x')).toThrow(/no planner-summary markers/);
  });
});
