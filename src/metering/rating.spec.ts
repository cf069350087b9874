import {
  BILLED_METERS,
  DEFAULT_RATE_CARD,
  RateCard,
  RatingError,
  UsageRecord,
  rate,
  rateCardPricesProblem,
  selectRateCard,
} from './rating';

let sequence = 0;
const usage = (type: string, data: UsageRecord['data'], subject?: string): UsageRecord => ({
  specversion: '1.0',
  id: `evt-${++sequence}`,
  source: 'urn:apn:test',
  type,
  time: '2025-06-01T00:00:00Z',
  ...(subject === undefined ? {} : { subject }),
  data,
});

const lineOf = (result: ReturnType<typeof rate>, meter: string) => {
  const matches = result.lines.filter((line) => line.meter === meter);
  expect(matches).toHaveLength(1);
  return matches[0];
};

describe('rate', () => {
  it('gives a line per meter with its quantity, unit, unit price and amount, and shadow figures beside it', () => {
    const result = rate(
      [
        usage('lightpath.wavelength_seconds', { quantity: 7200, rateGbps: 100, distanceClass: 'METRO' }, 'rsv-1'),
        usage('lightpath.setup', { quantity: 1 }, 'rsv-1'),
        usage('mount.seconds', { quantity: 3600, design: 'DIRECT' }, 'rsv-1'),
        usage('storage.replica_gb_seconds', { quantity: 3800 * 3600 }, 'rsv-1'),
        usage('storage.cache_gb_seconds', { quantity: '1000.5' }, 'rsv-1'),
        usage('gpu.node_seconds', { quantity: 1800 }, 'rsv-1'),
        usage('network.internet_egress_bytes', { quantity: '1000000000' }, 'rsv-1'),
        usage('energy.kwh', { quantity: '4.5', appliesTo: 'gpu.node_seconds' }, 'rsv-1'),
        usage('carbon.kg', { quantity: '1.8945', appliesTo: 'gpu.node_seconds' }, 'rsv-1'),
      ],
      DEFAULT_RATE_CARD,
    );
    expect(result.unrated).toEqual([]);
    expect(result.lines.map((line) => line.meter)).toEqual([...BILLED_METERS]);
    expect(lineOf(result, 'lightpath.wavelength_seconds')).toMatchObject({
      usageQuantity: '7200',
      usageUnit: 'second',
      quantity: '2.000000',
      unit: 'wavelength-hour',
      unitPriceUsd: '25',
      amountUsd: '50.000000',
      rateGbps: 100,
      distanceClass: 'METRO',
      subject: 'rsv-1',
    });
    expect(lineOf(result, 'lightpath.setup')).toMatchObject({ quantity: '1.000000', unit: 'setup', amountUsd: '50.000000' });
    expect(lineOf(result, 'mount.seconds')).toMatchObject({ unit: 'mount-hour', unitPriceUsd: '0.05', amountUsd: '0.050000' });
    expect(lineOf(result, 'storage.replica_gb_seconds')).toMatchObject({
      quantity: '3800.000000',
      unit: 'GB-hour',
      unitPriceUsd: '0.00014',
      amountUsd: '0.532000',
    });
    // 1000.5 GB-seconds = 0.277916… GB-hours × 0.00021 = 0.0000583625 USD, rounded half to even at the micro-dollar.
    expect(lineOf(result, 'storage.cache_gb_seconds')).toMatchObject({ quantity: '0.277917', amountMicros: 58n });
    expect(lineOf(result, 'gpu.node_seconds')).toMatchObject({
      quantity: '0.500000',
      unit: 'node-hour',
      unitPriceUsd: '22',
      amountUsd: '11.000000',
      energyKwh: '4.5',
      carbonKg: '1.8945',
    });
    expect(lineOf(result, 'network.internet_egress_bytes')).toMatchObject({
      quantity: '1.000000',
      unit: 'GB',
      unitPriceUsd: '0.09',
      amountUsd: '0.090000',
      tier: 1,
    });
    expect(result.totals).toEqual({
      amountMicros: 111_672_058n,
      amountUsd: '111.672058',
      energyKwh: '4.5',
      carbonKg: '1.8945',
    });
  });

  it('multiplies the wavelength-hour price by the distance class', () => {
    const hour = (rateGbps: number, distanceClass: string) =>
      usage('lightpath.wavelength_seconds', { quantity: 3600, rateGbps, distanceClass }, 'rsv');
    const result = rate(
      [hour(100, 'METRO'), hour(100, 'REGIONAL'), hour(100, 'LONG_HAUL'), hour(10, 'REGIONAL'), hour(400, 'LONG_HAUL')],
      DEFAULT_RATE_CARD,
    );
    const amounts = Object.fromEntries(result.lines.map((line) => [`${line.rateGbps}G ${line.distanceClass}`, line.amountUsd]));
    expect(amounts).toEqual({
      '100G METRO': '25.000000',
      '100G REGIONAL': '35.000000',
      '100G LONG_HAUL': '50.000000',
      '10G REGIONAL': '4.200000',
      '400G LONG_HAUL': '180.000000',
    });
    expect(result.lines.find((line) => line.distanceClass === 'REGIONAL' && line.rateGbps === 100)?.unitPriceUsd).toBe('35');
  });
});

