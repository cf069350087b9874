import {
  baseEnv,
  countRows,
  createTenantWithKey,
  gql,
  gqlOk,
  spawnService,
  startTestService,
  terminate,
  TestService,
  waitFor,
} from './support/service';

/**
 * API keys that expire and rotate without downtime, over HTTP: an expiry bounded by
 * APN_API_KEY_MAX_LIFETIME_S, an expired key refused; a rotation whose old secret keeps working for the
 * overlap and is refused after it, on this replica and another; every refused key operation answered with a
 * code naming the field, audited, and changing nothing.
 */

const CREATE =
  'mutation($role: Role!, $t: ID, $e: DateTime) { createApiKey(role: $role, tenantId: $t, expiresAt: $e) { id secret expiresAt } }';
const ROTATE =
  'mutation($id: ID!, $o: Int!, $e: DateTime) { rotateApiKey(id: $id, overlapSeconds: $o, expiresAt: $e) { id secret expiresAt previousSecretExpiresAt } }';
const ME = '{ me { role tenantId keyId } }';
const keyIdOf = (token: string) => token.split('_')[1];
const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

describe('API key expiry and rotation (e2e over HTTP)', () => {
  let t: TestService;
  let second: TestService['url'];
  let stopSecond: () => Promise<unknown>;
  let alpha: { tenantId: string; token: string };
  let beta: { tenantId: string; token: string };

  beforeAll(async () => {
    t = await startTestService({ APN_API_KEY_MAX_LIFETIME_S: '86400' });
    alpha = await createTenantWithKey(t, 'Rotation Alpha');
    beta = await createTenantWithKey(t, 'Rotation Beta');
    second = t.url;
    stopSecond = async () => undefined;
  });
  afterAll(async () => {
    await stopSecond?.();
    await t?.stop();
  });

  const refusalsOf = async (operation: string) =>
    (
      await t.sql.query(
        `SELECT actor, tenant_id, entity_id, data FROM audit_log WHERE action = 'api-key.refused' AND data->>'operation' = $1 ORDER BY id`,
        [operation],
      )
    ).rows as Array<{
      actor: string;
      tenant_id: string | null;
      entity_id: string | null;
      data: { code: string; field: string | null; reason: string };
    }>;

  it('creates a key with an expiry within APN_API_KEY_MAX_LIFETIME_S, refuses one beyond or too soon, audited, creating nothing', async () => {
    const expiresAt = inSeconds(3600);
    const created = (await gqlOk(t.url, t.adminToken, CREATE, { role: 'TENANT', t: alpha.tenantId, e: expiresAt })).createApiKey;
    expect(created.expiresAt).toBe(expiresAt);
    expect((await gqlOk(t.url, created.secret, ME)).me.keyId).toBe(created.id);
    const listed = (
      await gqlOk(t.url, alpha.token, '{ apiKeys(first: 100) { edges { node { id expiresAt rotatedAt previousSecretExpiresAt } } } }')
    ).apiKeys.edges.map((e: { node: unknown }) => e.node);
    expect(listed).toContainEqual({ id: created.id, expiresAt, rotatedAt: null, previousSecretExpiresAt: null });

    const keys = await countRows(t, 'api_keys');
    const tooFar = await gql(t.url, t.adminToken, CREATE, { role: 'TENANT', t: alpha.tenantId, e: inSeconds(86_400 + 600) });
    expect(tooFar.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'expiresAt', maxLifetimeSeconds: 86_400 });
    expect(tooFar.errors?.[0].message).toMatch(/APN_API_KEY_MAX_LIFETIME_S/);
    const past = await gql(t.url, t.adminToken, CREATE, { role: 'BILLING', e: inSeconds(-10) });
    expect(past.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'expiresAt' });
    expect(await countRows(t, 'api_keys')).toBe(keys);
    const refused = await refusalsOf('createApiKey');
    expect(refused.map((r) => [r.data.field, r.data.code, r.tenant_id])).toEqual([
      ['expiresAt', 'BAD_USER_INPUT', alpha.tenantId],
      ['expiresAt', 'BAD_USER_INPUT', null],
    ]);
  });

  it('refuses an expired key with UNAUTHENTICATED saying it expired', async () => {
    const created = (await gqlOk(t.url, t.adminToken, CREATE, { role: 'TENANT', t: beta.tenantId, e: inSeconds(120) })).createApiKey;
    // As if its time had come: the expiry is read from the database by every replica.
    await t.sql.query(`UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = $1`, [created.id]);
    const refused = await gql(t.url, created.secret, ME);
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(refused.errors?.[0].message).toMatch(new RegExp(`API key ${created.id} expired at`));
  });

  it('rotates without downtime: both secrets work during the overlap, the old one is refused after it', async () => {
    const key = (await gqlOk(t.url, t.adminToken, CREATE, { role: 'TENANT', t: alpha.tenantId })).createApiKey;
    // Remembered by this replica, as a busy client's key is.
    expect((await gqlOk(t.url, key.secret, ME)).me.keyId).toBe(key.id);
    const started = Date.now();
    const rotated = (await gqlOk(t.url, alpha.token, ROTATE, { id: key.id, o: 3 })).rotateApiKey;
    expect(rotated.id).toBe(key.id);
    expect(rotated.secret).not.toBe(key.secret);
    expect(keyIdOf(rotated.secret)).toBe(key.id);
    expect(Date.parse(rotated.previousSecretExpiresAt) - started).toBeGreaterThanOrEqual(2_500);
    expect(Date.parse(rotated.previousSecretExpiresAt) - started).toBeLessThanOrEqual(4_000);
    for (const secret of [key.secret, rotated.secret])
      expect((await gqlOk(t.url, secret, ME)).me).toMatchObject({ keyId: key.id, tenantId: alpha.tenantId });

    const old = await waitFor(
      async () => {
        const r = await gql(t.url, key.secret, ME);
        return r.status === 401 ? r : null;
      },
      10_000,
      'the old secret to be refused',
    );
    // Refused on time, not a cache lifetime later.
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(rotated.previousSecretExpiresAt));
    expect(Date.now() - Date.parse(rotated.previousSecretExpiresAt)).toBeLessThan(2_000);
    expect(old.errors?.[0].extensions.code).toBe('UNAUTHENTICATED');
    expect(old.errors?.[0].message).toMatch(/replaced by a rotation/);
    expect((await gqlOk(t.url, rotated.secret, ME)).me.keyId).toBe(key.id);

    const row = (await t.sql.query('SELECT rotated_at, previous_secret_expires_at FROM api_keys WHERE id = $1', [key.id])).rows[0];
    expect(row.rotated_at).not.toBeNull();
    const entry = (await t.sql.query(`SELECT tenant_id, data FROM audit_log WHERE action = 'api-key.rotated' AND entity_id = $1`, [key.id]))
      .rows[0];
    expect(entry).toMatchObject({ tenant_id: alpha.tenantId, data: { overlapSeconds: 3 } });
  });

  it('rotates with overlap 0 for an emergency: the old secret stops at once on this replica; a new expiry applies to the new secret', async () => {
    const key = (await gqlOk(t.url, t.adminToken, CREATE, { role: 'TENANT', t: alpha.tenantId, e: inSeconds(3600) })).createApiKey;
    await gqlOk(t.url, key.secret, ME);
    const expiresAt = inSeconds(7200);
    const rotated = (await gqlOk(t.url, t.adminToken, ROTATE, { id: key.id, o: 0, e: expiresAt })).rotateApiKey;
    expect(rotated.expiresAt).toBe(expiresAt);
    expect((await gql(t.url, key.secret, ME)).status).toBe(401);
    expect((await gqlOk(t.url, rotated.secret, ME)).me.keyId).toBe(key.id);
    // The overlap never outlives the key's own expiry.
    const short = (await gqlOk(t.url, t.adminToken, CREATE, { role: 'TENANT', t: alpha.tenantId, e: inSeconds(90) })).createApiKey;
    const clipped = (await gqlOk(t.url, t.adminToken, ROTATE, { id: short.id, o: 600 })).rotateApiKey;
    expect(Date.parse(clipped.previousSecretExpiresAt)).toBeLessThanOrEqual(Date.parse(short.expiresAt));
  });

  it('refuses bad rotations with a code naming the field, audited, leaving the key as it was', async () => {
    const key = (await gqlOk(t.url, t.adminToken, CREATE, { role: 'TENANT', t: alpha.tenantId })).createApiKey;
    const stored = async () =>
      (await t.sql.query('SELECT secret_sha256, previous_secret_sha256, expires_at, rotated_at FROM api_keys WHERE id = $1', [key.id]))
        .rows[0];
    const before = await stored();

    const negative = await gql(t.url, alpha.token, ROTATE, { id: key.id, o: -1 });
    expect(negative.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'overlapSeconds' });
    const tooLong = await gql(t.url, alpha.token, ROTATE, { id: key.id, o: 604_801 });
    expect(tooLong.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'overlapSeconds', maxOverlapSeconds: 604_800 });
    const badExpiry = await gql(t.url, alpha.token, ROTATE, { id: key.id, o: 60, e: inSeconds(86_400 * 30) });
    expect(badExpiry.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'expiresAt' });
    // Another tenant's key is NOT_FOUND, as one that does not exist.
    const foreign = await gql(t.url, beta.token, ROTATE, { id: key.id, o: 60 });
    expect(foreign.errors?.[0].extensions.code).toBe('NOT_FOUND');
    const missing = await gql(t.url, beta.token, ROTATE, { id: '00000000-0000-4000-8000-000000000000', o: 60 });
    expect(missing.errors?.[0].extensions.code).toBe('NOT_FOUND');
    expect((await gql(t.url, t.adminToken, ROTATE, { id: 'not-a-key', o: 60 })).errors?.[0].extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'id',
    });
    const billing = (await gqlOk(t.url, t.adminToken, CREATE, { role: 'BILLING' })).createApiKey;
    expect((await gql(t.url, billing.secret, ROTATE, { id: key.id, o: 60 })).errors?.[0].extensions.code).toBe('FORBIDDEN');

    expect(await stored()).toEqual(before);
    expect((await gqlOk(t.url, key.secret, ME)).me.keyId).toBe(key.id);

    const refused = await refusalsOf('rotateApiKey');
    expect(refused.map((r) => [r.data.code, r.data.field])).toEqual([
      ['BAD_USER_INPUT', 'overlapSeconds'],
      ['BAD_USER_INPUT', 'overlapSeconds'],
      ['BAD_USER_INPUT', 'expiresAt'],
      ['NOT_FOUND', null],
      ['NOT_FOUND', null],
    ]);
    // Alpha's refusals are on alpha's record; beta's probe of alpha's key is on beta's, not alpha's.
    expect(refused.map((r) => r.tenant_id)).toEqual([alpha.tenantId, alpha.tenantId, alpha.tenantId, beta.tenantId, beta.tenantId]);
    const alphaSees = (
      await gqlOk(t.url, alpha.token, '{ auditLog(first: 100) { edges { node { action actor data } } } }')
    ).auditLog.edges.map((e: { node: { action: string; actor: string } }) => e.node);
    expect(
      alphaSees.filter(
        (e: { action: string; actor: string }) => e.action === 'api-key.refused' && e.actor === `key:${keyIdOf(beta.token)}`,
      ),
    ).toEqual([]);

    // Revoked keys are not rotated.
    await gqlOk(t.url, t.adminToken, 'mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: key.id });
    const revoked = await gql(t.url, t.adminToken, ROTATE, { id: key.id, o: 60 });
    expect(revoked.errors?.[0].extensions).toMatchObject({ code: 'INVALID_STATE' });
    expect(revoked.errors?.[0].message).toMatch(/revoked/);
  });

  it('ends the overlap on another replica on time too', async () => {
    // A second api process on the same database, which verified and remembers the old secret.
    if (t.backend !== 'postgres') {
      // The embedded database serves one process; the cross-replica case runs in CI's PostgreSQL pass.
      return;
    }
    const other = await spawnService(
      baseEnv({
        DATABASE_URL: t.databaseUrl,
        APN_ADMIN_TOKEN: t.adminToken,
        APN_SEED: 'none',
        APN_ROLE: 'api',
        ...(process.env.TEST_REDIS_URL ? { REDIS_URL: process.env.TEST_REDIS_URL } : {}),
      }),
    );
    second = other.url!;
    stopSecond = () => terminate(other.child);
    const key = (await gqlOk(t.url, t.adminToken, CREATE, { role: 'TENANT', t: alpha.tenantId })).createApiKey;
    expect((await gqlOk(second, key.secret, ME)).me.keyId).toBe(key.id);
    // An overlap of at least the 5 s a replica remembers a key: the old secret ends on time there too.
    const rotated = (await gqlOk(t.url, t.adminToken, ROTATE, { id: key.id, o: 6 })).rotateApiKey;
    expect((await gqlOk(second, key.secret, ME)).me.keyId).toBe(key.id);
    expect((await gqlOk(second, rotated.secret, ME)).me.keyId).toBe(key.id);
    await waitFor(async () => (await gql(second, key.secret, ME)).status === 401, 15_000, 'the other replica to refuse the old secret');
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(rotated.previousSecretExpiresAt));
    expect(Date.now() - Date.parse(rotated.previousSecretExpiresAt)).toBeLessThan(2_000);
  });
});
