#!/usr/bin/env node
// Bundles the GraphiQL console into dist/graphiql/ so /graphiql works without
// any CDN: the service runs in air-gapped data centers.
import { build } from 'esbuild';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { offHostReferences } from './bundle-checks.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const outDir = path.join(root, 'dist', 'graphiql');
const started = Date.now();

// No inline <script>: the page is served with script-src 'self'.
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>apn-orchestrator GraphiQL</title>
<link rel="icon" href="data:,">
<style>html,body,#graphiql{height:100%;margin:0}</style>
<link rel="stylesheet" href="/graphiql/graphiql.css">
<script defer src="/graphiql/graphiql.js"></script>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<noscript>GraphiQL needs JavaScript.</noscript>
</body>
</html>
`;

// Start from an empty directory so a file left over from an older build is never served.
await rm(outDir, { recursive: true, force: true });
await mkdir(outDir, { recursive: true });

const assetLoaders = Object.fromEntries(
  ['.woff', '.woff2', '.ttf', '.eot', '.otf', '.svg', '.png', '.jpg', '.jpeg', '.gif', '.webp'].map((ext) => [ext, 'dataurl']),
);

await build({
  absWorkingDir: root,
  entryPoints: { graphiql: path.join(root, 'scripts', 'graphiql', 'entry.jsx') },
  outdir: outDir,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020'],
  jsx: 'automatic',
  minify: true,
  sourcemap: false,
  // React and GraphiQL ship dev-only checks behind this; leaving it unset keeps them (and doubles the size).
  define: { 'process.env.NODE_ENV': '"production"' },
  loader: assetLoaders,
  logLevel: 'warning',
});
await writeFile(path.join(outDir, 'index.html'), html);

const files = ['index.html', 'graphiql.js', 'graphiql.css'];
const offHost = [];
let inertUrls = 0;
const sizes = [];
for (const name of files) {
  const text = await readFile(path.join(outDir, name), 'utf8');
  sizes.push(`${name} ${(Buffer.byteLength(text) / 1024).toFixed(1)} KiB`);
  const refs = offHostReferences(text);
  for (const hit of refs.loadable) offHost.push(`${name}: ${hit}`);
  inertUrls += refs.inert;
}
if (offHost.length > 0) {
  console.error(`build-graphiql: ${offHost.length} off-host resource reference(s):\n  ${offHost.join('\n  ')}`);
  process.exit(1);
}

// Fonts are inlined as data: URLs, so anything else here is an asset esbuild emitted next to the CSS.
const extras = (await readdir(outDir)).filter((f) => !files.includes(f));

console.log(
  `build-graphiql: wrote ${path.relative(root, outDir)}/ [${sizes.join(', ')}${extras.length ? `, +${extras.join(', ')}` : ''}] ` +
    `in ${Date.now() - started} ms; 0 off-host loads, ${inertUrls} inert http(s) string(s)`,
);