describe('rate: grouping into lines', () => {
  it('groups records by meter, subject and price attributes', () => {
    const result = rate(
      [
        usage('gpu.node_seconds', { quantity: 600 }, 'rsv-a'),
        usage('gpu.node_seconds', { quantity: 600 }, 'rsv-a'),
        usage('gpu.node_seconds', { quantity: 600 }, 'rsv-b'),
        usage('mount.seconds', { quantity: 3600, design: 'CACHE' }, 'rsv-a'),
        usage('mount.seconds', { quantity: 3600, design: 'DIRECT' }, 'rsv-a'),
      ],
      DEFAULT_RATE_CARD,
    );
    expect(result.lines.map((l) => [l.meter, l.subject, l.design ?? null, l.usageQuantity, l.records])).toEqual([
      ['mount.seconds', 'rsv-a', 'CACHE', '3600', 1],
      ['mount.seconds', 'rsv-a', 'DIRECT', '3600', 1],
      ['gpu.node_seconds', 'rsv-a', null, '1200', 2],
      ['gpu.node_seconds', 'rsv-b', null, '600', 1],
    ]);
  });

  it('keeps shadow figures with no billed line on a line of their own, with no amount', () => {
    const result = rate(
      [usage('energy.kwh', { quantity: 2, appliesTo: 'lightpath.wavelength_seconds' }, 'rsv-9'), usage('carbon.kg', { quantity: 1 })],
      DEFAULT_RATE_CARD,
    );
    expect(result.lines.map((l) => [l.meter, l.subject, l.amountMicros, l.energyKwh, l.carbonKg])).toEqual([
      ['unattributed', null, 0n, '0', '1'],
      ['lightpath.wavelength_seconds', 'rsv-9', 0n, '2', '0'],
    ]);
    expect(result.totals).toMatchObject({ amountMicros: 0n, energyKwh: '2', carbonKg: '1' });
  });
});

