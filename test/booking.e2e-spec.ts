import {
  countRows,
  createTenantWithKey,
  endpointIds,
  gql,
  gqlOk,
  RESERVATION_FIELDS,
  RESERVE,
  startTestService,
  TestService,
  waitFor,
  window,
} from './support/service';

describe('booking lightpaths (e2e over HTTP)', () => {
  let t: TestService;
  let ep: Record<string, string>;
  let tenant: { tenantId: string; token: string };

  beforeAll(async () => {
    t = await startTestService({ APN_HOLD_TTL_S: '2' });
    ep = await endpointIds(t);
    tenant = await createTenantWithKey(t, 'Otemachi Research');
  });
  afterAll(() => t?.stop());

  const reserve = (input: Record<string, unknown>, token = tenant.token) => gql(t.url, token, RESERVE, { input });

  it('holds a lightpath with its path, channel, frequency, distance and RTT, then commits it', async () => {
    const w = window(2);
    const held = await reserve({ sourceEndpointId: ep['OTE-HQ-100G-1'], destinationEndpointId: ep['TAM-GDC-100G-1'], rateGbps: 100, ...w });
    expect(held.errors).toBeUndefined();
    const r = held.data!.reserveLightpath;
    expect(r.state).toBe('HELD');
    expect(r.tenant.id).toBe(tenant.tenantId);
    expect(r.source.code).toBe('OTE-HQ-100G-1');
    expect(r.path.map((l: { code: string }) => l.code)).toEqual(['OTE-TAM']);
    expect(r.channel).toBe(0);
    expect(r.frequencyThz).toBeCloseTo(191.35, 6);
    expect(r.distanceKm).toBe(40);
    expect(r.rttMs).toBeCloseTo(0.392, 6); // 2 × 40 km × 4.9 µs/km
    expect(r.start).toBe(w.start);
    const holdMs = new Date(r.holdExpiresAt).getTime() - Date.now();
    expect(holdMs).toBeGreaterThan(0);
    expect(holdMs).toBeLessThanOrEqual(2000);

    const committed = await gqlOk(t.url, tenant.token, `mutation($id: ID!) { commitReservation(id: $id) { ${RESERVATION_FIELDS} } }`, {
      id: r.id,
    });
    expect(committed.commitReservation.state).toBe('RESERVED');
    expect(committed.commitReservation.holdExpiresAt).toBeNull();
    expect(committed.commitReservation.history.map((h: { state: string }) => h.state)).toEqual(['HELD', 'RESERVED']);
    // A committed reservation outlives its hold.
    await new Promise((res) => setTimeout(res, 2500));
    const later = await gqlOk(t.url, tenant.token, `query($id: ID!) { reservation(id: $id) { state } }`, { id: r.id });
    expect(later.reservation.state).toBe('RESERVED');
  });

  it('books straight to RESERVED with autoCommit, and a second booking of the same port and window gets NO_CAPACITY', async () => {
    const w = window(5);
    const input = {
      sourceEndpointId: ep['OTE-HQ-100G-2'],
      destinationEndpointId: ep['TAM-GDC-100G-2'],
      rateGbps: 100,
      autoCommit: true,
      ...w,
    };
    const first = await reserve(input);
    expect(first.data!.reserveLightpath.state).toBe('RESERVED');
    expect(first.data!.reserveLightpath.holdExpiresAt).toBeNull();
    const second = await reserve(input);
    expect(second.errors![0].extensions.code).toBe('NO_CAPACITY');
    expect(second.errors![0].message).toMatch(/OTE-HQ-100G-2 is already booked/);
  });

  it('uses another channel for an overlapping window on the same link, and channel 0 again for a touching window', async () => {
    const base = window(8, 2);
    const mid = new Date((new Date(base.start).getTime() + new Date(base.end).getTime()) / 2).toISOString();
    const a = await gqlOk(t.url, tenant.token, RESERVE, {
      input: {
        sourceEndpointId: ep['SDI-LAB-100G-1'],
        destinationEndpointId: ep['SRK-GDC-100G-1'],
        rateGbps: 100,
        autoCommit: true,
        start: base.start,
        end: mid,
      },
    });
    const b = await gqlOk(t.url, tenant.token, RESERVE, {
      input: {
        sourceEndpointId: ep['SDI-LAB-100G-2'],
        destinationEndpointId: ep['SRK-GDC-100G-2'],
        rateGbps: 100,
        autoCommit: true,
        start: base.start,
        end: base.end,
      },
    });
    const c = await gqlOk(t.url, tenant.token, RESERVE, {
      input: {
        sourceEndpointId: ep['SDI-LAB-100G-1'],
        destinationEndpointId: ep['SRK-GDC-100G-1'],
        rateGbps: 100,
        autoCommit: true,
        start: mid,
        end: base.end,
      },
    });
    expect(a.reserveLightpath.channel).toBe(0);
    expect(b.reserveLightpath.channel).toBe(1);
    // [start, mid) then [mid, end): touching windows do not conflict, on the channel or on the ports.
    expect(c.reserveLightpath.channel).toBe(0);
  });

  it('cancels a reservation and frees its capacity at once', async () => {
    const w = window(11);
    const input = {
      sourceEndpointId: ep['OTE-HQ-10G-1'],
      destinationEndpointId: ep['TAM-GDC-10G-1'],
      rateGbps: 10,
      autoCommit: true,
      ...w,
    };
    const r = (await gqlOk(t.url, tenant.token, RESERVE, { input })).reserveLightpath;
    const cancelled = await gqlOk(
      t.url,
      tenant.token,
      `mutation($id: ID!) { cancelReservation(id: $id, reason: "plans changed") { state history { state reason } } }`,
      { id: r.id },
    );
    expect(cancelled.cancelReservation.state).toBe('CANCELLED');
    expect(cancelled.cancelReservation.history.at(-1)).toEqual({ state: 'CANCELLED', reason: 'plans changed' });
    const allocations = await t.sql.query('SELECT count(*)::int AS n FROM link_allocations WHERE reservation_id = $1', [r.id]);
    expect(allocations.rows[0].n).toBe(0);
    const again = await reserve(input);
    expect(again.errors).toBeUndefined();
    expect(again.data!.reserveLightpath.channel).toBe(r.channel);
    // Cancelling twice is harmless; committing a cancelled reservation is not allowed.
    const commit = await gql(t.url, tenant.token, 'mutation($id: ID!) { commitReservation(id: $id) { state } }', { id: r.id });
    expect(commit.errors![0].extensions.code).toBe('INVALID_STATE');
  });

  it('expires a hold that is not committed within APN_HOLD_TTL_S and frees its capacity', async () => {
    const w = window(14);
    const input = { sourceEndpointId: ep['OTE-HQ-100G-3'], destinationEndpointId: ep['SNG-DC-100G-1'], rateGbps: 100, ...w };
    const r = (await gqlOk(t.url, tenant.token, RESERVE, { input })).reserveLightpath;
    expect(r.state).toBe('HELD');
    const expired = await waitFor(
      async () => {
        const d = await gqlOk(t.url, tenant.token, 'query($id: ID!) { reservation(id: $id) { state history { state actor reason } } }', {
          id: r.id,
        });
        return d.reservation.state === 'EXPIRED' ? d.reservation : null;
      },
      15_000,
      'the hold to expire',
    );
    expect(expired.history.map((h: { state: string }) => h.state)).toEqual(['HELD', 'EXPIRED']);
    expect(expired.history[1].actor).toBe('system');
    const held = await t.sql.query('SELECT count(*)::int AS n FROM endpoint_allocations WHERE reservation_id = $1', [r.id]);
    expect(held.rows[0].n).toBe(0);
    const commit = await gql(t.url, tenant.token, 'mutation($id: ID!) { commitReservation(id: $id) { state } }', { id: r.id });
    expect(commit.errors![0].extensions.code).toBe('INVALID_STATE');
    const rebook = await reserve(input);
    expect(rebook.errors).toBeUndefined();
  });

  it('extends the end when capacity allows and refuses with NO_CAPACITY when the port is booked after it', async () => {
    const w1 = window(20);
    const w2 = window(22);
    const mk = (w: { start: string; end: string }) => ({
      sourceEndpointId: ep['OTE-HQ-100G-4'],
      destinationEndpointId: ep['TAM-GDC-100G-1'],
      rateGbps: 100,
      autoCommit: true,
      ...w,
    });
    const first = (await gqlOk(t.url, tenant.token, RESERVE, { input: mk(w1) })).reserveLightpath;
    await gqlOk(t.url, tenant.token, RESERVE, { input: mk(w2) });
    const extend = 'mutation($id: ID!, $end: DateTime!) { extendReservation(id: $id, end: $end) { end channel history { state reason } } }';
    const to21 = new Date(new Date(w1.end).getTime() + 3_600_000).toISOString();
    const ok = await gqlOk(t.url, tenant.token, extend, { id: first.id, end: to21 });
    expect(ok.extendReservation.end).toBe(to21);
    expect(ok.extendReservation.channel).toBe(first.channel);
    expect(ok.extendReservation.history.at(-1).reason).toMatch(/end extended/);
    const to23 = new Date(new Date(w2.start).getTime() + 1_800_000).toISOString();
    const refused = await gql(t.url, tenant.token, extend, { id: first.id, end: to23 });
    expect(refused.errors![0].extensions.code).toBe('NO_CAPACITY');
    const stored = await t.sql.query('SELECT end_at FROM reservations WHERE id = $1', [first.id]);
    expect(new Date(stored.rows[0].end_at).toISOString()).toBe(to21);
  });

  describe('idempotency', () => {
    it('returns the same reservation for a repeated key and books nothing new', async () => {
      const input = {
        sourceEndpointId: ep['SDI-LAB-100G-3'],
        destinationEndpointId: ep['ISK-GDC-100G-1'],
        rateGbps: 100,
        idempotencyKey: 'order-17',
        ...window(30),
      };
      const before = await countRows(t, 'link_allocations');
      const a = (await gqlOk(t.url, tenant.token, RESERVE, { input })).reserveLightpath;
      const afterFirst = await countRows(t, 'link_allocations');
      const repeats = await Promise.all([1, 2, 3].map(() => gqlOk(t.url, tenant.token, RESERVE, { input })));
      for (const r of repeats) expect(r.reserveLightpath.id).toBe(a.id);
      expect(afterFirst - before).toBe(a.path.length);
      expect(await countRows(t, 'link_allocations')).toBe(afterFirst);
    });

    it('answers CONFLICT when the same key comes with a different request', async () => {
      const input = {
        sourceEndpointId: ep['SDI-LAB-100G-4'],
        destinationEndpointId: ep['ISK-GDC-100G-2'],
        rateGbps: 100,
        idempotencyKey: 'order-18',
        ...window(31),
      };
      await gqlOk(t.url, tenant.token, RESERVE, { input });
      const r = await reserve({ ...input, ...window(32) });
      expect(r.errors![0].extensions.code).toBe('CONFLICT');
      expect(r.errors![0].extensions.field).toBe('input.idempotencyKey');
    });
  });

  describe('bad input changes nothing and names the field', () => {
    const cases: Array<[string, () => Record<string, unknown>, string, string]> = [
      ['start after end', () => ({ ...base(), start: window(40).end, end: window(40).start }), 'BAD_USER_INPUT', 'input.end'],
      [
        'end in the past',
        () => ({ ...base(), start: new Date(Date.now() - 7_200_000).toISOString(), end: new Date(Date.now() - 3_600_000).toISOString() }),
        'BAD_USER_INPUT',
        'input.end',
      ],
      [
        'duration under the minimum',
        () => ({ ...base(), start: window(41).start, end: new Date(new Date(window(41).start).getTime() + 30_000).toISOString() }),
        'BAD_USER_INPUT',
        'input.end',
      ],
      [
        'unknown endpoint',
        () => ({ ...base(), sourceEndpointId: '00000000-0000-4000-8000-000000000000' }),
        'BAD_USER_INPUT',
        'input.sourceEndpointId',
      ],
      ['endpoint rate differs', () => ({ ...base(), rateGbps: 10 }), 'BAD_USER_INPUT', 'input.sourceEndpointId'],
      ['same site', () => ({ ...base(), destinationEndpointId: ep['OTE-HQ-100G-2'] }), 'BAD_USER_INPUT', 'input.destinationEndpointId'],
    ];
    const base = () => ({
      sourceEndpointId: ep['OTE-HQ-100G-1'],
      destinationEndpointId: ep['ISK-GDC-100G-3'],
      rateGbps: 100,
      ...window(42),
    });

    it.each(cases)('%s', async (_name, input, code, field) => {
      const before = await Promise.all(
        ['reservations', 'link_allocations', 'endpoint_allocations', 'audit_log'].map((x) => countRows(t, x)),
      );
      const r = await reserve(input());
      expect(r.errors![0].extensions.code).toBe(code);
      expect(r.errors![0].extensions.field).toBe(field);
      expect(r.errors![0].message.length).toBeGreaterThan(20);
      const after = await Promise.all(
        ['reservations', 'link_allocations', 'endpoint_allocations', 'audit_log'].map((x) => countRows(t, x)),
      );
      expect(after).toEqual(before);
    });

    it('a malformed DateTime', async () => {
      const before = await countRows(t, 'reservations');
      const r = await reserve({ ...base(), start: 'next tuesday' });
      expect(r.errors![0].extensions.code).toBe('BAD_USER_INPUT');
      expect(r.errors![0].message).toMatch(/input\.start/);
      expect(r.errors![0].message).toMatch(/ISO-8601/);
      expect(await countRows(t, 'reservations')).toBe(before);
    });
  });

  describe('availability', () => {
    it('counts the lightpaths that still fit between two sites and finds the earliest start', async () => {
      const sites = await gqlOk(t.url, tenant.token, '{ sites { id code } }');
      const site = (code: string) => sites.sites.find((s: { code: string }) => s.code === code).id;
      const w = window(60);
      const q = `query($input: AvailabilityInput!) { availability(input: $input) { lightpaths earliestStart earliestEnd earliestChannel earliestPath { code } } }`;
      const bySite = { sourceSiteId: site('OTE-HQ'), destinationSiteId: site('ISK-GDC'), rateGbps: 100, ...w };
      const empty = await gqlOk(t.url, tenant.token, q, { input: bySite });
      // Four 100G ports at Otemachi bound it before the 8-channel AOM–HKD span does.
      expect(empty.availability.lightpaths).toBe(4);
      expect(empty.availability.earliestStart).toBe(w.start);
      expect(empty.availability.earliestPath.map((l: { code: string }) => l.code)).toContain('AOM-HKD');

      // Fill the one destination port for the window: the earliest start moves to the end of that booking.
      const pair = { sourceEndpointId: ep['OTE-HQ-100G-1'], destinationEndpointId: ep['ISK-GDC-100G-10'], rateGbps: 100 };
      await gqlOk(t.url, tenant.token, RESERVE, { input: { ...pair, autoCommit: true, ...w } });
      const after = await gqlOk(t.url, tenant.token, q, { input: { ...pair, ...w } });
      expect(after.availability.lightpaths).toBe(0);
      expect(after.availability.earliestStart).toBe(w.end);
    });
  });
});
