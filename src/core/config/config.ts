import { createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';
import { z } from 'zod';

/**
 * The service's configuration, read once from the environment at boot.
 * Nothing else in the codebase reads process.env.
 */
const intFrom = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name} must be between ${min} and ${max}`);

export interface WebhookAllowedTargets {
  /** `address/prefix`, IPv4 or IPv6. */
  readonly networks: readonly string[];
  /** As the URL parser writes them: lower case, punycode, without a trailing dot. */
  readonly hosts: readonly string[];
}

/** The host name the WHATWG URL parser makes of `entry`, or null when it is not one host name. */
function urlHostName(entry: string): string | null {
  if (!/^[^\s/:?#@[\]\\%]+$/.test(entry)) return null;
  try {
    return new URL(`http://${entry}/`).hostname.replace(/\.$/, '');
  } catch {
    return null;
  }
}

/** Parses APN_WEBHOOK_ALLOWED_TARGETS: a comma-separated list of CIDRs, single addresses and host names. */
function allowedTargets(value: string, ctx: z.RefinementCtx): WebhookAllowedTargets {
  const networks: string[] = [];
  const hosts: string[] = [];
  const refuse = (entry: string, why: string) =>
    ctx.addIssue({ code: 'custom', message: `APN_WEBHOOK_ALLOWED_TARGETS entry ${JSON.stringify(entry)} ${why}` });
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const [address, prefix, ...rest] = entry.split('/');
    const version = isIP(address);
    if (version !== 0 && !address.includes('%')) {
      const max = version === 4 ? 32 : 128;
      if (rest.length > 0 || (prefix !== undefined && (!/^\d{1,3}$/.test(prefix) || Number(prefix) > max))) {
        refuse(entry, `has a bad prefix length; write address/0-${max}`);
      } else {
        networks.push(`${address.toLowerCase()}/${prefix ?? max}`);
      }
      continue;
    }
    const host = prefix === undefined ? urlHostName(entry) : null;
    if (host === null) {
      refuse(entry, 'is neither an IP address, a CIDR (10.0.0.0/8, fd00::/8) nor a host name; separate entries with commas, without schemes or ports');
    } else if (isIP(host) !== 0) {
      // 127.1, 2130706433 and 0x7f000001 are addresses to the URL parser: ask for the address itself.
      refuse(entry, `is the address ${host} to the URL parser; write ${host}`);
    } else {
      hosts.push(host);
    }
  }
  return { networks, hosts };
}

/** A PEM in an environment variable: real newlines, or `\n` escapes where the variable holds one line. */
const pemText = (value: string) => value.replace(/\\n/g, '\n').trim() + '\n';

/** APN_KEY_ENCRYPTION_KEY: 32 bytes, as 64 hex digits or base64. */
function keyEncryptionKey(value: string, ctx: z.RefinementCtx): Buffer {
  const bytes = /^[0-9a-fA-F]{64}$/.test(value) ? Buffer.from(value, 'hex') : /^[A-Za-z0-9+/_-]{43}=?$/.test(value) ? Buffer.from(value, 'base64') : null;
  if (!bytes || bytes.length !== 32) {
    ctx.addIssue({ code: 'custom', message: 'APN_KEY_ENCRYPTION_KEY must be 32 random bytes as 64 hex digits or base64 (openssl rand -base64 32)' });
    return Buffer.alloc(0);
  }
  return bytes;
}

