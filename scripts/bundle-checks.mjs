// Checks shared by the browser bundles (GraphiQL and the console): both must work air-gapped.

// A resource the browser would fetch by itself from an absolute URL would break the
// air-gapped page (and violate the CSP); mere strings (licence headers, doc links) are harmless.
const REMOTE = String.raw`((?:https?:)?\/\/[^\s"'\`<>)\\]+)`;
const LOADABLE = [
  new RegExp(String.raw`\b(?:src|href|srcset|poster|action)\s*=\s*["']?\s*` + REMOTE, 'gi'),
  new RegExp(String.raw`url\(\s*["']?\s*` + REMOTE, 'gi'),
  new RegExp(String.raw`@import\s+(?:url\()?\s*["']?\s*` + REMOTE, 'gi'),
  new RegExp(String.raw`\b(?:import|importScripts|Worker|SharedWorker|fetch)\(\s*["'\`]` + REMOTE, 'g'),
];
const ANY_URL = /https?:\/\/[^\s"'`<>)\\]+/g;

/** The off-host resources a file would make the browser load, and how many inert URL strings it holds. */
export function offHostReferences(text) {
  // Keyed by where the URL ends, so `@import url(...)` matching two patterns counts once.
  const loadable = new Map();
  for (const re of LOADABLE) {
    for (const m of text.matchAll(re)) loadable.set(m.index + m[0].length, m[0].slice(0, 120));
  }
  return { loadable: [...loadable.values()], inert: (text.match(ANY_URL) ?? []).length - loadable.size };
}
