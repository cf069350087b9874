/**
 * Validation of TAPI messages against the official ONF TAPI 2.1.3 YANG modules with yanglint (libyang), the
 * way a model-driven server parses them: strict RFC 7951 JSON (module-qualified identities and augments,
 * 64-bit numbers as strings, no unknown members), enumerations and types, and leafrefs resolved against the
 * controller's context, so a service end point naming a service-interface-point the context lacks fails.
 *
 * Each kind of message is put where the models place it:
 *   create-body    a POST on the connectivity-context, placed in the context: first alone as configuration
 *                  (-t getconfig, so a state leaf fails), then merged with the context as data (-t data -m),
 *                  so its leafrefs resolve against the context's service-interface-points
 *   create-input   create-connectivity-service RPC input (-t rpc, the context as operational data, -O)
 *   delete-input   delete-connectivity-service RPC input (-t rpc)
 *   create-output  create-connectivity-service RPC output (-t reply, -O context)
 *   service-answer a GET of one connectivity-service, placed in the context (-t data, merged with the context)
 *   list-answer    a GET of the connectivity-context (-t data, merged)
 *   sip-answer     a GET of one service-interface-point (-t data, merged)
 *   context        a whole tapi-common:context (-t data)
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { contextBody } from './controller-context';

export type MessageKind =
  'create-body' | 'create-input' | 'delete-input' | 'create-output' | 'service-answer' | 'list-answer' | 'sip-answer' | 'context';

export interface Verdict {
  readonly ok: boolean;
  /** yanglint's complaint, or why the message could not be placed in the model. */
  readonly message: string;
}

/** The modules a lightpath's messages touch, by module name; the newest revision in the directory is used. */
export const TAPI_MODULES = [
  'tapi-common',
  'tapi-topology',
  'tapi-path-computation',
  'tapi-connectivity',
  'tapi-photonic-media',
  'tapi-dsr',
] as const;

/** Where the official models sit beside a checkout: ../shared/reference/tapi-2.1.3/yang (CI has it; a fresh clone may not). */
export const DEFAULT_YANG_DIR = resolve(projectRoot(), '../shared/reference/tapi-2.1.3/yang');

/** The directory holding package.json, from the sources (under Jest) or from dist/. */
function projectRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

export interface TapiModels {
  readonly yanglint: string;
  readonly yangDir: string;
  readonly files: readonly string[];
}

/** yanglint on PATH (or at `binary`) and the TAPI 2.1.3 modules in `yangDir`; or why they cannot be used. */
export function findTapiModels(yangDir = DEFAULT_YANG_DIR, binary?: string): TapiModels | { missing: string } {
  const yanglint = binary ?? findOnPath('yanglint');
  if (!yanglint) return { missing: 'yanglint is not installed (apt-get install -y libyang2-tools)' };
  if (!existsSync(yangDir)) return { missing: `the TAPI 2.1.3 YANG modules are not at ${yangDir}` };
  const present = readdirSync(yangDir).filter((f) => f.endsWith('.yang'));
  const files: string[] = [];
  for (const module of TAPI_MODULES) {
    const revisions = present.filter((f) => f.startsWith(`${module}@`)).sort();
    const newest = revisions.at(-1);
    if (!newest) return { missing: `${yangDir} has no ${module}@<revision>.yang` };
    files.push(join(yangDir, newest));
  }
  return { yanglint, yangDir, files };
}

