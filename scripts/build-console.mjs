#!/usr/bin/env node
// Bundles the web console (console/src) into dist/console/, served at /console. Like GraphiQL it must work
// air-gapped: everything it loads comes from the service itself. The build fails when the bundle outgrows
// its budget, so that growth is a decision rather than an accident.
import { build } from 'esbuild';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { offHostReferences } from './bundle-checks.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist', 'console');
const started = Date.now();

/** Compressed bytes the browser downloads for the whole console (HTML + JS + CSS). */
const BUDGET_GZIP_KIB = 80;

// No inline <script> or <style>: the page is served with script-src 'self' and style-src 'self'.
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>apn-orchestrator console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/console.css">
<script defer src="/console/console.js"></script>
</head>
<body>
<div id="root"><p class="loading">Loading the console…</p></div>
<noscript>The console needs JavaScript.</noscript>
</body>
</html>
`;

await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });

await build({
  absWorkingDir: root,
  entryPoints: { console: path.join(root, 'console', 'src', 'main.tsx') },
  outdir: outDir,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020'],
  jsx: 'automatic',
  minify: true,
  sourcemap: false,
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
await writeFile(path.join(outDir, 'index.html'), html);

const files = (await readdir(outDir)).sort();
const offHost = [];
const sizes = [];
let gzipTotal = 0;
for (const name of files) {
  const body = await readFile(path.join(outDir, name));
  const gz = gzipSync(body).length;
  gzipTotal += gz;
  sizes.push(`${name} ${(body.length / 1024).toFixed(1)} KiB (${(gz / 1024).toFixed(1)} KiB gzip)`);
  for (const hit of offHostReferences(body.toString('utf8')).loadable) offHost.push(`${name}: ${hit}`);
}
if (offHost.length > 0) {
  console.error(`build-console: ${offHost.length} off-host resource reference(s):\n  ${offHost.join('\n  ')}`);
  process.exit(1);
}
const total = gzipTotal / 1024;
const verdict = `${total.toFixed(1)} KiB gzip of a ${BUDGET_GZIP_KIB} KiB budget`;
if (total > BUDGET_GZIP_KIB) {
  console.error(
    `build-console: the console is ${verdict}: over budget. Trim it, or raise BUDGET_GZIP_KIB in scripts/build-console.mjs on purpose.`,
  );
  process.exit(1);
}
console.log(
  `build-console: wrote ${path.relative(root, outDir)}/ [${sizes.join(', ')}] in ${Date.now() - started} ms; ${verdict}; 0 off-host loads`,
);