/** APN_CA_KEY: the mount CA's private key, PKCS#8 PEM, Ed25519 or ECDSA P-256. */
function caKey(value: string, ctx: z.RefinementCtx): string {
  try {
    const key = createPrivateKey(pemText(value));
    const usable = key.asymmetricKeyType === 'ed25519' || (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1');
    if (!usable) {
      ctx.addIssue({ code: 'custom', message: `APN_CA_KEY is a ${key.asymmetricKeyType} key; use Ed25519 or ECDSA P-256 (openssl genpkey -algorithm ed25519)` });
    }
  } catch {
    ctx.addIssue({ code: 'custom', message: 'APN_CA_KEY must be a private key in PEM (-----BEGIN PRIVATE KEY-----; newlines as is or as \\n)' });
  }
  return pemText(value);
}

/** APN_AUDIT_SIGNING_KEY: the key that signs audit checkpoints, PKCS#8 PEM, Ed25519. */
function auditSigningKey(value: string, ctx: z.RefinementCtx): string {
  try {
    const key = createPrivateKey(pemText(value));
    if (key.asymmetricKeyType !== 'ed25519') {
      ctx.addIssue({ code: 'custom', message: `APN_AUDIT_SIGNING_KEY is a ${key.asymmetricKeyType} key; use Ed25519 (openssl genpkey -algorithm ed25519)` });
    }
  } catch {
    ctx.addIssue({ code: 'custom', message: 'APN_AUDIT_SIGNING_KEY must be an Ed25519 private key in PEM (-----BEGIN PRIVATE KEY-----; newlines as is or as \\n)' });
  }
  return pemText(value);
}

const EnvSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: intFrom('PORT', 0, 65535).default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// or postgresql:// URL')
      .optional(),
    APN_DATA_DIR: z.string().min(1).default('./.data'),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'REDIS_URL must be a redis:// or rediss:// URL')
      .optional(),
    APN_QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,40}$/, 'APN_QUEUE_PREFIX must be 1-40 letters, digits, _ or -')
      .default('apn'),
    APN_ROLE: z.enum(['all', 'api', 'worker']).default('all'),
    APN_METRICS_PORT: intFrom('APN_METRICS_PORT', 1, 65535).optional(),
    APN_ADMIN_TOKEN: z.string().min(16, 'APN_ADMIN_TOKEN must be at least 16 characters').optional(),
    APN_SEED: z.enum(['reference', 'none']).optional(),
    APN_DRIVER: z.enum(['emulator', 'tapi']).default('emulator'),
    APN_EMULATOR_HOP_MS: intFrom('APN_EMULATOR_HOP_MS', 0, 60_000).default(20),
    // A setup job is due this long before its lightpath's start and waits for the start in the worker, so
    // the queue's pickup delay (up to 100 ms on Redis's default hz) is not added to the time to ACTIVE.
    APN_SETUP_LEAD_MS: intFrom('APN_SETUP_LEAD_MS', 0, 60_000).default(250),
    APN_TAPI_URL: z.string().regex(/^https?:\/\//, 'APN_TAPI_URL must be an http:// or https:// URL').optional(),
    APN_TAPI_TOKEN: z.string().min(1).optional(),
    // data: POST on the connectivity-context (TR-547); rpc: the create/delete RPCs (TransportPCE, ONOS ODTN).
    APN_TAPI_MODE: z.enum(['data', 'rpc'], { message: 'APN_TAPI_MODE must be data or rpc' }).default('data'),
    // Unset: discovered from /.well-known/host-meta (RFC 8040 §3.1).
    APN_TAPI_ROOT: z
      .string()
      .regex(/^\/[^\s?#]*$/, 'APN_TAPI_ROOT must be a path starting with "/", e.g. /restconf or /rests')
      .optional(),
    // Optical activation (power balancing hop by hop) takes minutes; so can a removal.
    APN_TAPI_ACTIVATION_TIMEOUT_S: intFrom('APN_TAPI_ACTIVATION_TIMEOUT_S', 1, 86_400).default(600),
    APN_TAPI_REMOVAL_TIMEOUT_S: intFrom('APN_TAPI_REMOVAL_TIMEOUT_S', 1, 86_400).default(300),
    APN_STORAGE_DRIVER: z.enum(['emulator']).default('emulator'),
    // The storage emulator copies this many times faster than the real throughput, so tests need not wait hours.
    APN_STORAGE_SPEEDUP: intFrom('APN_STORAGE_SPEEDUP', 1, 1_000_000_000).default(1),
    // NSI CS 2.0 recommends a 120 s reservation hold before an uncommitted hold times out.
    APN_HOLD_TTL_S: intFrom('APN_HOLD_TTL_S', 1, 86_400).default(120),
    APN_MIN_DURATION_S: intFrom('APN_MIN_DURATION_S', 1, 86_400).default(60),
    // Bounds of every window (lightpaths, GPU allocations, searches): 90 days long, ending within 366 days.
    APN_MAX_DURATION_S: intFrom('APN_MAX_DURATION_S', 60, 315_360_000).default(7_776_000),
    APN_MAX_ADVANCE_S: intFrom('APN_MAX_ADVANCE_S', 3_600, 315_360_000).default(31_622_400),
    APN_BOOKING_ATTEMPTS: intFrom('APN_BOOKING_ATTEMPTS', 1, 100).default(12),
    APN_JOB_ATTEMPTS: intFrom('APN_JOB_ATTEMPTS', 1, 100).default(8),
    APN_JOB_BACKOFF_MS: intFrom('APN_JOB_BACKOFF_MS', 1, 3_600_000).default(1000),
    APN_RECONCILE_INTERVAL_S: intFrom('APN_RECONCILE_INTERVAL_S', 1, 86_400).default(30),
    APN_DB_POOL_SIZE: intFrom('APN_DB_POOL_SIZE', 1, 500).default(20),
    // Jobs each worker process runs at once per queue. Setup and teardown mostly wait on the network's
    // devices, so a wave of lightpaths starting at one instant needs many in flight to come up on time.
    APN_WORKER_CONCURRENCY: intFrom('APN_WORKER_CONCURRENCY', 1, 1000).default(32),
    APN_MAX_QUERY_DEPTH: intFrom('APN_MAX_QUERY_DEPTH', 2, 50).default(10),
    APN_MAX_QUERY_COMPLEXITY: intFrom('APN_MAX_QUERY_COMPLEXITY', 10, 1_000_000).default(500),
    // Lists multiply the cost of what they select by their page size (or 10): see core/graphql/query-cost.ts.
    APN_MAX_QUERY_COST: intFrom('APN_MAX_QUERY_COST', 100, 10_000_000).default(10_000),
    // Query cost one caller may spend per second; more waits its turn (see graphql/fair-share.ts).
    APN_QUERY_COST_PER_SECOND: intFrom('APN_QUERY_COST_PER_SECOND', 100, 100_000_000).default(50_000),
    // A GraphQL request starts no database work after this long and answers at once (see request-budget.ts).
    APN_REQUEST_BUDGET_MS: intFrom('APN_REQUEST_BUDGET_MS', 100, 600_000).default(10_000),
    // Webhook targets inside the network (loopback, private, link-local, …) are refused unless listed here.
    APN_WEBHOOK_ALLOWED_TARGETS: z.string().transform(allowedTargets).optional(),
    // Measured runs: what one upload to /runs/{id}/… may carry, and the records of each kind one run may hold.
    APN_RUN_UPLOAD_MAX_BYTES: intFrom('APN_RUN_UPLOAD_MAX_BYTES', 1024, 17_179_869_184).default(268_435_456),
    APN_RUN_UPLOAD_MAX_LINES: intFrom('APN_RUN_UPLOAD_MAX_LINES', 10, 100_000_000).default(2_000_000),
    APN_RUN_MAX_RECORDS: intFrom('APN_RUN_MAX_RECORDS', 10, 1_000_000_000).default(20_000_000),
    // Data protection: the key-encryption key that wraps per-mount data keys, the mount CA's key, how long a
    // TLS client certificate may live, and whether the nodes' TLS stacks negotiate a hybrid ML-KEM exchange.
    APN_KEY_ENCRYPTION_KEY: z.string().transform(keyEncryptionKey).optional(),
    APN_CA_KEY: z.string().transform(caKey).optional(),
    APN_TLS_CERT_MAX_LIFETIME_S: intFrom('APN_TLS_CERT_MAX_LIFETIME_S', 3_600, 31_536_000).default(604_800),
    APN_TLS_HYBRID_KEX: z.enum(['true', 'false'], { message: 'APN_TLS_HYBRID_KEX must be true or false' }).default('false'),
    // Audit: the key that signs the checkpoints of the hash chain, and how often one is taken (default 5 min).
    APN_AUDIT_SIGNING_KEY: z.string().transform(auditSigningKey).optional(),
    APN_AUDIT_CHECKPOINT_INTERVAL_S: intFrom('APN_AUDIT_CHECKPOINT_INTERVAL_S', 5, 86_400).default(300),
    // API keys: the longest expiry a key (or a rotated secret) may be given, from its creation (default 366 days).
    APN_API_KEY_MAX_LIFETIME_S: intFrom('APN_API_KEY_MAX_LIFETIME_S', 3_600, 315_360_000).default(31_622_400),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((env, ctx) => {
    if (env.APN_DRIVER === 'tapi' && !env.APN_TAPI_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['APN_TAPI_URL'],
        message: 'APN_TAPI_URL is required when APN_DRIVER=tapi (the RESTCONF base URL of the TAPI server)',
      });
    }
    if (env.NODE_ENV === 'production' && !env.APN_ADMIN_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['APN_ADMIN_TOKEN'],
        message: 'APN_ADMIN_TOKEN is required when NODE_ENV=production (set a random secret of 16+ characters)',
      });
    }
    if (env.NODE_ENV === 'production' && !env.APN_KEY_ENCRYPTION_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['APN_KEY_ENCRYPTION_KEY'],
        message: 'APN_KEY_ENCRYPTION_KEY is required when NODE_ENV=production (openssl rand -base64 32): it wraps the data keys of encrypted copies',
      });
    }
    if (env.NODE_ENV === 'production' && !env.APN_AUDIT_SIGNING_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['APN_AUDIT_SIGNING_KEY'],
        message: 'APN_AUDIT_SIGNING_KEY is required when NODE_ENV=production (openssl genpkey -algorithm ed25519): it signs the audit checkpoints tenants verify',
      });
    }
    if (env.NODE_ENV === 'production' && !env.APN_CA_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['APN_CA_KEY'],
        message: 'APN_CA_KEY is required when NODE_ENV=production (openssl genpkey -algorithm ed25519): it signs the mounts’ TLS certificates and CRL',
      });
    }
  });

