#!/usr/bin/env node
/**
 * Adds to package-lock.json the entries of other platforms' optional native packages (for example
 * @swc/core-darwin-arm64) that a registry mirror answering 404 for them leaves out. Without them `npm ci`
 * refuses the lock file as out of sync with package.json on every machine. Each entry gets the exact
 * version its parent pins and the os/cpu/libc read from its name, so npm skips it on other platforms and
 * resolves it from the registry on its own.
 *
 * Run after `npm install` changes the lock file: node scripts/complete-lockfile.mjs
 */
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const packages = lock.packages;

const OS = ['darwin', 'linux', 'win32', 'freebsd', 'android', 'openharmony', 'sunos', 'aix', 'netbsd', 'openbsd'];
const CPU = ['arm64', 'arm', 'x64', 'ia32', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el'];

/** Reads platform constraints from a package name such as `@unrs/resolver-binding-linux-arm-musleabihf`. */
function platformOf(name) {
  const parts = name.split('/').pop().split('-');
  const osIndex = parts.findIndex((p) => OS.includes(p));
  if (osIndex < 0) return null;
  const cpu = parts.slice(osIndex + 1).find((p) => CPU.includes(p));
  if (!cpu) return null;
  const rest = parts.slice(osIndex + 1).join('-');
  const libc = parts[osIndex] !== 'linux' ? undefined : /musl/.test(rest) ? 'musl' : /gnu/.test(rest) ? 'glibc' : undefined;
  return { os: parts[osIndex], cpu, libc };
}

let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const base = path === '' ? '' : `${path}/`;
    const candidates = [`${base}node_modules/${name}`, `node_modules/${name}`];
    if (candidates.some((c) => packages[c])) continue;
    const platform = platformOf(name);
    if (!platform || !/^\d+\.\d+\.\d+(-[\w.]+)?$/.test(version)) continue;
    // The fields and their order are those npm itself writes for such an entry, so a later npm install
    // leaves them as they are.
    packages[`node_modules/${name}`] = {
      version,
      cpu: [platform.cpu],
      ...(entry.dev ? { dev: true } : {}),
      ...(platform.libc ? { libc: [platform.libc] } : {}),
      optional: true,
      os: [platform.os],
    };
    added++;
  }
}
// npm orders the entries by localeCompare in English; keep that order so the diff shows only additions.
lock.packages = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => a.localeCompare(b, 'en')));
writeFileSync(LOCK, `${JSON.stringify(lock, null, 2)}\n`);
console.log(`complete-lockfile: added ${added} optional platform package(s)`);
