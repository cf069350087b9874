import { existsSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import request from 'supertest';
import { createTenantWithKey, gqlOk, startTestService, TestService } from './support/service';

/**
 * The web console in a real browser: Debian's Chromium driven by playwright-core (never a downloaded
 * browser). CI installs it (.ci/run); without it this file fails and says how to install it.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Where the run leaves its screenshots; the best ones are copied to docs/console/ by hand. */
const SHOTS = resolve(__dirname, '../dist/console-screenshots');
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

interface Tab {
  context: BrowserContext;
  page: Page;
  /** Requests and WebSockets to any other host than the service's. */
  offHost: string[];
  /** Console errors and uncaught exceptions, CSP violations included. */
  errors: string[];
}

describe('web console in Chromium (e2e)', () => {
  let t: TestService;
  let browser: Browser;
  let tenantA: { tenantId: string; token: string };
  let tenantB: { tenantId: string; token: string };
  let sites: Record<string, string>;
  const tabs: Tab[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `The console's browser test needs Chromium at ${CHROMIUM}. Install it with \`apt-get install -y chromium\` (as .ci/run does), or point CHROMIUM_PATH at one.`,
      );
    }
    mkdirSync(SHOTS, { recursive: true });
    t = await startTestService({ APN_MIN_DURATION_S: '1', APN_EMULATOR_HOP_MS: '10' });
    tenantA = await createTenantWithKey(t, 'Console tenant A');
    tenantB = await createTenantWithKey(t, 'Console tenant B');
    const data = await gqlOk<{ sites: Array<{ id: string; code: string }> }>(t.url, t.adminToken, '{ sites { id code } }');
    sites = Object.fromEntries(data.sites.map((s) => [s.code, s.id]));
    // Root (CI) cannot use Chromium's sandbox.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  async function open(viewport: { width: number; height: number }, path = '/console'): Promise<Tab> {
    // A zone other than the machine's, so that times shown in the browser's zone are visibly converted.
    const context = await browser.newContext({ viewport, timezoneId: 'Asia/Tokyo', locale: 'en-GB' });
    const page = await context.newPage();
    const host = new URL(t.url).host;
    const tab: Tab = { context, page, offHost: [], errors: [] };
    page.on('request', (r) => {
      const url = new URL(r.url());
      if (url.protocol !== 'data:' && url.protocol !== 'blob:' && url.host !== host) tab.offHost.push(r.url());
    });
    page.on('websocket', (ws) => {
      if (new URL(ws.url()).host !== host) tab.offHost.push(ws.url());
    });
    page.on('console', async (m) => {
      if (m.type() === 'error')
        tab.errors.push(
          [
            m.text(),
            ...(await Promise.all(
              m.args().map((a) =>
                a.jsonValue().then(
                  (v) => JSON.stringify(v).slice(0, 500),
                  () => '',
                ),
              ),
            )),
          ].join(' '),
        );
    });
    page.on('pageerror', (e) => tab.errors.push(e.message));
    // Which response a "Failed to load resource" console error was about.
    page.on('response', (r) => {
      if (r.status() >= 400)
        void r.text().then(
          (body) => tab.errors.push(`${r.request().method()} ${r.url()} → ${r.status()} ${body.slice(0, 300)}`),
          () => undefined,
        );
    });
    tabs.push(tab);
    await page.goto(`${t.url}${path}`);
    return tab;
  }

  const nav = (page: Page, name: string) => page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name, exact: true });

  async function signIn(tab: Tab, token: string, role: string): Promise<void> {
    await tab.page.getByLabel('API key or operator token').fill(token);
    await tab.page.getByRole('button', { name: 'Sign in' }).click();
    await tab.page.getByTestId('who').getByText(role, { exact: true }).waitFor();
  }

  /** A datetime-local value `offsetMs` from now, in the page's own time zone. */
  const localInput = (page: Page, offsetMs: number) =>
    page.evaluate((offset) => {
      const d = new Date(Date.now() + offset);
      const p = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    }, offsetMs);

  it('serves the console with a strict CSP at /console (and / leads there); the API stays authenticated', async () => {
    const root = await request(t.url).get('/');
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe('/console');
    const page = await request(t.url).get('/console');
    expect(page.status).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe');
    const script = await request(t.url).get('/console/console.js');
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
    expect((await request(t.url).post('/graphql').send({ query: '{ me { role } }' })).status).toBe(401);
  });

  let booked: { id: string; channel: number; path: Array<{ id: string }> };

  it('lets a tenant find the earliest slot, hold, commit and watch the lightpath go ACTIVE then RELEASED without a reload', async () => {
    const tab = await open(DESKTOP);
    const { page } = tab;
    // The sign-in form is reachable from the keyboard, its field first (once the page has rendered it).
    await page.locator('#signin-token').waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.id')).toBe('signin-token');
    await signIn(tab, tenantA.token, 'TENANT');
    expect(await page.evaluate('Object.keys(sessionStorage).length')).toBe(1);
    expect(await page.evaluate('Object.keys(localStorage).length')).toBe(0);

    await page.getByLabel('From (office site)').selectOption(sites['SDI-LAB']);
    await page.getByLabel('To (data center)').selectOption(sites['ISK-GDC']);
    await page.getByLabel('Line rate').selectOption('100');
    // The window's zone is named beside the fields.
    await page.getByLabel('Start (Asia/Tokyo)').fill(await localInput(page, 20_000));
    await page.getByLabel('End (Asia/Tokyo)').fill(await localInput(page, 26_000));
    await page.getByRole('button', { name: 'Check availability' }).click();
    const fit = Number(await page.getByTestId('fit-count').textContent());
    expect(fit).toBeGreaterThan(0);
    // Every control on the page has a label a screen reader can read.
    const unlabelled = await page.evaluate(
      `[...document.querySelectorAll('input, select, button')].filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.textContent.trim())).length`,
    );
    expect(unlabelled).toBe(0);
    await page.getByRole('button', { name: 'Use the earliest start' }).click();
    await page.getByRole('button', { name: 'Hold this window' }).click();
    const booking = page.getByTestId('booking');
    await booking.getByText('HELD', { exact: true }).waitFor();
    await expect(page.getByTestId('hold-countdown').textContent()).resolves.toMatch(/hold expires in [12]:\d\d/);
    // Times are in the browser's zone, UTC on hover.
    const title = await booking.locator('time').first().getAttribute('title');
    expect(title).toMatch(/ UTC$/);
    await page.screenshot({ path: `${SHOTS}/book-1280.png` });
    await page.getByRole('button', { name: 'Commit' }).click();
    await booking.getByText('RESERVED', { exact: true }).waitFor();
    const id = (await booking.getAttribute('data-reservation-id'))!;
    booked = (await gqlOk(t.url, tenantA.token, 'query($id: ID!) { reservation(id: $id) { id channel path { id } } }', { id })).reservation;

    await nav(page, 'My lightpaths').click();
    await page.evaluate('window.notReloaded = true');
    const row = page.locator(`tr[data-reservation-id="${id}"]`);
    await row.waitFor();
    await page.locator(`tr[data-reservation-id="${id}"][data-state="ACTIVE"]`).waitFor({ timeout: 40_000 });
    await row.getByRole('button', { name: 'Details' }).click();
    await page.screenshot({ path: `${SHOTS}/lightpaths-active-1280.png`, fullPage: true });
    await page.locator(`tr[data-reservation-id="${id}"][data-state="RELEASED"]`).waitFor({ timeout: 40_000 });
    expect(await page.evaluate('window.notReloaded')).toBe(true);
    await page.getByTestId('lightpath-details').locator('ol.history li', { hasText: 'RELEASED' }).waitFor();
    const history = await page.getByTestId('lightpath-details').locator('ol.history li').allTextContents();
    expect(history.join(' ')).toMatch(/HELD[\s\S]*RESERVED[\s\S]*PROVISIONING[\s\S]*ACTIVE[\s\S]*RELEASING[\s\S]*RELEASED/);
  }, 120_000);

  it('shows a booking refused for bad input next to the field it names; holds, commits, extends and cancels', async () => {
    const tab = await open(DESKTOP);
    const { page } = tab;
    await signIn(tab, tenantA.token, 'TENANT');
    await page.getByLabel('Start (Asia/Tokyo)').fill(await localInput(page, -3_600_000));
    await page.getByLabel('End (Asia/Tokyo)').fill(await localInput(page, 3_600_000));
    await page.getByRole('button', { name: 'Hold this window' }).click();
    await expect(page.locator('#book-start-error').textContent()).resolves.toMatch(/in the past/);
    await expect(page.locator('#book-end-error').count()).resolves.toBe(0);
    await expect(page.getByTestId('booking').count()).resolves.toBe(0);

    // Fixed, the same form holds; then the booking is committed, extended by an hour and cancelled.
    await page.getByLabel('Start (Asia/Tokyo)').fill(await localInput(page, 2 * 3_600_000));
    await page.getByLabel('End (Asia/Tokyo)').fill(await localInput(page, 3 * 3_600_000));
    await page.getByRole('button', { name: 'Hold this window' }).click();
    const booking = page.getByTestId('booking');
    await booking.getByText('HELD', { exact: true }).waitFor();
    await expect(page.locator('#book-start-error').count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'Commit' }).click();
    await booking.getByText('RESERVED', { exact: true }).waitFor();
    const id = (await booking.getAttribute('data-reservation-id'))!;
    const endOf = async () =>
      (await gqlOk(t.url, tenantA.token, 'query($id: ID!) { reservation(id: $id) { end state } }', { id })).reservation;
    const before = Date.parse((await endOf()).end);
    await page.getByRole('button', { name: 'Extend' }).click();
    for (let i = 0; i < 50 && Date.parse((await endOf()).end) === before; i++) await page.waitForTimeout(100);
    expect(Date.parse((await endOf()).end) - before).toBe(3_600_000);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await booking.getByText('CANCELLED', { exact: true }).waitFor();
    expect((await endOf()).state).toBe('CANCELLED');
  });

  it('never shows one tenant’s lightpath in another tenant’s console', async () => {
    const tab = await open(DESKTOP, '/console#lightpaths');
    const { page } = tab;
    await signIn(tab, tenantB.token, 'TENANT');
    await page.getByText('No lightpaths yet').waitFor();
    expect(await page.content()).not.toContain(booked.id);
  });

  it('shows an operator the booking’s channel on a link of its path in the spectrum × time view', async () => {
    // Two more bookings on the same route, by the other tenant, later on: more blocks on the chart.
    const endpoints = Object.fromEntries(
      (await gqlOk<{ endpoints: Array<{ id: string; code: string }> }>(t.url, t.adminToken, '{ endpoints { id code } }')).endpoints.map(
        (e) => [e.code, e.id],
      ),
    );
    const later = (fromMin: number, toMin: number) => ({
      start: new Date(Date.now() + fromMin * 60_000).toISOString(),
      end: new Date(Date.now() + toMin * 60_000).toISOString(),
    });
    for (const [n, w] of [
      [2, later(20, 80)],
      [3, later(40, 150)],
    ] as const) {
      await gqlOk(t.url, tenantB.token, 'mutation($input: ReserveLightpathInput!) { reserveLightpath(input: $input) { id } }', {
        input: {
          sourceEndpointId: endpoints[`SDI-LAB-100G-${n}`],
          destinationEndpointId: endpoints[`ISK-GDC-100G-${n}`],
          rateGbps: 100,
          autoCommit: true,
          ...w,
        },
      });
    }
    const tab = await open(DESKTOP);
    const { page } = tab;
    await signIn(tab, t.adminToken, 'OPERATOR');
    await page.getByRole('img', { name: 'Network topology' }).waitFor();
    await page.screenshot({ path: `${SHOTS}/topology-1280.png`, fullPage: true });
    await nav(page, 'Spectrum').click();
    await page.getByLabel('Link').selectOption(booked.path[0].id);
    const block = page.locator(`rect[data-reservation-id="${booked.id}"]`);
    await block.waitFor();
    expect(await block.getAttribute('data-channel')).toBe(String(booked.channel));
    expect(await block.getAttribute('data-state')).toBe('RELEASED');
    await expect(page.locator('rect[data-reservation-id][data-state="RESERVED"]').count()).resolves.toBe(2);
    // The tenant's name on hover.
    expect(await block.locator('title').textContent()).toContain('Console tenant A');
    await page.screenshot({ path: `${SHOTS}/spectrum-1280.png` });
    await nav(page, 'Queues').click();
    await page.getByTestId('queues').getByText('provisioning').waitFor();
    await nav(page, 'Reservations').click();
    await page.locator(`tr[data-reservation-id="${booked.id}"]`).waitFor();
    await page.screenshot({ path: `${SHOTS}/reservations-1280.png` });
  });

  it('opens every other view without an error, each saying what to do next when it is empty', async () => {
    const expectNoError = async (page: Page) => {
      await page.waitForLoadState('networkidle');
      expect(await page.locator('.error').allTextContents()).toEqual([]);
    };
    const tenant = await open(DESKTOP);
    await signIn(tenant, tenantB.token, 'TENANT');
    await nav(tenant.page, 'Storage').click();
    await tenant.page.getByText('To attach storage you need a dataset').waitFor();
    await tenant.page.getByText('No datasets yet').waitFor();
    await expectNoError(tenant.page);
    await nav(tenant.page, 'Plan and prove').click();
    await tenant.page.getByText('No measured runs yet').waitFor();
    await tenant.page.getByRole('button', { name: 'Compare' }).click();
    await tenant.page.getByRole('img', { name: 'Cost per scenario' }).waitFor();
    await expectNoError(tenant.page);
    await tenant.page.screenshot({ path: `${SHOTS}/plan-1280.png`, fullPage: true });

    const operator = await open(DESKTOP);
    await signIn(operator, t.adminToken, 'OPERATOR');
    const { page } = operator;
    await nav(page, 'Faults').click();
    await page.getByText('No fault injected').waitFor();
    await page.getByRole('button', { name: 'Inject' }).click();
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByText('No fault injected').waitFor();
    await expectNoError(page);
    await nav(page, 'Tenants and keys').click();
    await page.getByRole('cell', { name: 'Console tenant B' }).waitFor();
    await page.getByRole('button', { name: 'New key for Console tenant B' }).click();
    await page.getByText('New key (shown once, copy it now)').waitFor();
    await expectNoError(page);
    await nav(page, 'Audit').click();
    await page.getByRole('button', { name: 'Verify the audit chain' }).click();
    await expect(page.getByTestId('audit-result').textContent()).resolves.toMatch(/^Intact/);
    await nav(page, 'Webhooks').click();
    await page.getByText('No dead letters').waitFor();
    await expectNoError(page);
    await nav(page, 'Plan and prove').click();
    await page.getByText('Invoices are per tenant').waitFor();
    await expectNoError(page);
  });

  it('fits a phone screen: no sideways scrolling on the main views', async () => {
    const tenant = await open(PHONE);
    await signIn(tenant, tenantA.token, 'TENANT');
    await tenant.page.getByRole('button', { name: 'Check availability' }).waitFor();
    await tenant.page.screenshot({ path: `${SHOTS}/book-390.png`, fullPage: true });
    const overflow = () => tenant.page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(await overflow()).toBeLessThanOrEqual(0);
    await nav(tenant.page, 'My lightpaths').click();
    await tenant.page.locator(`tr[data-reservation-id="${booked.id}"]`).waitFor();
    await tenant.page.screenshot({ path: `${SHOTS}/lightpaths-390.png`, fullPage: true });
    expect(await overflow()).toBeLessThanOrEqual(0);
    const operator = await open(PHONE, '/console#spectrum');
    await signIn(operator, t.adminToken, 'OPERATOR');
    await operator.page.getByRole('img', { name: /Spectrum occupancy/ }).waitFor();
    await operator.page.screenshot({ path: `${SHOTS}/spectrum-390.png`, fullPage: true });
    expect(await operator.page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth')).toBeLessThanOrEqual(0);
  });

  it('runs a subscription from GraphiQL over graphql-ws, the token from its Headers tab', async () => {
    const tab = await open(DESKTOP, '/graphiql');
    const { page } = tab;
    await page.locator('.graphiql-query-editor .CodeMirror').waitFor();
    // GraphiQL's editors are CodeMirror 5 instances; setting their text directly avoids auto-closed brackets.
    const setEditor = (selector: string, text: string) =>
      page.evaluate(`document.querySelector(${JSON.stringify(selector)}).CodeMirror.setValue(${JSON.stringify(text)})`);
    await setEditor(
      '.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror',
      JSON.stringify({ Authorization: `Bearer ${tenantA.token}` }),
    );
    await setEditor('.graphiql-query-editor .CodeMirror', 'subscription { reservationUpdated { reservationId state } }');
    // GraphiQL parses the edited query 100 ms after the last change (a debounce), as it would after typing.
    await page.waitForTimeout(400);
    await page.locator('.graphiql-execute-button').click();
    const result = () => page.evaluate<string>(`document.querySelector('.result-window .CodeMirror').CodeMirror.getValue()`);
    const endpoints = Object.fromEntries(
      (await gqlOk<{ endpoints: Array<{ id: string; code: string }> }>(t.url, t.adminToken, '{ endpoints { id code } }')).endpoints.map(
        (e) => [e.code, e.id],
      ),
    );
    // The socket opens asynchronously: book until an update shows (a booking made before it opened is not replayed).
    let shown = '';
    for (let attempt = 0; attempt < 5 && !shown; attempt++) {
      const start = Date.now() + (3 + attempt) * 3_600_000;
      const { reserveLightpath } = await gqlOk(
        t.url,
        tenantA.token,
        'mutation($input: ReserveLightpathInput!) { reserveLightpath(input: $input) { id } }',
        {
          input: {
            sourceEndpointId: endpoints['OTE-HQ-100G-1'],
            destinationEndpointId: endpoints['TAM-GDC-100G-1'],
            rateGbps: 100,
            autoCommit: true,
            start: new Date(start).toISOString(),
            end: new Date(start + 3_600_000).toISOString(),
          },
        },
      );
      for (let i = 0; i < 20 && !shown; i++) {
        const text = await result();
        if (text.includes(reserveLightpath.id)) shown = text;
        else await page.waitForTimeout(100);
      }
    }
    expect(shown).toContain('"state": "RESERVED"');
    await page.screenshot({ path: `${SHOTS}/graphiql-subscription-1280.png` });
  });

  it('made no request to another host and logged no console error in any of the pages above', () => {
    expect(tabs.length).toBeGreaterThan(4);
    expect(tabs.flatMap((tab) => tab.offHost)).toEqual([]);
    expect(tabs.flatMap((tab) => tab.errors)).toEqual([]);
  });
});
