import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client as WsClient } from 'graphql-ws';
import request from 'supertest';
import WebSocket from 'ws';
import {
  baseEnv,
  createScratchDatabase,
  createTenantWithKey,
  endpointIds,
  gql,
  gqlOk,
  spawnService,
  startTestService,
  terminate,
  waitFor,
  type TestService,
} from './support/service';
import { copyEmbeddedTemplate } from './support/templates';

/**
 * Live updates: `reservationUpdated` over graphql-ws pushes each committed transition to the reservation's
 * tenant (and operators), never to another tenant, also when the transition is made by another process.
 */

const UPDATES = `subscription($id: ID) {
  reservationUpdated(id: $id) { reservationId state previousState at reason reservation { id state tenant { id } history { state } } }
}`;

interface Update {
  reservationId: string;
  state: string;
  previousState: string | null;
  at: string;
  reason: string;
  reservation: { id: string; state: string; tenant: { id: string }; history: Array<{ state: string }> };
}

/** A graphql-ws client that records every event and error of one subscription (or of another operation). */
function subscribe(httpUrl: string, token: string | null, variables: Record<string, unknown> = {}, query = UPDATES) {
  const client: WsClient = createClient({
    url: `${httpUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token === null ? undefined : { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
    // A connection the server closes is recorded by `closed` below, not logged.
    onNonLazyError: () => undefined,
  });
  const updates: Update[] = [];
  const errors: unknown[] = [];
  let ready!: () => void;
  const connected = new Promise<void>((r) => (ready = r));
  client.on('connected', () => ready());
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    client.on('closed', (event) => {
      const e = event as { code: number; reason: string };
      resolve({ code: e.code, reason: String(e.reason) });
    }),
  );
  client.subscribe<{ reservationUpdated: Update }>(
    { query, variables },
    {
      next: (message) => {
        if (message.errors) errors.push(...message.errors);
        if (message.data?.reservationUpdated) updates.push(message.data.reservationUpdated);
      },
      error: (error) => errors.push(...(Array.isArray(error) ? error : [error])),
      complete: () => undefined,
    },
  );
  return {
    updates,
    errors,
    connected,
    closed,
    states: (id: string) => updates.filter((u) => u.reservationId === id).map((u) => u.state),
    dispose: () => client.dispose(),
  };
}

/** Gives a just-opened subscription time to reach the server and start listening. */
const settle = () => new Promise((r) => setTimeout(r, 500));

const codes = (errors: unknown[]) => (errors as Array<{ extensions?: { code?: string } }>).map((e) => e.extensions?.code);

/** Creates another TENANT key for a tenant; returns its id and secret. */
async function tenantKey(url: string, adminToken: string, tenantId: string): Promise<{ id: string; secret: string }> {
  const created = await gqlOk(url, adminToken, 'mutation($t: ID!) { createApiKey(role: TENANT, tenantId: $t) { id secret } }', {
    t: tenantId,
  });
  return created.createApiKey as { id: string; secret: string };
}

const REVOKE = 'mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }';
const keyIdOf = (token: string) => token.split('_')[1];

/** Polls until `token` is refused over HTTP with 401 UNAUTHENTICATED. */
async function refusedOverHttp(url: string, token: string): Promise<void> {
  const r = await waitFor(
    async () => {
      const answer = await gql(url, token, '{ me { role } }');
      return answer.status === 401 ? answer : null;
    },
    15_000,
    'the revoked key to be refused over HTTP',
  );
  expect(r.errors![0].extensions.code).toBe('UNAUTHENTICATED');
}

/** The subscription ended with UNAUTHENTICATED saying the key was revoked, then its connection closed. */
async function expectEndedByRevocation(sub: ReturnType<typeof subscribe>): Promise<void> {
  await waitFor(async () => sub.errors.length > 0, 15_000, 'the revoked key’s subscription to end');
  expect(codes(sub.errors)).toEqual(['UNAUTHENTICATED']);
  expect(JSON.stringify(sub.errors)).toMatch(/revoked/);
  const closed = await sub.closed;
  expect(closed.code).toBe(4403);
  expect(closed.reason).toMatch(/revoked/);
}

describe('reservationUpdated subscription', () => {
  let t: TestService;
  let ep: Record<string, string>;
  const open: Array<{ dispose(): unknown }> = [];

  beforeAll(async () => {
    t = await startTestService({ APN_MIN_DURATION_S: '1', APN_EMULATOR_HOP_MS: '10' });
    ep = await endpointIds(t);
  });
  afterEach(async () => {
    for (const s of open.splice(0)) await s.dispose();
  });
  afterAll(async () => {
    await t?.stop();
  });

  const book = (token: string, src: string, dst: string, startInMs: number, lengthMs: number, autoCommit = true) => {
    const start = Date.now() + startInMs;
    return gqlOk(t.url, token, 'mutation($i: ReserveLightpathInput!) { reserveLightpath(input: $i) { id state } }', {
      i: {
        sourceEndpointId: ep[src],
        destinationEndpointId: ep[dst],
        rateGbps: 100,
        autoCommit,
        start: new Date(start).toISOString(),
        end: new Date(start + lengthMs).toISOString(),
      },
    }).then((r) => r.reserveLightpath as { id: string; state: string });
  };

  it('pushes every transition of a tenant’s reservation, made by the jobs too, and nothing of another tenant’s', async () => {
    const a = await createTenantWithKey(t, 'Subscriber A');
    const b = await createTenantWithKey(t, 'Subscriber B');
    const subA = subscribe(t.url, a.token);
    const subB = subscribe(t.url, b.token);
    const subOperator = subscribe(t.url, t.adminToken);
    open.push(subA, subB, subOperator);
    await Promise.all([subA.connected, subB.connected, subOperator.connected]);
    await settle();

    // A's lightpath comes up by its setup job and goes down by its teardown job, 1.5 s later.
    const r = await book(a.token, 'OTE-HQ-100G-1', 'TAM-GDC-100G-1', 1500, 1500);
    await waitFor(async () => subA.states(r.id).includes('RELEASED'), 30_000, 'A to hear RELEASED');
    expect(subA.states(r.id)).toEqual(['RESERVED', 'PROVISIONING', 'ACTIVE', 'RELEASING', 'RELEASED']);
    const active = subA.updates.find((u) => u.reservationId === r.id && u.state === 'ACTIVE')!;
    expect(active.previousState).toBe('PROVISIONING');
    expect(active.reason).toMatch(/channel/);
    expect(active.reservation.tenant.id).toBe(a.tenantId);
    expect(Number.isNaN(Date.parse(active.at))).toBe(false);
    expect(subA.errors).toEqual([]);

    // B's own booking reaches B; none of A's reaches B. The operator sees both.
    const own = await book(b.token, 'OTE-HQ-100G-2', 'TAM-GDC-100G-2', 3_600_000, 3_600_000);
    await waitFor(async () => subB.states(own.id).length > 0, 10_000, 'B to hear of its own booking');
    await waitFor(
      async () => subOperator.states(own.id).length > 0 && subOperator.states(r.id).includes('RELEASED'),
      10_000,
      'the operator to hear of both',
    );
    expect(subB.updates.every((u) => u.reservation.tenant.id === b.tenantId)).toBe(true);
    expect(subB.states(r.id)).toEqual([]);
  });

  it('delivers the reservation as it is now, with its history, on each event', async () => {
    const a = await createTenantWithKey(t, 'History reader');
    const sub = subscribe(t.url, a.token);
    open.push(sub);
    await sub.connected;
    await settle();
    const r = await book(a.token, 'OTE-HQ-100G-1', 'TAM-GDC-100G-1', 7_200_000, 3_600_000, false);
    await gqlOk(t.url, a.token, 'mutation($id: ID!) { commitReservation(id: $id) { id } }', { id: r.id });
    await gqlOk(t.url, a.token, 'mutation($id: ID!) { cancelReservation(id: $id) { id } }', { id: r.id });
    await waitFor(async () => sub.states(r.id).includes('CANCELLED'), 10_000, 'CANCELLED');
    expect(sub.states(r.id)).toEqual(['HELD', 'RESERVED', 'CANCELLED']);
    // The last event's history is complete, not the history cached by the first event of the subscription.
    const last = sub.updates.filter((u) => u.reservationId === r.id).at(-1)!;
    expect(last.reservation.history.map((h) => h.state)).toEqual(['HELD', 'RESERVED', 'CANCELLED']);
  });

  it('narrows to one reservation, and refuses another tenant’s reservation as NOT_FOUND', async () => {
    const a = await createTenantWithKey(t, 'Narrow A');
    const b = await createTenantWithKey(t, 'Narrow B');
    const mine = await book(a.token, 'OTE-HQ-100G-1', 'TAM-GDC-100G-1', 10_800_000, 3_600_000, false);
    const other = await book(a.token, 'OTE-HQ-100G-2', 'TAM-GDC-100G-2', 10_800_000, 3_600_000, false);
    const one = subscribe(t.url, a.token, { id: mine.id });
    const intruder = subscribe(t.url, b.token, { id: mine.id });
    open.push(one, intruder);
    await Promise.all([one.connected, intruder.connected]);
    await settle();
    await gqlOk(t.url, a.token, 'mutation($id: ID!) { cancelReservation(id: $id) { id } }', { id: other.id });
    await gqlOk(t.url, a.token, 'mutation($id: ID!) { cancelReservation(id: $id) { id } }', { id: mine.id });
    await waitFor(async () => one.states(mine.id).includes('CANCELLED'), 10_000, 'CANCELLED');
    expect(one.updates.map((u) => u.reservationId)).toEqual([mine.id]);
    await waitFor(async () => intruder.errors.length > 0, 10_000, 'an error for the intruder');
    expect(JSON.stringify(intruder.errors)).toContain('NOT_FOUND');
    expect(intruder.updates).toEqual([]);
  });

  it('validates subscriptions like any operation: unknown fields, depth and bad ids are refused before one starts', async () => {
    const a = await createTenantWithKey(t, 'Validated');
    const unknown = subscribe(t.url, a.token, {}, 'subscription { reservationUpdated { nope } }');
    let deep = 'id';
    for (let i = 0; i < 12; i++) deep = `source { site { node { site { id } } } } id`;
    for (let i = 0; i < 6; i++) deep = `reservation { path { a { site { endpoints { site { id } } } } } ${deep} }`;
    const tooDeep = subscribe(t.url, a.token, {}, `subscription { reservationUpdated { ${deep} } }`);
    const badId = subscribe(t.url, a.token, {}, 'subscription { reservationUpdated(id: "not-an-id") { state } }');
    open.push(unknown, tooDeep, badId);
    await waitFor(
      async () => unknown.errors.length > 0 && tooDeep.errors.length > 0 && badId.errors.length > 0,
      10_000,
      'an error for each',
    );
    expect(unknown.errors.map((e) => (e as { message: string }).message)).toEqual([expect.stringMatching(/^Cannot query field "nope"/)]);
    expect(JSON.stringify(tooDeep.errors)).toMatch(/too deep|too expensive/);
    expect(JSON.stringify(badId.errors)).toMatch(/UUID/);
    for (const sub of [unknown, tooDeep, badId]) {
      expect(codes(sub.errors)).toEqual(['BAD_USER_INPUT']);
      expect(sub.updates).toEqual([]);
    }
  });

  it('fails subscriptions with UNAUTHENTICATED and the reason when the token is wrong or missing', async () => {
    const wrong = subscribe(t.url, 'not-a-valid-token');
    const anonymous = subscribe(t.url, null);
    open.push(wrong, anonymous);
    await waitFor(async () => wrong.errors.length > 0 && anonymous.errors.length > 0, 10_000, 'errors for both');
    expect(codes(wrong.errors)).toEqual(['UNAUTHENTICATED']);
    expect(codes(anonymous.errors)).toEqual(['UNAUTHENTICATED']);
    expect(JSON.stringify(anonymous.errors)).toContain('connection_init');
    expect(JSON.stringify(wrong.errors)).toContain('token');
    expect(wrong.updates).toEqual([]);
    expect(anonymous.updates).toEqual([]);
  });

  it('ends a revoked key’s subscription with UNAUTHENTICATED and closes its connection, while another key’s keeps receiving', async () => {
    const a = await createTenantWithKey(t, 'Revoked subscriber');
    const second = await tenantKey(t.url, t.adminToken, a.tenantId);
    const doomed = subscribe(t.url, a.token);
    const kept = subscribe(t.url, second.secret);
    open.push(doomed, kept);
    await Promise.all([doomed.connected, kept.connected]);
    await settle();
    const before = await book(second.secret, 'OTE-HQ-100G-1', 'TAM-GDC-100G-1', 14_400_000, 3_600_000);
    await waitFor(
      async () => doomed.states(before.id).length > 0 && kept.states(before.id).length > 0,
      10_000,
      'both to hear the first booking',
    );

    const revoked = await gqlOk(t.url, t.adminToken, REVOKE, { id: keyIdOf(a.token) });
    expect(revoked.revokeApiKey.revokedAt).not.toBeNull();
    await expectEndedByRevocation(doomed);

    const after = await book(second.secret, 'OTE-HQ-100G-2', 'TAM-GDC-100G-2', 14_400_000, 3_600_000);
    await waitFor(async () => kept.states(after.id).length > 0, 10_000, 'the other key to hear the second booking');
    expect(doomed.updates.map((u) => u.reservationId)).toEqual([before.id]);
    expect(kept.errors).toEqual([]);

    await refusedOverHttp(t.url, a.token);
    // A new connection with the revoked key gets nothing either.
    const again = subscribe(t.url, a.token);
    open.push(again);
    await waitFor(async () => again.errors.length > 0, 10_000, 'the revoked key’s new subscription to be refused');
    expect(codes(again.errors)).toEqual(['UNAUTHENTICATED']);
    expect(again.updates).toEqual([]);
  });

  it('ends the subscription of a key revoked without any notification, by re-checking open subscriptions’ keys', async () => {
    const a = await createTenantWithKey(t, 'Quietly revoked');
    const sub = subscribe(t.url, a.token);
    open.push(sub);
    await sub.connected;
    await settle();
    // Triggers off for this one transaction: the revocation commits and nobody is notified, as when a
    // listening connection was down at the time.
    await t.sql.query('BEGIN');
    await t.sql.query('SET LOCAL session_replication_role = replica');
    await t.sql.query('UPDATE api_keys SET revoked_at = now() WHERE id = $1', [keyIdOf(a.token)]);
    await t.sql.query('COMMIT');
    await expectEndedByRevocation(sub);
  });

  it('ends a subscription opened with a secret a rotation replaced once the overlap ends; the new secret’s keeps receiving', async () => {
    const a = await createTenantWithKey(t, 'Rotating subscriber');
    const old = subscribe(t.url, a.token);
    open.push(old);
    await old.connected;
    await settle();
    const rotated = await gqlOk(
      t.url,
      a.token,
      'mutation($id: ID!) { rotateApiKey(id: $id, overlapSeconds: 2) { secret previousSecretExpiresAt } }',
      { id: keyIdOf(a.token) },
    );
    const fresh = subscribe(t.url, rotated.rotateApiKey.secret);
    open.push(fresh);
    await fresh.connected;
    await settle();
    // Within the overlap both receive.
    const during = await book(rotated.rotateApiKey.secret, 'OTE-HQ-100G-1', 'TAM-GDC-100G-1', 36_000_000, 3_600_000);
    await waitFor(
      async () => old.states(during.id).length > 0 && fresh.states(during.id).length > 0,
      10_000,
      'both to hear the booking during the overlap',
    );
    // After it, the old secret's subscription ends (within the 5 s re-check), the new one's does not.
    await waitFor(async () => old.errors.length > 0, 15_000, 'the old secret’s subscription to end');
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(rotated.rotateApiKey.previousSecretExpiresAt));
    expect(codes(old.errors)).toEqual(['UNAUTHENTICATED']);
    expect(JSON.stringify(old.errors)).toMatch(/replaced by a rotation/);
    const closed = await old.closed;
    expect(closed.code).toBe(4403);
    expect(closed.reason).toBe('API key expired');
    const after = await book(rotated.rotateApiKey.secret, 'OTE-HQ-100G-1', 'TAM-GDC-100G-1', 43_200_000, 3_600_000);
    await waitFor(async () => fresh.states(after.id).length > 0, 10_000, 'the new secret’s subscription to hear the next booking');
    expect(fresh.errors).toEqual([]);
  });

  it('refuses a subscription sent over HTTP, by POST or GET, with BAD_USER_INPUT pointing to the WebSocket', async () => {
    const operation = 'subscription { reservationUpdated { reservationId state } }';
    const post = await gql(t.url, t.adminToken, operation);
    const get = await request(t.url).get('/graphql').query({ query: operation }).set('authorization', `Bearer ${t.adminToken}`);
    // The router decodes percent-escapes: the same route by another spelling gets the same answer.
    const escaped = await request(t.url).post('/%67raphql').send({ query: operation }).set('authorization', `Bearer ${t.adminToken}`);
    for (const answer of [{ status: post.status, body: { data: post.data, errors: post.errors } }, get, escaped]) {
      expect(answer.status).toBe(400);
      expect(answer.body.data).toBeNull();
      expect(answer.body.errors).toHaveLength(1);
      expect(answer.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
      expect(answer.body.errors[0].message).toMatch(/WebSocket/);
      expect(answer.body.errors[0].message).toMatch(/connection_init/);
    }
    // In a document with several operations, the one chosen by operationName decides.
    const document = 'query Who { me { role } } subscription Live { reservationUpdated { state } }';
    const who = await request(t.url)
      .post('/graphql')
      .set('authorization', `Bearer ${t.adminToken}`)
      .send({ query: document, operationName: 'Who' });
    expect(who.status).toBe(200);
    expect(who.body.data).toEqual({ me: { role: 'OPERATOR' } });
    const live = await request(t.url)
      .post('/graphql')
      .set('authorization', `Bearer ${t.adminToken}`)
      .send({ query: document, operationName: 'Live' });
    expect(live.status).toBe(400);
    expect(live.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('refuses a mutation sent by GET with BAD_USER_INPUT pointing to POST, and changes nothing', async () => {
    const get = await request(t.url)
      .get('/graphql')
      .query({ query: 'mutation { createTenant(name: "Made by GET") { id } }' })
      .set('authorization', `Bearer ${t.adminToken}`);
    expect(get.status).toBe(400);
    expect(get.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(get.body.errors[0].message).toMatch(/POST/);
    expect((await t.sql.query("SELECT count(*)::int AS n FROM tenants WHERE name = 'Made by GET'")).rows[0].n).toBe(0);
    const query = await request(t.url).get('/graphql').query({ query: '{ me { role } }' }).set('authorization', `Bearer ${t.adminToken}`);
    expect(query.body.data).toEqual({ me: { role: 'OPERATOR' } });
  });

  it('refuses a query or a mutation sent over the WebSocket with BAD_USER_INPUT pointing to HTTP, and runs nothing', async () => {
    const query = subscribe(t.url, t.adminToken, {}, '{ me { role } }');
    const mutation = subscribe(t.url, t.adminToken, {}, 'mutation { createTenant(name: "Made over WebSocket") { id } }');
    open.push(query, mutation);
    await waitFor(async () => query.errors.length > 0 && mutation.errors.length > 0, 10_000, 'errors for both');
    for (const sub of [query, mutation]) {
      expect(codes(sub.errors)).toEqual(['BAD_USER_INPUT']);
      expect(JSON.stringify(sub.errors)).toMatch(/POST \/graphql/);
    }
    expect((await t.sql.query("SELECT count(*)::int AS n FROM tenants WHERE name = 'Made over WebSocket'")).rows[0].n).toBe(0);
  });
});

const serverUrl = process.env.TEST_DATABASE_URL;

/**
 * One database for several processes: a scratch database on a server; on the embedded engine the first
 * process's (started with `owner`), which the others reach at its address (`joining`).
 */
async function sharedDatabase(): Promise<{
  owner: Record<string, string>;
  joining(first: { databaseUrl: string | null }): Record<string, string>;
  drop(): Promise<void>;
}> {
  if (serverUrl) {
    const db = await createScratchDatabase(serverUrl);
    return { owner: { DATABASE_URL: db.url }, joining: () => ({ DATABASE_URL: db.url }), drop: () => db.drop() };
  }
  const copy = copyEmbeddedTemplate('reference');
  const dir = copy ? null : mkdtempSync(join(tmpdir(), 'apn-data-'));
  return {
    owner: { APN_DATA_DIR: copy?.dataDir ?? dir! },
    joining: (first) => ({ DATABASE_URL: first.databaseUrl! }),
    async drop() {
      copy?.remove();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('reservationUpdated across processes', () => {
  it('hears the transitions a separate worker process makes (APN_ROLE=api + APN_ROLE=worker)', async () => {
    const db = await sharedDatabase();
    const shared = {
      APN_MIN_DURATION_S: '1',
      APN_EMULATOR_HOP_MS: '10',
      APN_ADMIN_TOKEN: 'subscription-admin-token-0123456789',
      APN_QUEUE_PREFIX: `subs${Date.now()}`,
    };
    const api = await spawnService(baseEnv({ ...shared, ...db.owner, APN_ROLE: 'api' }));
    const worker = await spawnService(baseEnv({ ...shared, ...db.joining(api), APN_ROLE: 'worker' }));
    const token = shared.APN_ADMIN_TOKEN;
    const sub = subscribe(api.url!, token);
    try {
      await sub.connected;
      await settle();
      const tenant = await gqlOk(api.url!, token, 'mutation { createTenant(name: "Across") { id } }');
      const endpoints = await gqlOk(api.url!, token, '{ endpoints { id code } }');
      const id = (code: string) => endpoints.endpoints.find((e: { code: string }) => e.code === code).id;
      const start = Date.now() + 1500;
      const r = await gqlOk(api.url!, token, 'mutation($i: ReserveLightpathInput!) { reserveLightpath(input: $i) { id } }', {
        i: {
          tenantId: tenant.createTenant.id,
          sourceEndpointId: id('OTE-HQ-100G-1'),
          destinationEndpointId: id('TAM-GDC-100G-1'),
          rateGbps: 100,
          autoCommit: true,
          start: new Date(start).toISOString(),
          end: new Date(start + 1500).toISOString(),
        },
      });
      const rid = r.reserveLightpath.id as string;
      await waitFor(async () => sub.states(rid).includes('RELEASED'), 30_000, 'RELEASED from the worker');
      expect(sub.states(rid)).toEqual(['RESERVED', 'PROVISIONING', 'ACTIVE', 'RELEASING', 'RELEASED']);
    } finally {
      await sub.dispose();
      await terminate(worker.child);
      await terminate(api.child);
      await db.drop();
    }
  });

  it('ends a subscription held by one api process when another api process revokes its key', async () => {
    const db = await sharedDatabase();
    const shared = {
      APN_ADMIN_TOKEN: 'revocation-admin-token-0123456789',
      APN_QUEUE_PREFIX: `revoke${Date.now()}`,
      APN_ROLE: 'api',
    };
    const holder = await spawnService(baseEnv({ ...shared, ...db.owner }));
    const revoker = await spawnService(baseEnv({ ...shared, ...db.joining(holder) }));
    const admin = shared.APN_ADMIN_TOKEN;
    const subs: Array<ReturnType<typeof subscribe>> = [];
    try {
      const tenant = await gqlOk(revoker.url!, admin, 'mutation { createTenant(name: "Across revocation") { id } }');
      const tenantId = tenant.createTenant.id as string;
      const doomedKey = await tenantKey(revoker.url!, admin, tenantId);
      const keptKey = await tenantKey(revoker.url!, admin, tenantId);
      const doomed = subscribe(holder.url!, doomedKey.secret);
      const kept = subscribe(holder.url!, keptKey.secret);
      subs.push(doomed, kept);
      await Promise.all([doomed.connected, kept.connected]);
      await settle();
      // The holder has just verified the key, so it remembers it: the revocation must reach it anyway.
      expect((await gql(holder.url!, doomedKey.secret, '{ me { role } }')).status).toBe(200);

      await gqlOk(revoker.url!, admin, REVOKE, { id: doomedKey.id });
      await expectEndedByRevocation(doomed);
      await refusedOverHttp(holder.url!, doomedKey.secret);

      const endpoints = await gqlOk(revoker.url!, admin, '{ endpoints { id code } }');
      const id = (code: string) => endpoints.endpoints.find((e: { code: string }) => e.code === code).id;
      const start = Date.now() + 7_200_000;
      const r = await gqlOk(revoker.url!, keptKey.secret, 'mutation($i: ReserveLightpathInput!) { reserveLightpath(input: $i) { id } }', {
        i: {
          sourceEndpointId: id('OTE-HQ-100G-1'),
          destinationEndpointId: id('TAM-GDC-100G-1'),
          rateGbps: 100,
          autoCommit: true,
          start: new Date(start).toISOString(),
          end: new Date(start + 3_600_000).toISOString(),
        },
      });
      await waitFor(async () => kept.states(r.reserveLightpath.id).length > 0, 10_000, 'the other key to hear the booking');
      expect(doomed.updates).toEqual([]);
      expect(kept.errors).toEqual([]);
    } finally {
      for (const s of subs) await s.dispose();
      await terminate(revoker.child);
      await terminate(holder.child);
      await db.drop();
    }
  });
});
