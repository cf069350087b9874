/**
 * What PostgreSQL can store, checked in memory before anything is sent: text without NUL (neither `text`
 * nor `jsonb` holds U+0000), well-formed Unicode (`jsonb` refuses an unpaired `\ud800`, and `text` would
 * silently turn it into U+FFFD, so two different ids could become one), finite numbers, and JSON of a
 * bounded depth. Imports nothing from Nest or TypeORM.
 */

// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex -- as above
const NUL = /\u0000/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why `text` cannot be stored as an identifier or a label of at most `maxLength` UTF-16 units, or null.
 * `controls: false` lets control characters other than NUL through (free text such as a note).
 */
export function textProblem(text: string, maxLength: number, options: { controls?: boolean } = {}): string | null {
  if (text.length > maxLength) return `is ${text.length} characters long; at most ${maxLength}`;
  if (NUL.test(text)) return 'must not contain the NUL character (U+0000), which PostgreSQL cannot store';
  if (options.controls !== false && CONTROL.test(text)) return 'must not contain control characters (U+0000 to U+001F, U+007F)';
  if (LONE_SURROGATE.test(text)) return 'contains an unpaired UTF-16 surrogate (half of a character); send well-formed Unicode';
  return null;
}

export interface JsonProblem {
  /** Relative to the value checked: '' for the value itself, `.labels.list[1]`, `["a b"]`. */
  path: string;
  reason: string;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function member(key: string): string {
  const shown = key.length > 40 ? `${key.slice(0, 40)}…` : key;
  return IDENTIFIER.test(key) ? `.${shown}` : `[${JSON.stringify(shown)}]`;
}

/**
 * The first part of a JSON value PostgreSQL's `jsonb` would refuse or that nests deeper than `maxDepth`
 * (the value itself is depth 1 when it is an object or a list), or null. Never recurses deeper than
 * `maxDepth`, so a hostile document cannot exhaust the stack.
 */
export function jsonProblem(value: unknown, maxDepth: number): JsonProblem | null {
  return walk(value, '', 1, maxDepth);
}

function walk(value: unknown, path: string, depth: number, maxDepth: number): JsonProblem | null {
  if (typeof value === 'string') {
    if (NUL.test(value)) return { path, reason: 'must not contain the NUL character (U+0000), which PostgreSQL cannot store' };
    if (LONE_SURROGATE.test(value))
      return { path, reason: 'contains an unpaired UTF-16 surrogate (half of a character); send well-formed Unicode' };
    return null;
  }
  if (typeof value === 'number') return Number.isFinite(value) ? null : { path, reason: 'must be a finite number' };
  if (value === null || value === undefined || typeof value === 'boolean') return null;
  if (typeof value !== 'object') return { path, reason: 'must be JSON: text, a number, true, false, null, a list or an object' };
  if (depth > maxDepth) return { path, reason: `nests lists and objects deeper than ${maxDepth} levels` };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const problem = walk(value[i], `${path}[${i}]`, depth + 1, maxDepth);
      if (problem) return problem;
    }
    return null;
  }
  for (const [key, item] of Object.entries(value)) {
    const keyProblem = textProblem(key, 200, { controls: false });
    if (keyProblem) return { path, reason: `has a key that ${keyProblem}` };
    const problem = walk(item, `${path}${member(key)}`, depth + 1, maxDepth);
    if (problem) return problem;
  }
  return null;
}

/** Size of a value as the JSON PostgreSQL receives, in UTF-8 bytes. */
export const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
