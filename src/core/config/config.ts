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
    .refine((n) => n >= min && n <= max, `${name} must be between ${min} and ${max}`)
    .meta({ range: [min, max] });

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
      refuse(
        entry,
        'is neither an IP address, a CIDR (10.0.0.0/8, fd00::/8) nor a host name; separate entries with commas, without schemes or ports',
      );
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
  const bytes = /^[0-9a-fA-F]{64}$/.test(value)
    ? Buffer.from(value, 'hex')
    : /^[A-Za-z0-9+/_-]{43}=?$/.test(value)
      ? Buffer.from(value, 'base64')
      : null;
  if (!bytes || bytes.length !== 32) {
    ctx.addIssue({
      code: 'custom',
      message: 'APN_KEY_ENCRYPTION_KEY must be 32 random bytes as 64 hex digits or base64 (openssl rand -base64 32)',
    });
    return Buffer.alloc(0);
  }
  return bytes;
}

/** APN_CA_KEY: the mount CA's private key, PKCS#8 PEM, Ed25519 or ECDSA P-256. */
function caKey(value: string, ctx: z.RefinementCtx): string {
  try {
    const key = createPrivateKey(pemText(value));
    const usable =
      key.asymmetricKeyType === 'ed25519' || (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1');
    if (!usable) {
      ctx.addIssue({
        code: 'custom',
        message: `APN_CA_KEY is a ${key.asymmetricKeyType} key; use Ed25519 or ECDSA P-256 (openssl genpkey -algorithm ed25519)`,
      });
    }
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: 'APN_CA_KEY must be a private key in PEM (-----BEGIN PRIVATE KEY-----; newlines as is or as \\n)',
    });
  }
  return pemText(value);
}

/** APN_AUDIT_SIGNING_KEY: the key that signs audit checkpoints, PKCS#8 PEM, Ed25519. */
function auditSigningKey(value: string, ctx: z.RefinementCtx): string {
  try {
    const key = createPrivateKey(pemText(value));
    if (key.asymmetricKeyType !== 'ed25519') {
      ctx.addIssue({
        code: 'custom',
        message: `APN_AUDIT_SIGNING_KEY is a ${key.asymmetricKeyType} key; use Ed25519 (openssl genpkey -algorithm ed25519)`,
      });
    }
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: 'APN_AUDIT_SIGNING_KEY must be an Ed25519 private key in PEM (-----BEGIN PRIVATE KEY-----; newlines as is or as \\n)',
    });
  }
  return pemText(value);
}

