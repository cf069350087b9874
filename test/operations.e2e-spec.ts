import { createTenantWithKey, endpointIds, gql, gqlOk, RESERVE, startTestService, TestService, window } from './support/service';

/** The operator's reads behind the console: a link's spectrum × time occupancy and the queues' depth. */
describe('linkOccupancy and queueDepth (e2e over HTTP)', () => {
  let t: TestService;
  let ep: Record<string, string>;
  let tenant: { tenantId: string; token: string };

  beforeAll(async () => {
    t = await startTestService();
    ep = await endpointIds(t);
    tenant = await createTenantWithKey(t, 'Occupancy');
  });
  afterAll(() => t?.stop());

  const OCCUPANCY = `query($linkId: ID!, $from: DateTime!, $to: DateTime!) { linkOccupancy(linkId: $linkId, from: $from, to: $to) {
    link { id code channelCount } truncated blocks { reservationId tenantId channel frequencyThz start end state } } }`;

  it('shows every booking of a link’s channels over the span, cancelled ones too, and nothing outside it', async () => {
    const w = window(2, 2);
    const book = async (src: string, dst: string, autoCommit = true) =>
      (
        await gqlOk(t.url, tenant.token, RESERVE, {
          input: { sourceEndpointId: ep[src], destinationEndpointId: ep[dst], rateGbps: 100, autoCommit, ...w },
        })
      ).reserveLightpath;
    const a = await book('SDI-LAB-100G-1', 'ISK-GDC-100G-1');
    const b = await book('SDI-LAB-100G-2', 'ISK-GDC-100G-2', false);
    await gqlOk(t.url, tenant.token, 'mutation($id: ID!) { cancelReservation(id: $id) { id } }', { id: b.id });
    const links = (await gqlOk(t.url, t.adminToken, '{ links { id code } }')).links as Array<{ id: string; code: string }>;
    const link = links.find((l) => l.code === a.path[0].code)!;
    const over = (from: string, to: string) => gql(t.url, t.adminToken, OCCUPANCY, { linkId: link.id, from, to });

    const during = await over(w.start, w.end);
    expect(during.errors).toBeUndefined();
    const blocks = during.data!.linkOccupancy.blocks;
    expect(blocks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          reservationId: a.id,
          tenantId: tenant.tenantId,
          channel: a.channel,
          state: 'RESERVED',
          start: w.start,
          end: w.end,
        }),
        expect.objectContaining({ reservationId: b.id, state: 'CANCELLED' }),
      ]),
    );
    expect(during.data!.linkOccupancy.truncated).toBe(false);

    // Half-open windows: a span ending as the booking starts does not overlap it.
    const before = await over(new Date(Date.parse(w.start) - 3_600_000).toISOString(), w.start);
    expect(before.data!.linkOccupancy.blocks).toEqual([]);
  });

  it('is for operators only, names the bad argument, and bounds the span', async () => {
    const link = (await gqlOk(t.url, t.adminToken, '{ links { id } }')).links[0].id;
    const now = Date.now();
    const span = (days: number) => ({
      linkId: link,
      from: new Date(now).toISOString(),
      to: new Date(now + days * 86_400_000).toISOString(),
    });
    expect((await gql(t.url, tenant.token, OCCUPANCY, span(1))).errors?.[0].extensions.code).toBe('FORBIDDEN');
    const tooLong = await gql(t.url, t.adminToken, OCCUPANCY, span(32));
    expect(tooLong.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'to' });
    const backwards = await gql(t.url, t.adminToken, OCCUPANCY, span(-1));
    expect(backwards.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'to' });
    const unknown = await gql(t.url, t.adminToken, OCCUPANCY, { ...span(1), linkId: '00000000-0000-4000-8000-000000000000' });
    expect(unknown.errors?.[0].extensions.code).toBe('NOT_FOUND');
  });

  it('reports the jobs in each queue by state to operators only', async () => {
    const depth = await gqlOk(t.url, t.adminToken, '{ queueDepth { queue waiting active delayed failed } }');
    expect(depth.queueDepth.map((q: { queue: string }) => q.queue).sort()).toEqual([
      'maintenance',
      'provisioning',
      'reservations',
      'webhooks',
    ]);
    // The booking above scheduled its setup and teardown for its window.
    const provisioning = depth.queueDepth.find((q: { queue: string }) => q.queue === 'provisioning');
    expect(provisioning.delayed).toBeGreaterThan(0);
    expect((await gql(t.url, tenant.token, '{ queueDepth { queue } }')).errors?.[0].extensions.code).toBe('FORBIDDEN');
  });
});
