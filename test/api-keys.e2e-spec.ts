import { createTenantWithKey, gql, gqlOk, startTestService, TestService, waitFor } from './support/service';

/**
 * API keys over HTTP: operators list and revoke any key; a tenant lists and revokes its own tenant's keys
 * and sees no other; a revoked key stops authenticating.
 */

const KEYS = `query($tenantId: ID, $first: Int, $after: String) {
  apiKeys(tenantId: $tenantId, first: $first, after: $after) {
    edges { cursor node { id role tenantId label createdAt revokedAt } }
    pageInfo { hasNextPage endCursor }
  }
}`;
const REVOKE = 'mutation($id: ID!) { revokeApiKey(id: $id) { id role tenantId label createdAt revokedAt } }';
const CREATE = 'mutation($role: Role!, $t: ID, $label: String) { createApiKey(role: $role, tenantId: $t, label: $label) { id secret } }';

interface ApiKey {
  id: string;
  role: string;
  tenantId: string | null;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
}

describe('API keys: listing and revocation (e2e over HTTP)', () => {
  let t: TestService;
  let alpha: { tenantId: string; token: string };
  let beta: { tenantId: string; token: string };

  beforeAll(async () => {
    t = await startTestService();
    alpha = await createTenantWithKey(t, 'Keys Alpha');
    beta = await createTenantWithKey(t, 'Keys Beta');
  });
  afterAll(() => t?.stop());

  const keyIdOf = (token: string) => token.split('_')[1];
  const create = async (role: string, tenantId: string | null, label: string | null = null) =>
    (await gqlOk(t.url, t.adminToken, CREATE, { role, t: tenantId, label })).createApiKey as { id: string; secret: string };
  const list = async (token: string, variables: Record<string, unknown> = {}) => {
    const data = await gqlOk(t.url, token, KEYS, variables);
    return data.apiKeys as { edges: Array<{ cursor: string; node: ApiKey }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
  };
  const whoAmI = (token: string) => gql(t.url, token, '{ me { role keyId } }');

  it('lists keys with role, tenant, label and dates, never a secret or its hash', async () => {
    const ci = await create('TENANT', alpha.tenantId, 'ci runner');
    const billing = await create('BILLING', null, 'finance');
    const alphaKeys = (await list(t.adminToken, { tenantId: alpha.tenantId })).edges.map((e) => e.node);
    expect(alphaKeys.map((k) => k.id).sort()).toEqual([keyIdOf(alpha.token), ci.id].sort());
    const labelled = alphaKeys.find((k) => k.id === ci.id)!;
    expect(labelled).toMatchObject({ role: 'TENANT', tenantId: alpha.tenantId, label: 'ci runner', revokedAt: null });
    expect(Number.isNaN(Date.parse(labelled.createdAt))).toBe(false);

    const all = (await list(t.adminToken, { first: 100 })).edges.map((e) => e.node.id);
    expect(all).toEqual(expect.arrayContaining([keyIdOf(alpha.token), keyIdOf(beta.token), ci.id, billing.id]));

    // Nothing that could authenticate leaves the service: neither the secret nor what is stored of it.
    const hashes = (await t.sql.query('SELECT secret_sha256 FROM api_keys')).rows.map((r) => r.secret_sha256 as string);
    const body = JSON.stringify(await list(t.adminToken, { first: 100 }));
    // The random part may itself contain "_": everything after apn_<keyId>_.
    for (const secret of [alpha.token, ci.secret, billing.secret]) expect(body).not.toContain(secret.split('_').slice(2).join('_'));
    for (const hash of hashes) expect(body).not.toContain(hash);
    const fields = await gqlOk(t.url, t.adminToken, '{ __type(name: "ApiKey") { fields { name } } }');
    expect(fields.__type.fields.map((f: { name: string }) => f.name).sort()).toEqual([
      'createdAt',
      'expiresAt',
      'id',
      'label',
      'previousSecretExpiresAt',
      'revokedAt',
      'role',
      'rotatedAt',
      'tenantId',
    ]);
  });

  it('pages through the keys, newest first', async () => {
    const first = await list(t.adminToken, { first: 1 });
    expect(first.edges).toHaveLength(1);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await list(t.adminToken, { first: 1, after: first.pageInfo.endCursor });
    expect(second.edges[0].node.id).not.toBe(first.edges[0].node.id);
    expect(Date.parse(second.edges[0].node.createdAt)).toBeLessThanOrEqual(Date.parse(first.edges[0].node.createdAt));
  });

  it('revokes a key: it stops authenticating, the revocation is audited once, and repeating it changes nothing', async () => {
    const key = await create('TENANT', alpha.tenantId, 'to revoke');
    expect((await whoAmI(key.secret)).data?.me).toEqual({ role: 'TENANT', keyId: key.id });

    const revoked = (await gqlOk(t.url, t.adminToken, REVOKE, { id: key.id })).revokeApiKey as ApiKey;
    expect(revoked).toMatchObject({ id: key.id, role: 'TENANT', tenantId: alpha.tenantId, label: 'to revoke' });
    expect(Number.isNaN(Date.parse(revoked.revokedAt ?? ''))).toBe(false);

    const refused = await waitFor(
      async () => {
        const r = await whoAmI(key.secret);
        return r.status === 401 ? r : null;
      },
      10_000,
      'the revoked key to be refused',
    );
    expect(refused.errors![0].extensions.code).toBe('UNAUTHENTICATED');

    const again = (await gqlOk(t.url, t.adminToken, REVOKE, { id: key.id })).revokeApiKey as ApiKey;
    expect(again.revokedAt).toBe(revoked.revokedAt);
    const audit = await t.sql.query("SELECT actor, data FROM audit_log WHERE action = 'api-key.revoked' AND entity_id = $1", [key.id]);
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0].actor).toBe('admin-token');
    expect(audit.rows[0].data).toMatchObject({ role: 'TENANT', tenantId: alpha.tenantId });

    const listed = (await list(t.adminToken, { tenantId: alpha.tenantId })).edges.map((e) => e.node);
    expect(listed.find((k) => k.id === key.id)?.revokedAt).toBe(revoked.revokedAt);
    // The tenant's other key is untouched.
    expect((await whoAmI(alpha.token)).status).toBe(200);
  });

  it('answers NOT_FOUND for an id that names no key, and BAD_USER_INPUT for one that is no id at all', async () => {
    const unknown = await gql(t.url, t.adminToken, REVOKE, { id: '00000000-0000-4000-8000-000000000000' });
    expect(unknown.errors![0].extensions.code).toBe('NOT_FOUND');
    expect(unknown.data).toBeNull();
    // Like every id argument: refused before anything runs, naming the argument.
    const malformed = await gql(t.url, t.adminToken, REVOKE, { id: 'not-a-uuid' });
    expect(malformed.status).toBe(400);
    expect(malformed.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
  });

  it('lets a tenant list and revoke its own tenant’s keys, and no other', async () => {
    const spare = await create('TENANT', alpha.tenantId, 'spare');
    const billing = await create('BILLING', null);
    const own = (await list(alpha.token)).edges.map((e) => e.node);
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((k) => k.tenantId === alpha.tenantId)).toBe(true);
    expect(own.map((k) => k.id)).toContain(spare.id);

    const other = await gql(t.url, alpha.token, KEYS, { tenantId: beta.tenantId });
    expect(other.errors![0].extensions.code).toBe('FORBIDDEN');

    // Another tenant's key, and a key of no tenant, are invisible to a tenant: NOT_FOUND, and they still work.
    for (const [id, token] of [
      [keyIdOf(beta.token), beta.token],
      [billing.id, billing.secret],
    ]) {
      const r = await gql(t.url, alpha.token, REVOKE, { id });
      expect(r.errors![0].extensions.code).toBe('NOT_FOUND');
      expect((await whoAmI(token)).status).toBe(200);
    }
    expect(
      (
        await t.sql.query('SELECT count(*)::int AS n FROM api_keys WHERE id = ANY($1) AND revoked_at IS NOT NULL', [
          [keyIdOf(beta.token), billing.id],
        ])
      ).rows[0].n,
    ).toBe(0);

    const revoked = (await gqlOk(t.url, alpha.token, REVOKE, { id: spare.id })).revokeApiKey as ApiKey;
    expect(revoked.revokedAt).not.toBeNull();
    await waitFor(async () => (await whoAmI(spare.secret)).status === 401, 10_000, 'the spare key to be refused');
    const audit = await t.sql.query("SELECT actor FROM audit_log WHERE action = 'api-key.revoked' AND entity_id = $1", [spare.id]);
    expect(audit.rows.map((r) => r.actor)).toEqual([`key:${keyIdOf(alpha.token)}`]);
  });

  it('refuses listing and revoking to a BILLING key', async () => {
    const billing = await create('BILLING', null);
    const listed = await gql(t.url, billing.secret, KEYS);
    expect(listed.errors![0].extensions.code).toBe('FORBIDDEN');
    const r = await gql(t.url, billing.secret, REVOKE, { id: keyIdOf(beta.token) });
    expect(r.errors![0].extensions.code).toBe('FORBIDDEN');
    expect((await whoAmI(beta.token)).status).toBe(200);
  });
});
