import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTenantWithKey, gql, gqlOk, startTestService, waitFor, type TestService } from './support/service';

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

/** A receiver answering with `status()` for each request, recording what it got. */
async function receiver(status: () => number): Promise<{ url: string; received: Received[]; setSecret(s: string): void; close(): Promise<void> }> {
  const received: Received[] = [];
  let secret = '';
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
      received.push({ eventId: String(req.headers['x-apn-event-id']), topic: String(req.headers['x-apn-topic']), body, signatureOk, ageSeconds: Date.now() / 1000 - t });
      res.statusCode = status();
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/billing/hook`,
    received,
    setSecret: (s) => (secret = s),
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const hourStart = (hoursAgo: number) => new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - hoursAgo * 3_600_000).toISOString();

describe('billing webhooks', () => {
  let t: TestService;
  let tenant: { tenantId: string; token: string };
  let billing: string;

  beforeAll(async () => {
    t = await startTestService({ APN_JOB_ATTEMPTS: '3', APN_JOB_BACKOFF_MS: '100' });
    tenant = await createTenantWithKey(t, 'Webhook tenant');
    billing = (await gqlOk(t.url, t.adminToken, 'mutation { createApiKey(role: BILLING) { secret } }')).createApiKey.secret;
  });
  afterAll(async () => {
    await t?.stop();
  });

  const subscribe = async (url: string, topics: string[]) =>
    (await gqlOk(t.url, billing, 'mutation($i: CreateWebhookSubscriptionInput!) { createWebhookSubscription(input: $i) { secret subscription { id url topics active } } }', {
      i: { url, topics },
    })).createWebhookSubscription as { secret: string; subscription: { id: string } };

  const usageEvent = (id: string) => ({
    specversion: '1.0',
    id,
    source: 'urn:apn:test:nfs-stats',
    type: 'nfs.bytes_read',
    time: hourStart(2),
    subject: tenant.tenantId,
    data: { quantity: '123456789', unit: 'byte' },
  });
  const record = (events: unknown[]) =>
    gqlOk(t.url, billing, 'mutation($e: [UsageEventInput!]!) { recordUsage(events: $e) { accepted duplicates } }', { e: events });

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
      const delivered = await gqlOk(t.url, billing, 'query($s: ID) { webhookDeliveries(subscriptionId: $s) { state attempts } }', { s: sub.subscription.id });
      expect(delivered.webhookDeliveries).toEqual([{ state: 'DELIVERED', attempts: 1 }, { state: 'DELIVERED', attempts: 1 }]);
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
      const dead = await waitFor(async () => {
        const d = (await gqlOk(t.url, billing, 'query($s: ID) { webhookDeliveries(subscriptionId: $s, state: DEAD) { id eventId attempts lastStatus lastError } }', { s: sub.subscription.id })).webhookDeliveries;
        return d.length > 0 ? d[0] : null;
      }, 20_000, 'the delivery to go DEAD');
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
      const after = await gqlOk(t.url, billing, 'query($s: ID) { webhookDeliveries(subscriptionId: $s) { state attempts } }', { s: sub.subscription.id });
      expect(after.webhookDeliveries).toEqual([{ state: 'DELIVERED', attempts: 4 }]);
      const redriveDelivered = await gql(t.url, billing, 'mutation($id: ID!) { redriveWebhookDelivery(id: $id) { state } }', { id: dead.id });
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
      const send = () => gqlOk(t.url, billing, 'mutation($t: ID!, $p: String!) { sendInvoicePreview(tenantId: $t, period: $p) }', { t: tenant.tenantId, p: period });
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
    const asTenant = await gql(t.url, tenant.token, 'mutation { createWebhookSubscription(input: { url: "https://billing.example.com/hook", topics: [USAGE_EVENT] }) { secret } }');
    expect(asTenant.errors![0].extensions.code).toBe('FORBIDDEN');
    const bad = await gql(t.url, billing, 'mutation { createWebhookSubscription(input: { url: "ftp://billing.example.com", topics: [USAGE_EVENT] }) { secret } }');
    expect(bad.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.url' });
    const none = await gql(t.url, billing, 'mutation { createWebhookSubscription(input: { url: "https://billing.example.com/hook", topics: [] }) { secret } }');
    expect(none.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.topics' });
  });
});