export type Role = 'all' | 'api' | 'worker';

export interface AppConfig {
  readonly nodeEnv: 'development' | 'production' | 'test';
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  readonly redisUrl: string | undefined;
  readonly queuePrefix: string;
  readonly role: Role;
  readonly metricsPort: number | undefined;
  readonly adminToken: string | undefined;
  readonly seed: 'reference' | 'none';
  readonly driver: 'emulator' | 'tapi';
  readonly emulatorHopMs: number;
  readonly setupLeadMs: number;
  readonly tapiUrl: string | undefined;
  readonly tapiToken: string | undefined;
  readonly tapiMode: 'data' | 'rpc';
  readonly tapiRoot: string | undefined;
  readonly tapiActivationTimeoutSeconds: number;
  readonly tapiRemovalTimeoutSeconds: number;
  readonly storageDriver: 'emulator';
  readonly storageSpeedup: number;
  readonly holdTtlSeconds: number;
  readonly minDurationSeconds: number;
  readonly maxDurationSeconds: number;
  readonly maxAdvanceSeconds: number;
  readonly bookingAttempts: number;
  readonly jobAttempts: number;
  readonly jobBackoffMs: number;
  readonly reconcileIntervalSeconds: number;
  readonly dbPoolSize: number;
  readonly workerConcurrency: number;
  readonly maxQueryDepth: number;
  readonly maxQueryComplexity: number;
  readonly maxQueryCost: number;
  readonly requestBudgetMs: number;
  readonly queryCostPerSecond: number;
  /** Pool connections one GraphQL request may hold at once: a quarter of the pool, at least 2. */
  readonly requestConnections: number;
  readonly webhookAllowedTargets: WebhookAllowedTargets;
  /** Bytes one upload of a measured run's data may carry. */
  readonly runUploadMaxBytes: number;
  /** Lines one upload may carry. */
  readonly runUploadMaxLines: number;
  /** Steps, I/O samples and power samples one run may hold (each). */
  readonly runMaxRecords: number;
  /** Wraps per-mount data keys (AES-256-GCM). Unset in configuration: generated at start (see protection-keys.ts). */
  readonly keyEncryptionKey: Buffer | undefined;
  /** The mount CA's private key, PEM. Unset in configuration: generated at start (see protection-keys.ts). */
  readonly caKeyPem: string | undefined;
  readonly tlsCertMaxLifetimeSeconds: number;
  readonly tlsHybridKeyExchange: boolean;
  /** Signs audit checkpoints (Ed25519, PEM). Unset in configuration: generated at start (see protection-keys.ts). */
  readonly auditSigningKeyPem: string | undefined;
  readonly auditCheckpointIntervalSeconds: number;
  readonly apiKeyMaxLifetimeSeconds: number;
  readonly logLevel: string;
}

