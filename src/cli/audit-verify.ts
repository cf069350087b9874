import { createPublicKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type SignedCheckpoint, type SliceReport, signingKeyId, verifySlice } from '../audit/chain';

/**
 * npm run audit:verify -- --log slice.ndjson --checkpoint cp.json [--checkpoint older.json …] --key pub.pem
 *                         [--baseline earlier.ndjson] [--json]
 *
 * Checks an export of the audit log (GET /audit/export) offline against signed checkpoints (GET
 * /audit/checkpoints/latest, auditCheckpoints { document }, or an AUDIT_CHECKPOINT webhook body) and the
 * service's public key (GET /audit/checkpoint-key.pem): every entry's hashes recomputed, every link checked,
 * every checkpoint's signature checked and its head found in the slice. Needs nothing but Node.js and the
 * files. Exit status 0: the slice is the chain the checkpoints signed; 1: it is not, and the first bad entry
 * is named; 2: the command was used wrongly or a file could not be read.
 */

const USAGE =
  'usage: npm run audit:verify -- --log <export.ndjson> --checkpoint <checkpoint.json> [--checkpoint …] --key <public-key.pem> [--baseline <earlier-export.ndjson>] [--json]';

class UsageError extends Error {}

function parseArgs(argv: readonly string[]): { log: string; checkpoints: string[]; key: string; baseline: string | null; json: boolean } {
  const out = { log: '', checkpoints: [] as string[], key: '', baseline: null as string | null, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a file name`);
      return v;
    };
    if (arg === '--log') out.log = value();
    else if (arg === '--checkpoint') out.checkpoints.push(value());
    else if (arg === '--key') out.key = value();
    else if (arg === '--baseline') out.baseline = value();
    else if (arg === '--json') out.json = true;
    else if (arg === '--help' || arg === '-h') throw new UsageError('');
    else throw new UsageError(`unknown argument ${arg}`);
  }
  if (!out.log) throw new UsageError('--log is required');
  if (out.checkpoints.length === 0) throw new UsageError('--checkpoint is required (at least one)');
  if (!out.key) throw new UsageError('--key is required');
  return out;
}

function read(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${what} ${file}: ${(error as Error).message}`);
  }
}

/** A checkpoint file: one checkpoint's JSON, an array of them, or one per line. */
function readCheckpoints(file: string): SignedCheckpoint[] {
  const text = read(file, 'checkpoint').trim();
  const values: unknown[] = [];
  try {
    const parsed: unknown = JSON.parse(text);
    values.push(...(Array.isArray(parsed) ? (parsed as unknown[]) : [parsed]));
  } catch {
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        values.push(JSON.parse(line));
      } catch {
        throw new UsageError(`checkpoint file ${file} is neither JSON nor JSON lines`);
      }
    }
  }
  return values.map((v, i) => {
    const c = v as Record<string, unknown>;
    for (const name of ['format', 'seq', 'entryId', 'headHash', 'entries', 'at', 'keyId', 'signature']) {
      if (typeof c?.[name] !== 'string')
        throw new UsageError(`checkpoint ${i + 1} in ${file} has no ${name}; give the checkpoint's document as the service answers it`);
    }
    return c as unknown as SignedCheckpoint;
  });
}

function readKey(file: string): KeyObject {
  try {
    const key = createPublicKey(read(file, 'key'));
    if (key.asymmetricKeyType !== 'ed25519')
      throw new UsageError(`${file} is a ${key.asymmetricKeyType} key; audit checkpoints are signed with Ed25519`);
    return key;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    throw new UsageError(`${file} is not a public key in PEM: ${(error as Error).message}`);
  }
}

function print(report: SliceReport, keyId: string): void {
  const range = report.firstSeq ? `entries ${report.firstSeq}–${report.lastSeq}` : 'no entries';
  if (report.ok) {
    process.stdout.write(
      `OK: ${range} (${report.entries} read, ${report.full} in full) verify against checkpoint(s) ${report.checkpointsMatched.join(', ')} signed by ${keyId}\n`,
    );
  } else {
    process.stdout.write(`FAILED: ${report.reason}\n`);
    if (report.suspectRange) {
      process.stdout.write(
        `rewritten entry: between seq ${report.suspectRange.from} and seq ${report.suspectRange.to}; first entry no longer vouched for: seq ${report.firstBadSeq}${report.firstBadId ? `, id ${report.firstBadId}` : ''}\n`,
      );
    } else if (report.firstBadSeq) {
      process.stdout.write(`first bad entry: seq ${report.firstBadSeq}${report.firstBadId ? `, id ${report.firstBadId}` : ''}\n`);
    }
  }
  for (const note of report.notes) process.stdout.write(`note: ${note}\n`);
}

function main(): number {
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(process.argv.slice(2));
    const publicKey = readKey(args.key);
    const report = verifySlice({
      lines: read(args.log, 'log').split('\n'),
      checkpoints: args.checkpoints.flatMap(readCheckpoints),
      publicKey,
      baseline: args.baseline ? read(args.baseline, 'baseline').split('\n') : undefined,
    });
    if (args.json) process.stdout.write(`${JSON.stringify(report)}\n`);
    else print(report, signingKeyId(publicKey));
    return report.ok ? 0 : 1;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message ? `audit:verify: ${error.message}\n` : ''}${USAGE}\n`);
      return 2;
    }
    throw error;
  }
}

process.exitCode = main();