function findOnPath(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

const RPC_OF: Partial<Record<MessageKind, string>> = {
  'create-input': 'tapi-connectivity:create-connectivity-service',
  'delete-input': 'tapi-connectivity:delete-connectivity-service',
  'create-output': 'tapi-connectivity:create-connectivity-service',
};

export class TapiYangValidator {
  constructor(readonly models: TapiModels) {}

  /** Validates one message of the given kind against the models, with `context` as the controller's data. */
  async validate(kind: MessageKind, message: unknown, context: Record<string, unknown>): Promise<Verdict> {
    const placed = place(kind, message);
    if (typeof placed === 'string') return { ok: false, message: placed };
    const dir = mkdtempSync(join(tmpdir(), 'tapi-yang-'));
    try {
      const file = join(dir, 'message.json');
      writeFileSync(file, JSON.stringify(placed));
      const contextFile = join(dir, 'context.json');
      const args = ['-p', this.models.yangDir, ...this.models.files];
      switch (kind) {
        case 'create-body': {
          const asConfiguration = await run(this.models.yanglint, [...args, '-t', 'getconfig', file]);
          if (!asConfiguration.ok) return asConfiguration;
          writeFileSync(contextFile, JSON.stringify(wrapped(context)));
          args.push('-t', 'data', '-m', contextFile, file);
          break;
        }
        case 'create-input':
        case 'delete-input':
          writeFileSync(contextFile, JSON.stringify(wrapped(context)));
          args.push('-t', 'rpc', '-O', contextFile, file);
          break;
        case 'create-output':
          writeFileSync(contextFile, JSON.stringify(wrapped(context)));
          args.push('-t', 'reply', '-O', contextFile, file);
          break;
        case 'context':
          args.push('-t', 'data', file);
          break;
        default:
          writeFileSync(contextFile, JSON.stringify(wrapped(context)));
          args.push('-t', 'data', '-m', contextFile, file);
      }
      return await run(this.models.yanglint, args);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

function run(binary: string, args: string[]): Promise<Verdict> {
  return new Promise((done) => {
    execFile(binary, args, { timeout: 30_000, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      const output = `${stderr}${stdout}`.trim();
      // yanglint exits 0 on success; libyang prints "libyang err : …" lines for each violation.
      if (!error) return done({ ok: true, message: output });
      const reasons = output
        .split('\n')
        .filter((line) => /^libyang err|^YANGLINT\[E\]/.test(line))
        .map((line) => line.replace(/^libyang err : |^YANGLINT\[E\]: /, ''));
      done({ ok: false, message: reasons.join('; ') || output || error.message });
    });
  });
}

function wrapped(context: Record<string, unknown>): Record<string, unknown> {
  return { 'tapi-common:context': contextBody(context) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A member's name as a child of a node of `parentModule`: RFC 7951 §4 qualifies a member only where its module
 * differs from its parent's, so a top-level "tapi-connectivity:connectivity-service" becomes "connectivity-service"
 * under connectivity-context. Members of other modules keep their prefix.
 */
function asChildOf(parentModule: string, object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(object).map(([key, value]) => [key.startsWith(`${parentModule}:`) ? key.slice(parentModule.length + 1) : key, value]),
  );
}

/** The message placed in the model's tree, or why it cannot be (a top-level member RFC 7951 would not accept). */
function place(kind: MessageKind, message: unknown): Record<string, unknown> | string {
  if (!isRecord(message)) return 'the message is not a JSON object';
  const keys = Object.keys(message);
  const unqualified = keys.filter((k) => !k.includes(':'));
  if (unqualified.length > 0) {
    return `top-level member(s) ${unqualified.join(', ')} without a module prefix (RFC 7951 §4 requires one at the top)`;
  }
  const expect = (member: string): string | null =>
    keys.length === 1 && keys[0] === member ? null : `expected exactly one top-level member "${member}", got ${keys.join(', ')}`;
  switch (kind) {
    case 'create-body':
    case 'service-answer': {
      const wrong = expect('tapi-connectivity:connectivity-service');
      if (wrong) return wrong;
      return { 'tapi-common:context': { 'tapi-connectivity:connectivity-context': asChildOf('tapi-connectivity', message) } };
    }
    case 'list-answer': {
      const wrong = expect('tapi-connectivity:connectivity-context');
      if (wrong) return wrong;
      return { 'tapi-common:context': message };
    }
    case 'sip-answer': {
      const wrong = expect('tapi-common:service-interface-point');
      if (wrong) return wrong;
      return { 'tapi-common:context': asChildOf('tapi-common', message) };
    }
    case 'create-input':
    case 'delete-input': {
      const wrong = expect('tapi-connectivity:input');
      if (wrong) return wrong;
      return { [RPC_OF[kind] as string]: message['tapi-connectivity:input'] };
    }
    case 'create-output': {
      const wrong = expect('tapi-connectivity:output');
      if (wrong) return wrong;
      return { [RPC_OF[kind] as string]: message['tapi-connectivity:output'] };
    }
    case 'context': {
      const wrong = expect('tapi-common:context');
      if (wrong) return wrong;
      return message;
    }
  }
}
