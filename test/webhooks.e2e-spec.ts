import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { countRows, createTenantWithKey, gql, gqlOk, startTestService, waitFor, type TestService } from './support/service';

/** The nodes of one page of a connection (webhookSubscriptions, webhookDeliveries). */
const nodeOf = (edge: { node: any }) => edge.node;

/**
 * Billing webhooks end to end: a real HTTP receiver verifies each delivery's HMAC signature and timestamp
 * the way a billing system would, fails on purpose to exercise retries and the dead letter, and sees the
 * same event id again when a dead delivery is re-driven.
 */

interface Received {
  eventId: string;
  topic: string;
  body: string;
  signatureOk: boolean;
  ageSeconds: number;
}

interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** TCP connections accepted, requests or not. */
  connections(): number;
  setSecret(s: string): void;
  close(): Promise<void>;
}

/** A receiver answering with `status()` (and `headers`) for each request, recording what it got. */
async function receiver(status: () => number, headers: Record<string, string> = {}): Promise<Receiver> {
  const received: Received[] = [];
  let secret = '';
  let connections = 0;
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const header = String(req.headers['x-apn-signature'] ?? '');
      const t = Number(/t=(\d+)/.exec(header)?.[1]);
      const v1 = /v1=([0-9a-f]{64})/.exec(header)?.[1] ?? '';
      const expected = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
      const signatureOk = v1.length === 64 && timingSafeEqual(Buffer.from(v1, 'hex'), Buffer.from(expected, 'hex'));
      received.push({
        eventId: String(req.headers['x-apn-event-id']),
        topic: String(req.headers['x-apn-topic']),
        body,
        signatureOk,
        ageSeconds: Date.now() / 1000 - t,
      });
      res.statusCode = status();
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      res.end();
    });
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/billing/hook`,
    port,
    received,
    connections: () => connections,
    setSecret: (s) => (secret = s),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const hourStart = (hoursAgo: number) => new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - hoursAgo * 3_600_000).toISOString();

const SUBSCRIBE =
  'mutation($i: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $i) { secret subscription { id url topics active } } }';
const RECORD = 'mutation($e: [UsageEventInput!]!) { recordUsage(events: $e) { accepted duplicates } }';

const usageEventFor = (tenantId: string, id: string) => ({
  specversion: '1.0',
  id,
  source: 'urn:apn:test:nfs-stats',
  type: 'nfs.bytes_read',
  time: hourStart(2),
  subject: tenantId,
  data: { quantity: '123456789', unit: 'byte' },
});

/** Rows a refused request must not have written. */
const writes = async (t: TestService) => ({
  subscriptions: await countRows(t, 'webhook_subscriptions'),
  audit: await countRows(t, 'audit_log'),
});

describe('billing webhooks', () => {
  let t: TestService;
  let tenant: { tenantId: string; token: string };
  let billing: string;

  beforeAll(async () => {
    // The receivers below listen on 127.0.0.1, inside the network: the operator allows exactly that address.
    t = await startTestService({ APN_JOB_ATTEMPTS: '3', APN_JOB_BACKOFF_MS: '100', APN_WEBHOOK_ALLOWED_TARGETS: '127.0.0.1/32' });
    tenant = await createTenantWithKey(t, 'Webhook tenant');
    billing = (await gqlOk(t.url, t.adminToken, 'mutation { createApiKey(role: BILLING) { secret } }')).createApiKey.secret;
  });
  afterAll(async () => {
    await t?.stop();
  });

  const subscribe = async (url: string, topics: string[], token = billing) =>
    (await gqlOk(t.url, token, SUBSCRIBE, { i: { url, topics } })).createWebhookSubscription as {
      secret: string;
      subscription: { id: string };
    };

  const usageEvent = (id: string) => usageEventFor(tenant.tenantId, id);
  const record = (events: unknown[]) => gqlOk(t.url, billing, RECORD, { e: events });

  it('delivers each usage event once, signed over the body with a fresh timestamp', async () => {
    const hook = await receiver(() => 204);
    try {
      const sub = await subscribe(hook.url, ['USAGE_EVENT']);
      hook.setSecret(sub.secret);
      expect(sub.secret).toMatch(/^whsec_/);
      await record([usageEvent('evt-1'), usageEvent('evt-2')]);
      await record([usageEvent('evt-1')]); // a duplicate: accepted once, delivered once
      await waitFor(async () => hook.received.length >= 2, 15_000, 'two deliveries');
      await new Promise((r) => setTimeout(r, 1000));
      expect(hook.received).toHaveLength(2);
      for (const r of hook.received) {
        expect(r.signatureOk).toBe(true);
        expect(r.topic).toBe('USAGE_EVENT');
        expect(r.ageSeconds).toBeLessThan(60);
        const event = JSON.parse(r.body);
        expect(event).toMatchObject({ specversion: '1.0', source: 'urn:apn:test:nfs-stats', subject: tenant.tenantId });
        expect(r.eventId).toContain(event.id);
      }
      const delivered = await gqlOk(
        t.url,
        billing,
        'query($s: ID) { webhookDeliveries(subscriptionId: $s) { edges { node { state attempts } } } }',
        {
          s: sub.subscription.id,
        },
      );
      expect(delivered.webhookDeliveries.edges.map(nodeOf)).toEqual([
        { state: 'DELIVERED', attempts: 1 },
        { state: 'DELIVERED', attempts: 1 },
      ]);

      // A page at a time, newest first: the second page continues where the first ended, and is the last.
      const page = async (first: number, after: string | null) =>
        (
          await gqlOk(
            t.url,
            billing,
            'query($s: ID, $n: Int, $a: String) { webhookDeliveries(subscriptionId: $s, first: $n, after: $a) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }',
            { s: sub.subscription.id, n: first, a: after },
          )
        ).webhookDeliveries;
      const whole = await page(10, null);
      expect(whole.pageInfo.hasNextPage).toBe(false);
      const one = await page(1, null);
      expect(one.pageInfo).toEqual({ hasNextPage: true, endCursor: one.edges[0].cursor });
      const two = await page(1, one.pageInfo.endCursor);
      expect(two.pageInfo.hasNextPage).toBe(false);
      expect([...one.edges, ...two.edges].map(nodeOf)).toEqual(whole.edges.map(nodeOf));
    } finally {
      await hook.close();
    }
  });

  it('retries with backoff, ends DEAD, and a re-drive delivers the same event id and body', async () => {
    let healthy = false;
    const hook = await receiver(() => (healthy ? 200 : 503));
    try {
      const sub = await subscribe(hook.url, ['USAGE_EVENT']);
      hook.setSecret(sub.secret);
      await record([usageEvent('evt-dead')]);
      const dead = await waitFor(
        async () => {
          const d = (
            await gqlOk(
              t.url,
              billing,
              'query($s: ID) { webhookDeliveries(subscriptionId: $s, state: DEAD) { edges { node { id eventId attempts lastStatus lastError } } } }',
              { s: sub.subscription.id },
            )
          ).webhookDeliveries.edges.map(nodeOf);
          return d.length > 0 ? d[0] : null;
        },
        20_000,
        'the delivery to go DEAD',
      );
      expect(dead).toMatchObject({ attempts: 3, lastStatus: 503, lastError: 'HTTP 503' });
      expect(hook.received).toHaveLength(3);
      expect(new Set(hook.received.map((r) => r.eventId)).size).toBe(1);

      healthy = true;
      const again = await gqlOk(t.url, billing, 'mutation($id: ID!) { redriveWebhookDelivery(id: $id) { state } }', { id: dead.id });
      expect(again.redriveWebhookDelivery.state).toBe('PENDING');
      await waitFor(async () => hook.received.length === 4, 15_000, 'the re-driven delivery');
      const [first, , , last] = hook.received;
      expect(last.eventId).toBe(first.eventId);
      expect(last.body).toBe(first.body);
      expect(last.signatureOk).toBe(true);
      const after = await gqlOk(
        t.url,
        billing,
        'query($s: ID) { webhookDeliveries(subscriptionId: $s) { edges { node { state attempts } } } }',
        {
          s: sub.subscription.id,
        },
      );
      expect(after.webhookDeliveries.edges.map(nodeOf)).toEqual([{ state: 'DELIVERED', attempts: 4 }]);
      const redriveDelivered = await gql(t.url, billing, 'mutation($id: ID!) { redriveWebhookDelivery(id: $id) { state } }', {
        id: dead.id,
      });
      expect(redriveDelivered.errors![0].extensions).toMatchObject({ code: 'INVALID_STATE', state: 'DELIVERED' });
    } finally {
      await hook.close();
    }
  });

  it('sends an invoice preview once per content, to INVOICE_PREVIEW subscribers only', async () => {
    const invoices = await receiver(() => 200);
    const usageOnly = await receiver(() => 200);
    try {
      const sub = await subscribe(invoices.url, ['INVOICE_PREVIEW']);
      invoices.setSecret(sub.secret);
      await subscribe(usageOnly.url, ['USAGE_EVENT']);
      const period = new Date().toISOString().slice(0, 7);
      const send = () =>
        gqlOk(t.url, billing, 'mutation($t: ID!, $p: String!) { sendInvoicePreview(tenantId: $t, period: $p) }', {
          t: tenant.tenantId,
          p: period,
        });
      expect((await send()).sendInvoicePreview).toBe(1);
      expect((await send()).sendInvoicePreview).toBe(0);
      await waitFor(async () => invoices.received.length === 1, 15_000, 'the invoice preview');
      const got = invoices.received[0];
      expect(got.signatureOk).toBe(true);
      expect(got.topic).toBe('INVOICE_PREVIEW');
      expect(got.eventId).toContain(`invoice-preview:${tenant.tenantId}:${period}`);
      expect(JSON.parse(got.body)).toHaveProperty('lines');
      expect(usageOnly.received.filter((r) => r.topic === 'INVOICE_PREVIEW')).toEqual([]);
    } finally {
      await invoices.close();
      await usageOnly.close();
    }
  });

  it('refuses tenants, and bad endpoints naming the field', async () => {
    const asTenant = await gql(
      t.url,
      tenant.token,
      'mutation { createWebhookSubscription(input: { url: "https://billing.example.com/hook", topics: [USAGE_EVENT] }) { secret } }',
    );
    // A tenant subscribes to its audit checkpoints only (test/audit.e2e-spec.ts), never to billing topics.
    expect(asTenant.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.topics' });
    expect(asTenant.errors![0].message).toMatch(/AUDIT_CHECKPOINT only/);
    const bad = await gql(
      t.url,
      billing,
      'mutation { createWebhookSubscription(input: { url: "ftp://billing.example.com", topics: [USAGE_EVENT] }) { secret } }',
    );
    expect(bad.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.url' });
    const none = await gql(
      t.url,
      billing,
      'mutation { createWebhookSubscription(input: { url: "https://billing.example.com/hook", topics: [] }) { secret } }',
    );
    expect(none.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.topics' });
  });

  it('does not follow a redirect: the attempt fails with its status and the redirect target sees nothing', async () => {
    const inside = await receiver(() => 200);
    const redirecting = await receiver(() => 307, { location: inside.url });
    try {
      const sub = await subscribe(redirecting.url, ['USAGE_EVENT']);
      await record([usageEvent('evt-redirect')]);
      const dead = await waitFor(
        async () => {
          const d = (
            await gqlOk(
              t.url,
              billing,
              'query($s: ID) { webhookDeliveries(subscriptionId: $s, state: DEAD) { edges { node { attempts lastStatus lastError } } } }',
              { s: sub.subscription.id },
            )
          ).webhookDeliveries.edges.map(nodeOf);
          return d.length > 0 ? d[0] : null;
        },
        20_000,
        'the redirected delivery to go DEAD',
      );
      expect(dead).toMatchObject({ attempts: 3, lastStatus: 307, lastError: 'HTTP 307' });
      expect(redirecting.received).toHaveLength(3);
      expect(inside.connections()).toBe(0);
    } finally {
      await redirecting.close();
      await inside.close();
    }
  });

  it('lets a BILLING key see and manage only the subscriptions it created; the operator manages all', async () => {
    const otherBilling = (await gqlOk(t.url, t.adminToken, 'mutation { createApiKey(role: BILLING) { secret } }')).createApiKey
      .secret as string;
    const hook = await receiver(() => 503);
    try {
      const mine = await subscribe(hook.url, ['USAGE_EVENT']);
      await record([usageEvent('evt-owned')]);
      const dead = await waitFor(
        async () => {
          const d = (
            await gqlOk(t.url, billing, 'query($s: ID) { webhookDeliveries(subscriptionId: $s, state: DEAD) { edges { node { id } } } }', {
              s: mine.subscription.id,
            })
          ).webhookDeliveries.edges.map(nodeOf);
          return d.length > 0 ? d[0] : null;
        },
        20_000,
        'a DEAD delivery',
      );

      // Another BILLING key neither sees nor touches it, and cannot tell it from one that does not exist.
      const listed = (
        await gqlOk(t.url, otherBilling, '{ webhookSubscriptions { edges { node { id } } } }')
      ).webhookSubscriptions.edges.map(nodeOf) as Array<{ id: string }>;
      expect(listed).toEqual([]);
      expect(
        (await gqlOk(t.url, otherBilling, '{ webhookDeliveries { edges { node { id } } } }')).webhookDeliveries.edges.map(nodeOf),
      ).toEqual([]);
      expect(
        (
          await gqlOk(t.url, otherBilling, 'query($s: ID) { webhookDeliveries(subscriptionId: $s) { edges { node { id } } } }', {
            s: mine.subscription.id,
          })
        ).webhookDeliveries.edges.map(nodeOf),
      ).toEqual([]);
      const unknownId = '00000000-0000-4000-8000-000000000000';
      const del = (id: string) => gql(t.url, otherBilling, 'mutation($id: ID!) { deleteWebhookSubscription(id: $id) { active } }', { id });
      const redrive = (id: string) => gql(t.url, otherBilling, 'mutation($id: ID!) { redriveWebhookDelivery(id: $id) { state } }', { id });
      for (const [theirs, none] of [
        [await del(mine.subscription.id), await del(unknownId)],
        [await redrive(dead.id), await redrive(unknownId)],
      ]) {
        expect(theirs.errors![0].extensions.code).toBe('NOT_FOUND');
        expect(theirs.errors![0].message.replace(mine.subscription.id, '<id>').replace(dead.id, '<id>')).toBe(
          none.errors![0].message.replace(unknownId, '<id>'),
        );
      }
      const row = await t.sql.query('SELECT active FROM webhook_subscriptions WHERE id = $1', [mine.subscription.id]);
      expect(row.rows[0].active).toBe(true);
      expect((await t.sql.query('SELECT state FROM webhook_deliveries WHERE id = $1', [dead.id])).rows[0].state).toBe('DEAD');

      // Its own subscription it manages; the first key does not see that one.
      const own = await subscribe(hook.url, ['INVOICE_PREVIEW'], otherBilling);
      expect(
        (
          (await gqlOk(t.url, otherBilling, '{ webhookSubscriptions { edges { node { id } } } }')).webhookSubscriptions.edges.map(
            nodeOf,
          ) as Array<{ id: string }>
        ).map((s) => s.id),
      ).toEqual([own.subscription.id]);
      const firstKeySees = (
        (await gqlOk(t.url, billing, '{ webhookSubscriptions { edges { node { id } } } }')).webhookSubscriptions.edges.map(
          nodeOf,
        ) as Array<{ id: string }>
      ).map((s) => s.id);
      expect(firstKeySees).toContain(mine.subscription.id);
      expect(firstKeySees).not.toContain(own.subscription.id);
      expect(
        (
          await gqlOk(t.url, otherBilling, 'mutation($id: ID!) { deleteWebhookSubscription(id: $id) { active } }', {
            id: own.subscription.id,
          })
        ).deleteWebhookSubscription.active,
      ).toBe(false);

      // The operator sees every subscription and delivery, and manages them.
      const all = (
        (await gqlOk(t.url, t.adminToken, '{ webhookSubscriptions { edges { node { id } } } }')).webhookSubscriptions.edges.map(
          nodeOf,
        ) as Array<{ id: string }>
      ).map((s) => s.id);
      expect(all).toEqual(expect.arrayContaining([mine.subscription.id, own.subscription.id]));
      // Two at a time, oldest first, the pages together are the whole list in the same order.
      const paged: string[] = [];
      for (let after: string | null = null, more = true; more;) {
        const page: { edges: Array<{ node: { id: string } }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } } = (
          await gqlOk(
            t.url,
            t.adminToken,
            'query($a: String) { webhookSubscriptions(first: 2, after: $a) { edges { node { id } } pageInfo { hasNextPage endCursor } } }',
            { a: after },
          )
        ).webhookSubscriptions;
        paged.push(...page.edges.map((e) => e.node.id));
        ({ hasNextPage: more, endCursor: after } = page.pageInfo);
      }
      expect(paged).toEqual(all);
      expect(
        (
          await gqlOk(t.url, t.adminToken, 'query($s: ID) { webhookDeliveries(subscriptionId: $s) { edges { node { id } } } }', {
            s: mine.subscription.id,
          })
        ).webhookDeliveries.edges.map(nodeOf),
      ).toEqual([{ id: dead.id }]);
      expect(
        (await gqlOk(t.url, t.adminToken, 'mutation($id: ID!) { redriveWebhookDelivery(id: $id) { state } }', { id: dead.id }))
          .redriveWebhookDelivery.state,
      ).toBe('PENDING');
      expect(
        (
          await gqlOk(t.url, t.adminToken, 'mutation($id: ID!) { deleteWebhookSubscription(id: $id) { active } }', {
            id: mine.subscription.id,
          })
        ).deleteWebhookSubscription.active,
      ).toBe(false);
    } finally {
      await hook.close();
    }
  });

  it('bounds every input, naming the field, and writes nothing', async () => {
    const before = await writes(t);
    const create = (i: Record<string, unknown>) =>
      gql(t.url, billing, SUBSCRIBE, { i: { url: 'https://billing.example.com/hook', topics: ['USAGE_EVENT'], ...i } });
    const longUrl = await create({ url: `https://billing.example.com/${'a'.repeat(2049 - 'https://billing.example.com/'.length)}` });
    expect(longUrl.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.url' });
    expect(longUrl.errors![0].message).toMatch(/2048/);
    const longOnceEncoded = await create({ url: `https://billing.example.com/${'é'.repeat(400)}` });
    expect(longOnceEncoded.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.url' });
    expect(longOnceEncoded.errors![0].message).toMatch(/percent-encoded; at most 2048/);
    const topics = await create({ topics: ['USAGE_EVENT', 'INVOICE_PREVIEW', 'USAGE_EVENT'] });
    expect(topics.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.topics' });
    const hugeTenant = 'x'.repeat(100_000);
    const tenantId = await create({ tenantId: hugeTenant });
    expect(tenantId.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.tenantId' });
    expect(tenantId.errors![0].message.length).toBeLessThan(300);
    const unknownTenant = await create({ tenantId: '00000000-0000-4000-8000-000000000000' });
    expect(unknownTenant.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.tenantId' });

    for (const mutation of ['deleteWebhookSubscription(id: $id) { active }', 'redriveWebhookDelivery(id: $id) { state }']) {
      const r = await gql(t.url, billing, `mutation($id: ID!) { ${mutation} }`, { id: hugeTenant });
      expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'id' });
      expect(r.errors![0].message.length).toBeLessThan(300);
    }
    const first = await gql(t.url, billing, '{ webhookDeliveries(first: 100000) { edges { node { id } } } }');
    expect(first.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    const cursor = await gql(t.url, billing, '{ webhookDeliveries(after: "not-a-cursor") { edges { node { id } } } }');
    expect(cursor.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    const subscriptionsFirst = await gql(t.url, billing, '{ webhookSubscriptions(first: 0) { edges { node { id } } } }');
    expect(subscriptionsFirst.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'first' });
    const subscriptionsCursor = await gql(t.url, billing, '{ webhookSubscriptions(after: "not-a-cursor") { edges { node { id } } } }');
    expect(subscriptionsCursor.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'after' });
    const subscriptionId = await gql(t.url, billing, 'query($s: ID) { webhookDeliveries(subscriptionId: $s) { edges { node { id } } } }', {
      s: 'not-an-id',
    });
    expect(subscriptionId.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'subscriptionId' });
    expect(await writes(t)).toEqual(before);
  });
});

