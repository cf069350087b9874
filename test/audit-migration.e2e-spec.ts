import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { DataSource } from 'typeorm';
import { MIGRATIONS } from '../migrations';
import { dataSourceOptions } from '../src/core/database/data-source-options';
import { PERSISTENCE } from '../src/persistence';
import { runMigrationsLocked } from '../src/core/database/migrate';
import { open } from '../src/protection/envelope';
import { createScratchDatabase, terminate, waitFor } from './support/service';

/**
 * The migrations of issue 12's audit and secrets on a database that already holds data: a format-1 audit
 * chain is checked, recorded and chained again under format 2 with each entry's tenant; webhook secrets
 * stored in clear are sealed under the key-encryption key and the clear column dropped; without the key,
 * the migration refuses to run, naming the variable.
 */

const FIRST_NEW = MIGRATIONS.findIndex((m) => m.name === 'AuditCheckpoints1765100000000');

async function database(): Promise<{ url: string; stop(): Promise<void> }> {
  if (process.env.TEST_DATABASE_URL) {
    const scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL);
    return { url: scratch.url, stop: () => scratch.drop() };
  }
  // PGlite loads its WebAssembly by dynamic import, which Jest's runtime cannot do: it runs in a child
  // process (the built service's own embedded server), and the migrations here reach it over the wire.
  const embedded = resolve(__dirname, '../dist/src/core/database/embedded-postgres.js');
  const child = spawn(
    process.execPath,
    [
      '-e',
      `require(${JSON.stringify(embedded)}).startEmbeddedPostgres('memory').then((db) => { console.log('URL ' + db.url); process.on('SIGTERM', () => db.stop().then(() => process.exit(0))); })`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolveUrl, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const match = /URL (\S+)/.exec(out);
      if (match) resolveUrl(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`the embedded database exited with ${code}`)));
  });
  return { url, stop: async () => void (await terminate(child)) };
}

async function connect(url: string, migrations: readonly unknown[]): Promise<DataSource> {
  const ds = new DataSource({ ...dataSourceOptions(url, 2, PERSISTENCE), migrations: migrations as never });
  await ds.initialize();
  return ds;
}

/**
 * Chains every committed entry. An entry is chained once every transaction that began before it on the
 * server has finished, so another database's migration running on the same server delays it: wait for it.
 */
async function linkAll(ds: DataSource): Promise<void> {
  await waitFor(
    async () => {
      await ds.query('SELECT audit_link(100)');
      const [{ n }] = await ds.query('SELECT count(*)::int AS n FROM audit_log WHERE seq IS NULL');
      return n === 0 ? true : null;
    },
    30_000,
    'every committed audit entry to be chained',
  );
}

/** A database migrated to just before the new migrations, with a tenant, a key, format-1 audit entries and a clear webhook secret. */
async function seeded(url: string): Promise<{ tenantId: string; keyId: string; subscriptionId: string; secret: string; head: string }> {
  const ds = await connect(url, MIGRATIONS.slice(0, FIRST_NEW));
  try {
    await runMigrationsLocked(ds);
    const tenantId = randomUUID();
    const keyId = randomUUID();
    const subscriptionId = randomUUID();
    const secret = `whsec_${randomBytes(24).toString('base64url')}`;
    await ds.query('INSERT INTO tenants (id, name) VALUES ($1, $2)', [tenantId, 'Before the upgrade']);
    await ds.query(`INSERT INTO api_keys (id, role, tenant_id, secret_sha256) VALUES ($1, 'TENANT', $2, $3)`, [
      keyId,
      tenantId,
      'a'.repeat(64),
    ]);
    const append = (action: string, type: string, id: string | null, data: object) =>
      ds.query(
        `INSERT INTO audit_log (xid, at, actor, action, entity_type, entity_id, data) VALUES (pg_current_xact_id()::text::bigint, clock_timestamp(), 'admin-token', $1, $2, $3, $4::jsonb)`,
        [action, type, id, JSON.stringify(data)],
      );
    await append('tenant.created', 'tenant', tenantId, { name: 'Before the upgrade' });
    await append('api-key.created', 'api-key', keyId, { role: 'TENANT' });
    await append('reference.overridden', 'reference_value', null, { key: 'x' });
    await linkAll(ds);
    await ds.query(
      `INSERT INTO webhook_subscriptions (id, url, secret, topics, created_by) VALUES ($1, 'https://billing.example/hook', $2, '{USAGE_EVENT}', 'admin-token')`,
      [subscriptionId, secret],
    );
    const [{ hash }] = await ds.query('SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1');
    return { tenantId, keyId, subscriptionId, secret, head: hash };
  } finally {
    await ds.destroy();
  }
}

describe('migrating an existing database to the verifiable audit and sealed secrets', () => {
  it('re-chains the audit log under format 2 with tenants, records the format-1 head, and seals webhook secrets', async () => {
    const db = await database();
    try {
      const before = await seeded(db.url);
      const kek = randomBytes(32);
      const ds = await connect(db.url, MIGRATIONS);
      try {
        await runMigrationsLocked(ds, { keyEncryptionKey: kek });
        await linkAll(ds);
        const rows: Array<{
          seq: string;
          action: string;
          tenant_id: string | null;
          data: Record<string, unknown>;
          ok: boolean;
          linked: boolean;
        }> = await ds.query(
          `SELECT seq::text AS seq, action, tenant_id, data,
                  content_hash = audit_content_hash(at, actor, action, entity_type, entity_id, tenant_id, data) AS ok,
                  hash = audit_link_hash(prev_hash, seq, content_hash)
                  AND prev_hash = coalesce(lag(hash) OVER (ORDER BY seq), repeat('0', 64)) AS linked
             FROM audit_log ORDER BY seq`,
        );
        expect(rows.map((r) => [r.action, r.tenant_id])).toEqual([
          ['tenant.created', before.tenantId],
          ['api-key.created', before.tenantId],
          ['reference.overridden', null],
          ['audit.chain-upgraded', null],
        ]);
        expect(rows.every((r) => r.ok && r.linked)).toBe(true);
        expect(rows[3].data).toMatchObject({
          format: 'apn-audit-entry/2',
          entries: 3,
          format1Head: before.head,
          format1Verified: true,
          format1FirstBrokenSeq: null,
        });

        const columns = (
          await ds.query(`SELECT column_name FROM information_schema.columns WHERE table_name = 'webhook_subscriptions'`)
        ).map((c: { column_name: string }) => c.column_name);
        expect(columns).not.toContain('secret');
        const [sub] = await ds.query('SELECT secret_sealed, kek_id FROM webhook_subscriptions WHERE id = $1', [before.subscriptionId]);
        expect(sub.secret_sealed.includes(Buffer.from(before.secret))).toBe(false);
        expect(open(kek, sub.secret_sealed, `webhook-secret:${before.subscriptionId}`).toString()).toBe(before.secret);
      } finally {
        await ds.destroy();
      }
    } finally {
      await db.stop();
    }
  });

  it('refuses to seal stored webhook secrets without the key-encryption key, naming the variable, and leaves them as they were', async () => {
    const db = await database();
    try {
      const before = await seeded(db.url);
      const ds = await connect(db.url, MIGRATIONS);
      try {
        await expect(runMigrationsLocked(ds)).rejects.toThrow(/APN_KEY_ENCRYPTION_KEY/);
        const [sub] = await ds.query('SELECT secret FROM webhook_subscriptions WHERE id = $1', [before.subscriptionId]);
        expect(sub.secret).toBe(before.secret);
      } finally {
        await ds.destroy();
      }
    } finally {
      await db.stop();
    }
  });
});
