import { createTenantWithKey, endpointIds, gqlOk, RESERVE, startTestService, TestService, waitFor } from './support/service';

/**
 * A lightpath cancelled while its devices are being configured: its channel is freed only once the
 * network confirms it is dark, so the next tenant's lightpath on that channel comes up cleanly.
 */
describe('cancelling a lightpath during its setup (e2e over HTTP, emulator driver)', () => {
  let t: TestService;
  let ep: Record<string, string>;
  let first: { tenantId: string; token: string };
  let second: { tenantId: string; token: string };

  beforeAll(async () => {
    // Each hop takes 3 s to configure, as optical devices take their time.
    t = await startTestService({ APN_MIN_DURATION_S: '1', APN_EMULATOR_HOP_MS: '3000' });
    ep = await endpointIds(t);
    first = await createTenantWithKey(t, 'Cancels early');
    second = await createTenantWithKey(t, 'Comes next');
  });
  afterAll(() => t?.stop());

  const soon = (fromNowMs: number, lengthMs: number) => {
    const start = Date.now() + fromNowMs;
    return { start: new Date(start).toISOString(), end: new Date(start + lengthMs).toISOString() };
  };
  const stateOf = async (id: string) => (await t.sql.query('SELECT state FROM reservations WHERE id = $1', [id])).rows[0].state as string;
  const litBy = async (id: string) => (await t.sql.query('SELECT 1 FROM emulator_lit_channels WHERE lightpath_id = $1', [id])).rows.length;
  const held = async (id: string) =>
    (await t.sql.query('SELECT count(*)::int AS n FROM link_allocations WHERE reservation_id = $1', [id])).rows[0].n as number;

  it('keeps the channel until the network is dark, never lights it afterwards, and the next lightpath comes up', async () => {
    const a = (
      await gqlOk(t.url, first.token, RESERVE, {
        input: {
          sourceEndpointId: ep['OTE-HQ-100G-1'],
          destinationEndpointId: ep['TAM-GDC-100G-1'],
          rateGbps: 100,
          autoCommit: true,
          ...soon(500, 120_000),
        },
      })
    ).reserveLightpath;
    await waitFor(async () => (await stateOf(a.id)) === 'PROVISIONING' || null, 20_000, 'A to start its setup');
    await gqlOk(t.url, first.token, 'mutation($id: ID!) { cancelReservation(id: $id, reason: "changed plans") { state } }', { id: a.id });

    // Watch A until well after its setup would have finished: once RELEASED (channel freed), it is never lit.
    let releasedAt: number | null = null;
    const litAfterRelease: number[] = [];
    const deadline = Date.now() + 12_000;
    while (Date.now() < deadline) {
      const state = await stateOf(a.id);
      if (state === 'RELEASED' && releasedAt === null) {
        releasedAt = Date.now();
        expect(await held(a.id)).toBe(0);
      }
      if (releasedAt !== null) litAfterRelease.push(await litBy(a.id));
      if (state !== 'RELEASED') expect(await held(a.id)).toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(releasedAt).not.toBeNull();
    expect(litAfterRelease.length).toBeGreaterThan(0);
    expect(litAfterRelease.every((n) => n === 0)).toBe(true);
    const history = (
      await t.sql.query('SELECT to_state FROM reservation_transitions WHERE reservation_id = $1 ORDER BY id', [a.id])
    ).rows.map((r) => r.to_state);
    expect(history).toEqual(['RESERVED', 'PROVISIONING', 'RELEASING', 'RELEASED']);

    // The next tenant books the same ports, path and channel, and its lightpath comes up at the first try.
    const b = (
      await gqlOk(t.url, second.token, RESERVE, {
        input: {
          sourceEndpointId: ep['OTE-HQ-100G-1'],
          destinationEndpointId: ep['TAM-GDC-100G-1'],
          rateGbps: 100,
          autoCommit: true,
          ...soon(500, 60_000),
        },
      })
    ).reserveLightpath;
    expect(b.channel).toBe(a.channel);
    await waitFor(async () => ['ACTIVE', 'FAILED'].includes(await stateOf(b.id)) || null, 30_000, 'B to come up');
    expect(await stateOf(b.id)).toBe('ACTIVE');
    const reasons = (await t.sql.query('SELECT reason FROM reservation_transitions WHERE reservation_id = $1', [b.id])).rows
      .map((r) => r.reason)
      .join(' | ');
    expect(reasons).not.toMatch(/already lit/);
    await gqlOk(t.url, second.token, 'mutation($id: ID!) { cancelReservation(id: $id) { state } }', { id: b.id });
  }, 90_000);
});