describe('webhook targets inside the network', () => {
  let t: TestService;
  let tenant: { tenantId: string; token: string };
  let billing: string;

  beforeAll(async () => {
    // An on-premises billing network and one host name are allowed; nothing on loopback is.
    t = await startTestService({
      APN_JOB_ATTEMPTS: '3',
      APN_JOB_BACKOFF_MS: '100',
      APN_WEBHOOK_ALLOWED_TARGETS: '10.20.0.0/16, billing.corp.internal',
    });
    tenant = await createTenantWithKey(t, 'Webhook target tenant');
    billing = (await gqlOk(t.url, t.adminToken, 'mutation { createApiKey(role: BILLING) { secret } }')).createApiKey.secret;
  });
  afterAll(async () => {
    await t?.stop();
  });

  const create = (url: string) => gql(t.url, billing, SUBSCRIBE, { i: { url, topics: ['USAGE_EVENT'] } });

  it.each([
    ['http://127.0.0.1:6379/', /loopback/],
    ['http://2130706433/', /loopback/],
    ['http://0x7f000001/', /loopback/],
    ['http://0177.0.0.1/', /loopback/],
    ['http://127.1:5432/', /loopback/],
    ['http://[::1]:3000/', /loopback/],
    ['http://[::ffff:127.0.0.1]/', /IPv4-mapped form of 127\.0\.0\.1, a loopback/],
    ['http://[::ffff:7f00:1]/', /IPv4-mapped form of 127\.0\.0\.1, a loopback/],
    ['http://0.0.0.0:3000/', /unspecified/],
    ['http://0/', /unspecified/],
    ['http://[::]/', /unspecified/],
    ['http://169.254.169.254/latest/meta-data/', /link-local/],
    ['http://[fe80::1]/', /link-local/],
    ['http://10.0.0.1/', /private/],
    ['http://172.16.5.4/', /private/],
    ['https://192.168.1.1/', /private/],
    ['http://[fd00::1]/', /unique local/],
    ['http://100.64.0.1/', /carrier-grade NAT/],
    ['http://224.0.0.1/', /multicast/],
    ['http://[ff02::1]/', /multicast/],
    ['http://255.255.255.255/', /broadcast/],
    ['http://240.0.0.1/', /reserved/],
    ['http://192.0.2.1/', /reserved/],
  ])('refuses %s with BAD_USER_INPUT on input.url, saying why, and writes nothing', async (url, reason) => {
    const before = await writes(t);
    const r = await create(url);
    expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.url' });
    expect(r.errors![0].message).toMatch(reason);
    expect(r.errors![0].message).toMatch(/APN_WEBHOOK_ALLOWED_TARGETS/);
    expect(await writes(t)).toEqual(before);
  });

  it('refuses a host name that resolves to loopback', async () => {
    const before = await writes(t);
    const r = await create('http://localhost:8080/hook');
    expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.url' });
    expect(r.errors![0].message).toMatch(/localhost resolves to 127\.0\.0\.1, a loopback address/);
    expect(await writes(t)).toEqual(before);
  });

  it('accepts the networks and host names the operator allowed, and nothing next to them', async () => {
    for (const url of ['http://10.20.3.4:8443/hook', 'https://billing.corp.internal/hook']) {
      const r = await create(url);
      expect(r.errors).toBeUndefined();
      // Nothing listens there: stop it before any event is published to it.
      await gqlOk(t.url, billing, 'mutation($id: ID!) { deleteWebhookSubscription(id: $id) { id } }', {
        id: r.data!.createWebhookSubscription.subscription.id,
      });
    }
    expect((await create('http://10.21.0.1/hook')).errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.url' });
  });

  it('never connects to a target that became internal after it was subscribed, and records why', async () => {
    const hook = await receiver(() => 200);
    try {
      // Subscribed to an allowed address; then the target changes (as when its DNS record is changed).
      const byAddress = (await gqlOk(t.url, billing, SUBSCRIBE, { i: { url: 'http://10.20.0.5/hook', topics: ['USAGE_EVENT'] } }))
        .createWebhookSubscription.subscription.id as string;
      const byName = (await gqlOk(t.url, billing, SUBSCRIBE, { i: { url: 'http://10.20.0.6/hook', topics: ['USAGE_EVENT'] } }))
        .createWebhookSubscription.subscription.id as string;
      await t.sql.query('UPDATE webhook_subscriptions SET url = $2 WHERE id = $1', [byAddress, hook.url]);
      await t.sql.query('UPDATE webhook_subscriptions SET url = $2 WHERE id = $1', [byName, `http://localhost:${hook.port}/billing/hook`]);
      await gqlOk(t.url, billing, RECORD, { e: [usageEventFor(tenant.tenantId, 'evt-inside')] });

      const deadOf = (s: string) =>
        waitFor(
          async () => {
            const d = (
              await gqlOk(
                t.url,
                billing,
                'query($s: ID) { webhookDeliveries(subscriptionId: $s, state: DEAD) { edges { node { attempts lastStatus lastError } } } }',
                { s },
              )
            ).webhookDeliveries.edges.map(nodeOf);
            return d.length > 0 ? d[0] : null;
          },
          20_000,
          'the refused delivery to go DEAD',
        );
      const [direct, resolved] = [await deadOf(byAddress), await deadOf(byName)];
      // Refused without retrying: no attempt could go anywhere else.
      expect(direct).toMatchObject({ attempts: 1, lastStatus: null });
      expect(direct.lastError).toMatch(/127\.0\.0\.1 is a loopback address .*APN_WEBHOOK_ALLOWED_TARGETS/);
      expect(resolved).toMatchObject({ attempts: 1, lastStatus: null });
      expect(resolved.lastError).toMatch(/localhost resolves to 127\.0\.0\.1, a loopback address/);
      expect(hook.connections()).toBe(0);
      expect(hook.received).toEqual([]);
    } finally {
      await hook.close();
    }
  });
});
