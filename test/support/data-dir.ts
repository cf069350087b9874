import { execFile } from 'node:child_process';
import { resolve } from 'node:path';

const REPO = resolve(__dirname, '../..');

/**
 * Runs `statements` in order on the embedded database in `dataDir` while no service has it open, and returns
 * each one's rows. The engine runs in a child process (the built `startEmbeddedPostgres`, as the service
 * runs it): its WebAssembly loader needs the dynamic imports Jest's module sandbox does not offer.
 */
export function queryDataDir(dataDir: string, statements: string[]): Promise<Array<Array<Record<string, unknown>>>> {
  const script = `
    const { startEmbeddedPostgres } = require(${JSON.stringify(resolve(REPO, 'dist/src/core/database/embedded-postgres.js'))});
    const { Client } = require(${JSON.stringify(require.resolve('pg'))});
    (async () => {
      const [dataDir, statements] = JSON.parse(process.argv[1]);
      const embedded = await startEmbeddedPostgres(dataDir);
      const sql = new Client({ connectionString: embedded.url });
      await sql.connect();
      const results = [];
      try {
        for (const statement of statements) results.push((await sql.query(statement)).rows);
      } finally {
        await sql.end();
        await embedded.stop();
      }
      process.stdout.write(JSON.stringify(results));
    })().catch((error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); });
  `;
  return new Promise((resolveRows, reject) => {
    execFile(
      process.execPath,
      ['-e', script, JSON.stringify([dataDir, statements])],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`query on ${dataDir} failed: ${stderr || error.message}`));
        else resolveRows(JSON.parse(stdout));
      },
    );
  });
}