export class ConfigError extends Error {}

/** Parses the environment; throws ConfigError naming every bad variable. Blank values count as unset. */
export function loadConfig(env: NodeJS.ProcessEnv): AppConfig {
  const relevant: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') relevant[key] = value;
  }
  const parsed = EnvSchema.safeParse(relevant);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const got = relevant[name] === undefined ? '' : ` (got ${JSON.stringify(redactIfSecret(name, relevant[name]))})`;
      return `  ${name}: ${issue.message}${got}`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return Object.freeze({
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.APN_DATA_DIR,
    redisUrl: e.REDIS_URL,
    queuePrefix: e.APN_QUEUE_PREFIX,
    role: e.APN_ROLE,
    metricsPort: e.APN_METRICS_PORT,
    adminToken: e.APN_ADMIN_TOKEN,
    seed: e.APN_SEED ?? (e.DATABASE_URL ? 'none' : 'reference'),
    driver: e.APN_DRIVER,
    emulatorHopMs: e.APN_EMULATOR_HOP_MS,
    setupLeadMs: e.APN_SETUP_LEAD_MS,
    tapiUrl: e.APN_TAPI_URL,
    tapiToken: e.APN_TAPI_TOKEN,
    tapiMode: e.APN_TAPI_MODE,
    tapiRoot: e.APN_TAPI_ROOT,
    tapiActivationTimeoutSeconds: e.APN_TAPI_ACTIVATION_TIMEOUT_S,
    tapiRemovalTimeoutSeconds: e.APN_TAPI_REMOVAL_TIMEOUT_S,
    storageDriver: e.APN_STORAGE_DRIVER,
    storageSpeedup: e.APN_STORAGE_SPEEDUP,
    holdTtlSeconds: e.APN_HOLD_TTL_S,
    minDurationSeconds: e.APN_MIN_DURATION_S,
    maxDurationSeconds: e.APN_MAX_DURATION_S,
    maxAdvanceSeconds: e.APN_MAX_ADVANCE_S,
    bookingAttempts: e.APN_BOOKING_ATTEMPTS,
    jobAttempts: e.APN_JOB_ATTEMPTS,
    jobBackoffMs: e.APN_JOB_BACKOFF_MS,
    reconcileIntervalSeconds: e.APN_RECONCILE_INTERVAL_S,
    dbPoolSize: e.APN_DB_POOL_SIZE,
    workerConcurrency: e.APN_WORKER_CONCURRENCY,
    maxQueryDepth: e.APN_MAX_QUERY_DEPTH,
    maxQueryComplexity: e.APN_MAX_QUERY_COMPLEXITY,
    maxQueryCost: e.APN_MAX_QUERY_COST,
    requestBudgetMs: e.APN_REQUEST_BUDGET_MS,
    queryCostPerSecond: e.APN_QUERY_COST_PER_SECOND,
    requestConnections: Math.max(2, Math.floor(e.APN_DB_POOL_SIZE / 4)),
    webhookAllowedTargets: Object.freeze(e.APN_WEBHOOK_ALLOWED_TARGETS ?? { networks: [], hosts: [] }),
    runUploadMaxBytes: e.APN_RUN_UPLOAD_MAX_BYTES,
    runUploadMaxLines: e.APN_RUN_UPLOAD_MAX_LINES,
    runMaxRecords: e.APN_RUN_MAX_RECORDS,
    keyEncryptionKey: e.APN_KEY_ENCRYPTION_KEY,
    caKeyPem: e.APN_CA_KEY,
    tlsCertMaxLifetimeSeconds: e.APN_TLS_CERT_MAX_LIFETIME_S,
    tlsHybridKeyExchange: e.APN_TLS_HYBRID_KEX === 'true',
    auditSigningKeyPem: e.APN_AUDIT_SIGNING_KEY,
    auditCheckpointIntervalSeconds: e.APN_AUDIT_CHECKPOINT_INTERVAL_S,
    apiKeyMaxLifetimeSeconds: e.APN_API_KEY_MAX_LIFETIME_S,
    logLevel: e.LOG_LEVEL,
  });
}

function redactIfSecret(name: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (/TOKEN|SECRET|PASSWORD|_KEY$/.test(name)) return '<redacted>';
  if (/_URL$/.test(name)) return value.replace(/\/\/([^:@/]+):([^@/]+)@/, '//$1:<redacted>@');
  return value;
}

export const APP_CONFIG = Symbol('APP_CONFIG');