describe('rate: Internet egress tiers', () => {
  const GB = 1_000_000_000n;
  const egress = (...gigabytes: bigint[]) =>
    rate(
      gigabytes.map((gb) => usage('network.internet_egress_bytes', { quantity: String(gb * GB) })),
      DEFAULT_RATE_CARD,
    );
  const tiers = (result: ReturnType<typeof rate>) => result.lines.map((line) => [line.tier, line.quantity, line.amountUsd]);

  it('keeps exactly the first bound in the first tier', () => {
    expect(tiers(egress(10_240n))).toEqual([[1, '10240.000000', '921.600000']]);
  });

  it('prices the byte past a bound at the next tier', () => {
    const result = rate([usage('network.internet_egress_bytes', { quantity: String(10_240n * GB + 1n) })], DEFAULT_RATE_CARD);
    expect(result.lines.map((line) => [line.tier, line.usageQuantity])).toEqual([
      [1, '10240000000000'],
      [2, '1'],
    ]);
  });

  it('prices cumulatively across records and through every tier', () => {
    expect(tiers(egress(6_000n, 6_000n))).toEqual([
      [1, '10240.000000', '921.600000'],
      [2, '1760.000000', '149.600000'],
    ]);
    const all = egress(200_000n);
    expect(tiers(all)).toEqual([
      [1, '10240.000000', '921.600000'],
      [2, '30720.000000', '2611.200000'],
      [3, '61440.000000', '4300.800000'],
      [4, '97600.000000', '4880.000000'],
    ]);
    expect(all.totals.amountUsd).toBe('12713.600000');
  });

  it('refuses fractional bytes', () => {
    const result = rate([usage('network.internet_egress_bytes', { quantity: '1.5' })], DEFAULT_RATE_CARD);
    expect(result.lines).toEqual([]);
    expect(result.unrated[0].reason).toMatch(/whole number of bytes/);
  });
});

describe('rate: what it cannot rate', () => {
  it('reports what it cannot rate instead of dropping it', () => {
    const records = [
      usage('lightpath.wavelength_seconds', { quantity: 60, rateGbps: 100, distanceClass: 'METRO' }),
      usage('storage.snapshot_gb_seconds', { quantity: 10 }),
      usage('lightpath.wavelength_seconds', { quantity: 60, rateGbps: 800, distanceClass: 'METRO' }),
      usage('lightpath.wavelength_seconds', { quantity: 60, rateGbps: 100, distanceClass: 'INTERPLANETARY' }),
      usage('lightpath.wavelength_seconds', { quantity: 60, distanceClass: 'METRO' }),
      usage('mount.seconds', { quantity: 60 }),
      usage('gpu.node_seconds', { quantity: -5 }),
      usage('gpu.node_seconds', { quantity: 'ten' }),
      usage('lightpath.setup', { quantity: 0.5 }),
    ];
    const duplicate = { ...records[0] };
    const result = rate([...records, duplicate], DEFAULT_RATE_CARD);
    expect(result.lines).toHaveLength(1);
    expect(result.unrated.map((u) => [u.id, u.type, u.reason])).toEqual([
      [records[1].id, 'storage.snapshot_gb_seconds', 'unknown meter storage.snapshot_gb_seconds'],
      [records[2].id, 'lightpath.wavelength_seconds', 'the rate card has no price for 800 Gbps wavelengths'],
      [records[3].id, 'lightpath.wavelength_seconds', 'data.distanceClass must be one of METRO, REGIONAL, LONG_HAUL'],
      [records[4].id, 'lightpath.wavelength_seconds', 'data.rateGbps is missing'],
      [records[5].id, 'mount.seconds', 'data.design must be one of DIRECT, REPLICATION, CACHE'],
      [records[6].id, 'gpu.node_seconds', 'data.quantity must not be negative'],
      [records[7].id, 'gpu.node_seconds', 'data.quantity: "ten" is not a decimal number'],
      [records[8].id, 'lightpath.setup', 'data.quantity must be a whole number of setups'],
      [records[0].id, 'lightpath.wavelength_seconds', expect.stringMatching(/^duplicate of an earlier event/)],
    ]);
  });

  it('refuses a card it cannot use, naming the field', () => {
    const bad = (patch: Partial<RateCard>) => () => rate([], { ...DEFAULT_RATE_CARD, ...patch });
    expect(bad({ lightpathSetupUsd: '-1' })).toThrow(new RatingError('card.lightpathSetupUsd', 'must not be negative'));
    expect(bad({ internetEgressTiers: [{ upToGb: 10, usdPerGb: 1 }] })).toThrow(/card\.internetEgressTiers\[0\]\.upToGb/);
    expect(bad({ effectiveFrom: 'soon' })).toThrow(/card\.effectiveFrom/);
    expect(bad({ distanceClassMultiplier: { METRO: 1, REGIONAL: 'x', LONG_HAUL: 2 } })).toThrow(/card\.distanceClassMultiplier\.REGIONAL/);
  });
});

