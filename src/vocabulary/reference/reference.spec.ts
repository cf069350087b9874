import { PlannerInputError } from '../domain';
import { CALIBRATED_KEY, PRICES_REFERENCE, REFERENCE_DEFAULTS, STATIC_DEFAULTS, basisList, resolveReference } from '.';

describe('reference values', () => {
  it('take their figures from equipment-and-prices.json', () => {
    const gpu = PRICES_REFERENCE.equipment.find((e) => e.kind === 'GPU_SERVER')!;
    expect(REFERENCE_DEFAULTS['equipment.GPU_SERVER.capexUsd'].value).toBe(gpu.capexUsd);
    expect(REFERENCE_DEFAULTS['equipment.GPU_SERVER.powerKw'].value).toBe(gpu.typicalPowerKw);
    expect(REFERENCE_DEFAULTS['pue.standard'].value).toBe(PRICES_REFERENCE.pue.standardDataCenter.value);
    const [low, high] = PRICES_REFERENCE.pue.greenDataCenterRange.value;
    expect(REFERENCE_DEFAULTS['pue.green'].value).toBeGreaterThanOrEqual(low);
    expect(REFERENCE_DEFAULTS['pue.green'].value).toBeLessThanOrEqual(high);
    expect(REFERENCE_DEFAULTS['network.internetEgressTiers'].value).toEqual([
      { upToGb: 10240, usdPerGb: 0.09 },
      { upToGb: 40960, usdPerGb: 0.085 },
      { upToGb: 102400, usdPerGb: 0.07 },
      { upToGb: null, usdPerGb: 0.05 },
    ]);
  });

  it('carry a basis each, and mark what is not cited', () => {
    const list = basisList(REFERENCE_DEFAULTS);
    expect(list.length).toBe(Object.keys(STATIC_DEFAULTS).length + 1);
    for (const { basis } of list) expect(basis.trim()).not.toBe('');
    expect(REFERENCE_DEFAULTS['energy.usdPerKwh'].basis).toMatch(/^guess/);
    expect(REFERENCE_DEFAULTS['metering.mountHourUsd'].basis).toMatch(/^guess/);
  });

  it('recalibrate the round trips under overrides that change them, and keep an explicit value', () => {
    const slowerFiber = resolveReference({ 'model.fiberUsPerKm': 9.8 });
    expect(slowerFiber[CALIBRATED_KEY].value).toBeCloseTo(REFERENCE_DEFAULTS[CALIBRATED_KEY].value / 2, 9);
    // The host-and-LAN round trip is in both PoC cases, so it does not change the fitted count.
    expect(resolveReference({ 'model.lanRttMs': 0.05 })[CALIBRATED_KEY].value).toBeCloseTo(REFERENCE_DEFAULTS[CALIBRATED_KEY].value, 9);
    expect(resolveReference({ [CALIBRATED_KEY]: 2 })[CALIBRATED_KEY]).toEqual({ value: 2, basis: 'operator override' });
  });

  it('refuse overrides under which the PoC cannot be reproduced, unless the round trips are given too', () => {
    // A 10G lightpath could not have carried the 40 km epoch in 364 s.
    expect(() => resolveReference({ 'model.apnBandwidthGbps': 10 })).toThrow(PlannerInputError);
    expect(() => resolveReference({ 'model.apnBandwidthGbps': 10 })).toThrow(/cannot reproduce the PoC/);
    expect(resolveReference({ 'model.apnBandwidthGbps': 10, [CALIBRATED_KEY]: 3 })['model.apnBandwidthGbps'].value).toBe(10);
  });

  it('refuse malformed overrides, naming the key', () => {
    const field = (overrides: unknown) => {
      try {
        resolveReference(overrides as Record<string, unknown>);
      } catch (error) {
        return (error as PlannerInputError).field;
      }
      return undefined;
    };
    expect(field([])).toBe('overrides');
    expect(field({ 'gpu.perServer': 7.5 })).toBe('overrides.gpu.perServer');
    expect(field({ 'carbon.kgPerKwh': -1 })).toBe('overrides.carbon.kgPerKwh');
    expect(field({ 'energy.usdPerKwh': { value: 0.2, basis: '' } })).toBe('overrides.energy.usdPerKwh.basis');
    expect(field({ 'network.regionalMaxKm': 50 })).toBe('overrides.network.regionalMaxKm');
    expect(field({ 'network.internetEgressTiers': [{ upToGb: null, usdPerGb: 'free' }] })).toBe(
      'overrides.network.internetEgressTiers[0].usdPerGb',
    );
  });
});