export const ENV_SCHEMA = z
  .object({
    NODE_ENV: z
      .enum(['development', 'production', 'test'])
      .default('development')
      .describe(
        '`development`, `production` or `test`. `production` requires `APN_ADMIN_TOKEN`, `APN_KEY_ENCRYPTION_KEY`, `APN_CA_KEY` and `APN_AUDIT_SIGNING_KEY`.',
      ),
    PORT: intFrom('PORT', 0, 65535).default(3000).describe('HTTP port of the API: GraphQL, uploads, the consoles, health and metrics.'),
    HOST: z.string().min(1).default('0.0.0.0').describe('Address the HTTP server listens on.'),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// or postgresql:// URL')
      .optional()
      .describe('`postgres://` or `postgresql://` URL of PostgreSQL. Unset: embedded PostgreSQL (PGlite) in `APN_DATA_DIR`.'),
    APN_DATA_DIR: z
      .string()
      .min(1)
      .default('./.data')
      .describe(
        'Where the embedded database and the generated operator token are kept. One process at a time: it holds `APN_DATA_DIR/lock` while it runs, and a second process on the same directory refuses to start (exit status 1) naming the holder; a lock whose process no longer runs on this host is taken over. `memory` keeps the database in memory, writes nothing and takes no lock. Not used (and not locked) with `DATABASE_URL`.',
      ),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'REDIS_URL must be a redis:// or rediss:// URL')
      .optional()
      .describe('`redis://` or `rediss://` URL for the job queues. Unset: BullMQ’s PostgreSQL backend on the service’s database.'),
    APN_QUEUE_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,40}$/, 'APN_QUEUE_PREFIX must be 1-40 letters, digits, _ or -')
      .default('apn')
      .describe(
        'Redis key prefix of the queues, so several deployments can share one Redis (1–40 letters, digits, `_` or `-`). Used with `REDIS_URL` only.',
      ),
    APN_ROLE: z
      .enum(['all', 'api', 'worker'])
      .default('all')
      .describe('`api` (HTTP + GraphQL), `worker` (job processors, no HTTP) or `all` (both in one process).'),
    APN_METRICS_PORT: intFrom('APN_METRICS_PORT', 1, 65535)
      .optional()
      .describe(
        'With `APN_ROLE=worker`, serve `GET /health` and `GET /metrics` on this port (the api serves both on `PORT`). The worker’s `/health` runs the api’s checks: `200` when its database and queue backend answer, `503` otherwise. Unset: the worker serves no HTTP at all.',
      ),
    APN_ADMIN_TOKEN: z
      .string()
      .min(16, 'APN_ADMIN_TOKEN must be at least 16 characters')
      .optional()
      .describe(
        'Operator bootstrap token, at least 16 characters; required when `NODE_ENV=production`. If unset with the embedded database on disk, one is generated on first start, printed once and kept in `APN_DATA_DIR/admin-token`. If unset otherwise (`DATABASE_URL` set, or `APN_DATA_DIR=memory`), a new one is generated and printed at every start.',
      ),
    APN_SEED: z
      .enum(['reference', 'none'])
      .optional()
      .describe('`reference` loads the reference topology into an empty database at start; `none` loads nothing.'),
    APN_DRIVER: z
      .enum(['emulator', 'tapi'])
      .default('emulator')
      .describe(
        'The southbound driver: `emulator` (a database-backed digital twin of the network) or `tapi` (an ONF TAPI 2.1.3 connectivity-service client over RESTCONF; see [tapi.md](tapi.md): the topology must map the controller’s uuids, and lightpaths it does not map are refused).',
      ),
    APN_EMULATOR_HOP_MS: intFrom('APN_EMULATOR_HOP_MS', 0, 60_000)
      .default(20)
      .describe('How long the emulator takes to configure each hop, in milliseconds.'),
    APN_SETUP_LEAD_MS: intFrom('APN_SETUP_LEAD_MS', 0, 60_000)
      .default(250)
      .describe(
        'A setup job is taken this many milliseconds before its lightpath’s start and waits in the worker until the start: the queue’s pickup delay does not delay the lightpath, and nothing is configured before the start.',
      ),
    APN_TAPI_URL: z
      .string()
      .regex(/^https?:\/\//, 'APN_TAPI_URL must be an http:// or https:// URL')
      .optional()
      .describe(
        'Base URL of the TAPI controller (`/.well-known/host-meta` and the RESTCONF root live under it); required with `APN_DRIVER=tapi`. Credentials in it (`http://admin:secret@odl:8181`) are sent as HTTP Basic authentication.',
      ),
    APN_TAPI_TOKEN: z.string().min(1).optional().describe('Sent to the TAPI controller as `Authorization: Bearer <token>` when set.'),
    APN_TAPI_MODE: z
      .enum(['data', 'rpc'], { message: 'APN_TAPI_MODE must be data or rpc' })
      .default('data')
      .describe(
        'How connectivity-services are created and deleted: `data` (`POST` on the connectivity-context with the reservation id as uuid, `DELETE` to remove: TR-547) or `rpc` (the `create-connectivity-service` and `delete-connectivity-service` RPCs; the controller chooses the uuid, which is stored with the reservation: OpenDaylight TransportPCE, ONOS ODTN).',
      ),
    APN_TAPI_ROOT: z
      .string()
      .regex(/^\/[^\s?#]*$/, 'APN_TAPI_ROOT must be a path starting with "/", e.g. /restconf or /rests')
      .optional()
      .describe(
        'The RESTCONF root path, e.g. `/restconf`, `/rests` (OpenDaylight) or `/onos/restconf` (ONOS). Unset: read from the controller’s `/.well-known/host-meta` (RFC 8040 §3.1).',
      ),
    APN_TAPI_ACTIVATION_TIMEOUT_S: intFrom('APN_TAPI_ACTIVATION_TIMEOUT_S', 1, 86_400)
      .default(600)
      .describe(
        'How long one setup attempt waits for the service to be `INSTALLED` and `ENABLED`: optical activation, with power balancing hop by hop, takes minutes. A timed-out attempt leaves the service in place and the next attempt resumes the wait; after `APN_JOB_ATTEMPTS` the reservation is `FAILED`.',
      ),
    APN_TAPI_REMOVAL_TIMEOUT_S: intFrom('APN_TAPI_REMOVAL_TIMEOUT_S', 1, 86_400)
      .default(300)
      .describe(
        'How long one teardown attempt waits, through `PENDING_REMOVAL`, for a deleted service to be gone. The channel stays booked until it is; after `APN_JOB_ATTEMPTS` the reservation is `NEEDS_CLEANUP` and the reconciler keeps trying.',
      ),
    APN_STORAGE_DRIVER: z
      .enum(['emulator'])
      .default('emulator')
      .describe(
        'The storage driver: `emulator` (a database-backed twin of the NFS servers and the replica and cache nodes: exports, copies, purges).',
      ),
    APN_STORAGE_SPEEDUP: intFrom('APN_STORAGE_SPEEDUP', 1, 1_000_000_000)
      .default(1)
      .describe(
        'The storage emulator copies this many times faster than bytes ÷ min(lightpath goodput, storage throughput), so a test can replicate terabytes in seconds.',
      ),
    APN_HOLD_TTL_S: intFrom('APN_HOLD_TTL_S', 1, 86_400)
      .default(120)
      .describe('Seconds a `HELD` reservation waits for `commitReservation` before it expires.'),
    APN_MIN_DURATION_S: intFrom('APN_MIN_DURATION_S', 1, 86_400).default(60).describe('Shortest reservation window, in seconds.'),
    APN_MAX_DURATION_S: intFrom('APN_MAX_DURATION_S', 60, 315_360_000)
      .default(7_776_000)
      .describe('Longest window of a lightpath or GPU allocation, and of an availability search’s duration, in seconds (default 90 days).'),
    APN_MAX_ADVANCE_S: intFrom('APN_MAX_ADVANCE_S', 3_600, 315_360_000)
      .default(31_622_400)
      .describe('How far ahead a window may end, in seconds (default 366 days).'),
    APN_BOOKING_ATTEMPTS: intFrom('APN_BOOKING_ATTEMPTS', 1, 100)
      .default(12)
      .describe(
        'How many times a booking recomputes its path after losing a race to a concurrent booking before it answers `NO_CAPACITY`.',
      ),
    APN_JOB_ATTEMPTS: intFrom('APN_JOB_ATTEMPTS', 1, 100)
      .default(8)
      .describe('How many times a job (setup, teardown, hold expiry, mount attach and detach) runs before it gives up.'),
    APN_JOB_BACKOFF_MS: intFrom('APN_JOB_BACKOFF_MS', 1, 3_600_000)
      .default(1000)
      .describe('First retry delay of a failed job; it doubles with each retry (exponential backoff).'),
    APN_JOB_LOCK_S: intFrom('APN_JOB_LOCK_S', 2, 600)
      .default(10)
      .describe(
        'Lock a worker holds on a running job, renewed while the job runs; a job whose worker died is run again once its lock lapses (checked as often). Shorter: quicker recovery, more queue traffic.',
      ),
    APN_RECONCILE_INTERVAL_S: intFrom('APN_RECONCILE_INTERVAL_S', 1, 86_400)
      .default(30)
      .describe('How often the reconciler compares the database with the queue and the network.'),
    APN_DB_POOL_SIZE: intFrom('APN_DB_POOL_SIZE', 1, 500).default(20).describe('PostgreSQL connections per process.'),
    APN_WORKER_CONCURRENCY: intFrom('APN_WORKER_CONCURRENCY', 1, 1000)
      .default(32)
      .describe(
        'Jobs a worker process runs at once, per queue. Setups mostly wait on devices, so a wave of lightpaths starting together needs many in flight.',
      ),
    APN_MAX_QUERY_DEPTH: intFrom('APN_MAX_QUERY_DEPTH', 2, 50).default(10).describe('Deepest GraphQL query accepted.'),
    APN_MAX_QUERY_COMPLEXITY: intFrom('APN_MAX_QUERY_COMPLEXITY', 10, 1_000_000)
      .default(500)
      .describe('Most fields one GraphQL operation may select as written, fragments expanded.'),
    APN_MAX_QUERY_COST: intFrom('APN_MAX_QUERY_COST', 100, 10_000_000)
      .default(10_000)
      .describe(
        'Most fields one GraphQL operation could return: every field costs 1, and a list multiplies what it selects by its `first` argument (a variable counts as 100, an omitted one as its default) or, without `first`, by 10. Refused before it runs.',
      ),
    APN_QUERY_COST_PER_SECOND: intFrom('APN_QUERY_COST_PER_SECOND', 100, 100_000_000)
      .default(50_000)
      .describe(
        'Query cost (as `APN_MAX_QUERY_COST` counts it) one caller, an API key or the operator token, may spend per second, with a burst of two of the most expensive accepted queries. Further requests wait their turn, in order; one that would wait more than 5 s is refused with `NO_CAPACITY` (`extensions.retryAfterMs`). A booking costs a few units; the point is that one tenant’s flood of expensive queries cannot take the service’s event loop from the others.',
      ),
    APN_REQUEST_BUDGET_MS: intFrom('APN_REQUEST_BUDGET_MS', 100, 600_000)
      .default(10_000)
      .describe(
        'Time budget of one GraphQL request over HTTP: after it, the request starts no more database work and answers `BAD_USER_INPUT` at once. One request also holds at most a quarter of `APN_DB_POOL_SIZE` connections (at least 2), so other requests always find one.',
      ),
    APN_WEBHOOK_ALLOWED_TARGETS: z
      .string()
      .transform(allowedTargets)
      .optional()
      .describe(
        'Webhook targets inside the network that are accepted all the same, for on-premises billing systems: a comma-separated list of IP addresses, CIDRs (`10.20.0.0/16`, `fd00:1::/32`) and host names (matched exactly, not their subdomains; an allowed name is used whatever it resolves to). Empty: webhooks go to public addresses only (see [Billing webhooks](integrators.md#billing-webhooks)).',
      ),
    APN_RUN_UPLOAD_MAX_BYTES: intFrom('APN_RUN_UPLOAD_MAX_BYTES', 1024, 17_179_869_184)
      .default(268_435_456)
      .describe('Bytes one upload to a measured run may carry (default 256 MiB). See [Measured runs](tenants.md#measured-runs).'),
    APN_RUN_UPLOAD_MAX_LINES: intFrom('APN_RUN_UPLOAD_MAX_LINES', 10, 100_000_000)
      .default(2_000_000)
      .describe('Lines one upload may carry.'),
    APN_RUN_MAX_RECORDS: intFrom('APN_RUN_MAX_RECORDS', 10, 1_000_000_000)
      .default(20_000_000)
      .describe('Steps, nfsiostat samples and power samples one run may hold, each.'),
    APN_KEY_ENCRYPTION_KEY: z
      .string()
      .transform(keyEncryptionKey)
      .optional()
      .describe(
        '32 random bytes as 64 hex digits or base64 (`openssl rand -base64 32`): the key-encryption key that wraps (AES-256-GCM) the per-mount data keys of encrypted copies, the private keys of issued TLS certificates and the webhook signing secrets. Required when `NODE_ENV=production`. Unset otherwise: generated on first start and kept in `APN_DATA_DIR/key-encryption-key` (mode 0600) with the embedded database on disk, or generated at every start (`DATABASE_URL` set, or `APN_DATA_DIR=memory`; then every process has its own, so set it when several processes share a database). Never printed or logged. See [Data protection](tenants.md#data-protection).',
      ),
    APN_CA_KEY: z
      .string()
      .transform(caKey)
      .optional()
      .describe(
        'The mount CA’s private key, PKCS#8 PEM, Ed25519 or ECDSA P-256 (`openssl genpkey -algorithm ed25519`); newlines as they are or as `\\n`. It signs the RPC-with-TLS certificates of mounts and the CRL. Required when `NODE_ENV=production`; otherwise generated and kept in `APN_DATA_DIR/ca-key.pem` as the key-encryption key is.',
      ),
    APN_TLS_CERT_MAX_LIFETIME_S: intFrom('APN_TLS_CERT_MAX_LIFETIME_S', 3_600, 31_536_000)
      .default(604_800)
      .describe(
        'The longest an issued TLS certificate may live (default 7 days). Certificates cover exactly their GPU allocation’s window, so an `NFS_TLS` mount on a longer allocation is refused.',
      ),
    APN_TLS_HYBRID_KEX: z
      .enum(['true', 'false'], { message: 'APN_TLS_HYBRID_KEX must be true or false' })
      .default('false')
      .describe(
        '`true` states that the nodes’ TLS stacks (tlshd) negotiate the hybrid X25519MLKEM768 key exchange; the API then reports `NFS_TLS` as `HYBRID` rather than `CLASSICAL` against a quantum adversary. The service cannot observe the handshake: this is the operator’s statement.',
      ),
    APN_AUDIT_SIGNING_KEY: z
      .string()
      .transform(auditSigningKey)
      .optional()
      .describe(
        'The key that signs the audit checkpoints, PKCS#8 PEM, Ed25519 only (`openssl genpkey -algorithm ed25519`); newlines as they are or as `\\n`. Required when `NODE_ENV=production`; otherwise generated and kept in `APN_DATA_DIR/audit-signing-key.pem` as the key-encryption key is (every process its own with `DATABASE_URL` or `APN_DATA_DIR=memory`: set it when processes share a database). Never stored in the database, printed or logged. See [Audit a tenant can verify](tenants.md#audit-a-tenant-can-verify).',
      ),
    APN_AUDIT_CHECKPOINT_INTERVAL_S: intFrom('APN_AUDIT_CHECKPOINT_INTERVAL_S', 5, 86_400)
      .default(300)
      .describe('How often the service signs a checkpoint of the audit chain’s head, if it moved (default 5 minutes).'),
    APN_API_KEY_MAX_LIFETIME_S: intFrom('APN_API_KEY_MAX_LIFETIME_S', 3_600, 315_360_000)
      .default(31_622_400)
      .describe('The latest an API key’s `expiresAt` (at creation or rotation) may be, in seconds from now (default 366 days).'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info')
      .describe('`fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`. Logs are JSON (pino); tokens and secrets are redacted.'),
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
        message:
          'APN_KEY_ENCRYPTION_KEY is required when NODE_ENV=production (openssl rand -base64 32): it wraps the data keys of encrypted copies',
      });
    }
    if (env.NODE_ENV === 'production' && !env.APN_CA_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['APN_CA_KEY'],
        message:
          'APN_CA_KEY is required when NODE_ENV=production (openssl genpkey -algorithm ed25519): it signs the mounts’ TLS certificates and CRL',
      });
    }
    if (env.NODE_ENV === 'production' && !env.APN_AUDIT_SIGNING_KEY) {
      ctx.addIssue({
        code: 'custom',
        path: ['APN_AUDIT_SIGNING_KEY'],
        message:
          'APN_AUDIT_SIGNING_KEY is required when NODE_ENV=production (openssl genpkey -algorithm ed25519): it signs the audit checkpoints tenants verify',
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
  readonly jobLockSeconds: number;
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
  for (const key of Object.keys(ENV_SCHEMA.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') relevant[key] = value;
  }
  const parsed = ENV_SCHEMA.safeParse(relevant);
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
    jobLockSeconds: e.APN_JOB_LOCK_S,
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