describe('rate: exact sums', () => {
  // At a million lines these run in bench/rating.bench.ts.
  it('sums ten thousand tiny lines exactly', () => {
    // 0.36 s of a 22 USD node-hour is 0.0022 USD; a float running sum of ten thousand of them misses 22.
    const records = Array.from({ length: 10_000 }, (_, i) => usage('gpu.node_seconds', { quantity: '0.36' }, `job-${i}`));
    const result = rate(records, DEFAULT_RATE_CARD);
    expect(result.lines).toHaveLength(10_000);
    expect(result.lines.every((line) => line.amountMicros === 2200n)).toBe(true);
    expect(result.totals.amountUsd).toBe('22.000000');
    expect(result.lines.reduce((sum, line) => sum + Number(line.amountUsd), 0)).not.toBe(22);
  });

  it('adds ten thousand tiny quantities exactly', () => {
    const records = Array.from({ length: 10_000 }, () => usage('mount.seconds', { quantity: 0.1, design: 'DIRECT' }, 'rsv'));
    const [line] = rate(records, DEFAULT_RATE_CARD).lines;
    expect(line.usageQuantity).toBe('1000');
    expect(line.amountUsd).toBe('0.013889'); // 1000 s × 0.05 USD/h
  });
});

describe('selectRateCard', () => {
  const card = (id: string, version: number, effectiveFrom: string): RateCard => ({ ...DEFAULT_RATE_CARD, id, version, effectiveFrom });
  const cards = [
    card('spring', 2, '2025-04-01T00:00:00Z'),
    card('launch', 1, '2025-01-01T00:00:00Z'),
    card('spring-fix', 3, '2025-04-01T00:00:00Z'),
    card('next-year', 4, '2026-01-01T00:00:00+09:00'),
  ];

  it('picks the latest card effective at the instant, the higher version on the same date', () => {
    expect(selectRateCard(cards, '2024-12-31T23:59:59Z')).toBeUndefined();
    expect(selectRateCard(cards, '2025-01-01T00:00:00Z')?.id).toBe('launch');
    expect(selectRateCard(cards, '2025-03-31T23:59:59.999Z')?.id).toBe('launch');
    expect(selectRateCard(cards, new Date('2025-04-01T00:00:00Z'))?.id).toBe('spring-fix');
    expect(selectRateCard(cards, '2025-12-31T15:00:00Z')?.id).toBe('next-year');
  });

  it('rates with the selected version', () => {
    const dearer = { ...card('dear', 5, '2025-07-01T00:00:00Z'), lightpathHourUsd: { '100': '30' } };
    const hour = [usage('lightpath.wavelength_seconds', { quantity: 3600, rateGbps: 100, distanceClass: 'METRO' })];
    const amountAt = (at: string) => rate(hour, selectRateCard([...cards, dearer], at)!).totals.amountUsd;
    expect(amountAt('2025-06-30T23:59:59Z')).toBe('25.000000');
    expect(amountAt('2025-07-01T00:00:00Z')).toBe('30.000000');
  });

  it('refuses bad dates, naming them', () => {
    expect(() => selectRateCard(cards, 'tomorrow')).toThrow(/^at:/);
    expect(() => selectRateCard([card('x', 1, 'never')], '2025-01-01T00:00:00Z')).toThrow(/cards\[0\]\.effectiveFrom/);
  });
});

describe('rateCardPricesProblem: prices of a new card', () => {
  const { id: _id, version: _v, effectiveFrom: _f, currency: _c, ...reference } = DEFAULT_RATE_CARD;
  const prices = JSON.parse(JSON.stringify(reference)) as Record<string, any>;

  it('accepts the reference card’s prices, and prices at their bounds', () => {
    expect(rateCardPricesProblem(prices)).toBeNull();
    expect(
      rateCardPricesProblem({ ...prices, gpuNodeHourUsd: '1000000', lightpathSetupUsd: '0.000000001', lightpathHourUsd: { 1000000: 1 } }),
    ).toBeNull();
  });

  it.each([
    [{ gpuNodeHourUsd: 1e308 }, 'gpuNodeHourUsd', /at most 1000000/],
    [{ gpuNodeHourUsd: '1e999999999' }, 'gpuNodeHourUsd', /too large/],
    [{ gpuNodeHourUsd: '1e-999999999' }, 'gpuNodeHourUsd', /decimal places/],
    [{ gpuNodeHourUsd: '0.0000000001' }, 'gpuNodeHourUsd', /decimal places/],
    [{ gpuNodeHourUsd: 'NaN' }, 'gpuNodeHourUsd', /not a decimal/],
    [{ gpuNodeHourUsd: 'Infinity' }, 'gpuNodeHourUsd', /not a decimal/],
    [{ gpuNodeHourUsd: '-1' }, 'gpuNodeHourUsd', /negative/],
    [{ gpuNodeHourUsd: { usd: 1 } }, 'gpuNodeHourUsd', /decimal/],
    [{ gpuNodeHourUsd: undefined }, 'gpuNodeHourUsd', /missing/],
    [{ surcharge: 1 }, 'surcharge', /not a price/],
    [{ distanceClassMultiplier: { METRO: 1, REGIONAL: 1, LONG_HAUL: 1001 } }, 'distanceClassMultiplier.LONG_HAUL', /at most 1000/],
    [{ distanceClassMultiplier: { METRO: 1, REGIONAL: 1 } }, 'distanceClassMultiplier.LONG_HAUL', /missing/],
    [{ mountHourUsd: { DIRECT: 1, REPLICATION: 1, CACHE: 1, TAPE: 1 } }, 'mountHourUsd.TAPE', /not one of/],
    [{ lightpathHourUsd: { '1e400': 1 } }, 'lightpathHourUsd.1e400', /line rates/],
    [{ lightpathHourUsd: { '100.5': 1 } }, 'lightpathHourUsd.100.5', /line rates/],
    [{ lightpathHourUsd: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [String(i + 1), 1])) }, 'lightpathHourUsd', /at most 16/],
    [
      { internetEgressTiers: Array.from({ length: 17 }, (_, i) => ({ upToGb: i === 16 ? null : i + 1, usdPerGb: 1 })) },
      'internetEgressTiers',
      /16/,
    ],
    [
      {
        internetEgressTiers: [
          { upToGb: 1e13, usdPerGb: 1 },
          { upToGb: null, usdPerGb: 1 },
        ],
      },
      'internetEgressTiers[0].upToGb',
      /at most/,
    ],
    [{ internetEgressTiers: [{ upToGb: null, usdPerGb: 1, note: 'x' }] }, 'internetEgressTiers[0].note', /upToGb/],
    [{ basis: { gpuNodeHourUsd: 'list\u0000' } }, 'basis.gpuNodeHourUsd', /NUL/],
    [{ basis: { gpuNodeHourUsd: '\ud800' } }, 'basis.gpuNodeHourUsd', /surrogate/],
    [{ basis: { gpuNodeHourUsd: 'b'.repeat(501) } }, 'basis.gpuNodeHourUsd', /at most 500/],
    [{ basis: { colour: 'blue' } }, 'basis.colour', /not a price field/],
  ])('refuses %j naming %s', (change, field, reason) => {
    const problem = rateCardPricesProblem({ ...prices, ...change });
    expect(problem).toEqual({ field, reason: expect.stringMatching(reason) });
  });
});
