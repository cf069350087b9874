import { createTenantWithKey, gql, gqlOk, startTestService, type TestService } from './support/service';

/**
 * compareScenarios over GraphQL: the estimator calibrated on the IOWN PoC, fed with the topology's sites and
 * the operator's overrides of the reference values.
 */

const COMPARE = `query($i: CompareScenariosInput!) { compareScenarios(input: $i) {
  scenarios { label kind design allowed epochSeconds totalSeconds slowdownPercent meetsKr11 bound energyKwh co2Kg costUsd
    link { goodputGbps rttMs distanceClass } costItems { item usd basis } reasons }
  recommended { label design reasons }
  calibration { syncRoundTripsPerStep gpuSecondsPerStep }
  basis { key value basis overridden }
} }`;

// The PoC's UNet3D epoch: 3.8e12 bytes in 5,000 steps, 357 s measured with storage beside the GPUs.
const POC = { datasetBytes: '3800000000000', steps: 5000, localEpochSeconds: 357 };

describe('compareScenarios', () => {
  let t: TestService;
  let sites: Record<string, string>;
  let tenant: { token: string };

  beforeAll(async () => {
    t = await startTestService();
    sites = Object.fromEntries(
      (await gqlOk(t.url, t.adminToken, '{ sites { id code } }')).sites.map((s: { id: string; code: string }) => [s.code, s.id]),
    );
    tenant = await createTenantWithKey(t, 'Planner');
  });
  afterAll(async () => {
    await t?.stop();
  });

  const compare = async (token: string, input: Record<string, unknown>) =>
    (await gqlOk(t.url, token, COMPARE, { i: input })).compareScenarios;

  it('reproduces both measured PoC runs within 2%, and predicts longer distances and the Internet link from physics', async () => {
    const result = await compare(tenant.token, {
      workload: POC,
      scenarios: [
        { label: 'local', kind: 'LOCAL' },
        { label: 'apn-40', kind: 'APN', distanceKm: 40 },
        { label: 'apn-200', kind: 'APN', distanceKm: 200 },
        { label: 'apn-1000', kind: 'APN', distanceKm: 1000 },
        { label: 'internet', kind: 'INTERNET', bandwidthGbps: 1, rttMs: 10 },
      ],
    });
    const by = Object.fromEntries(result.scenarios.map((s: { label: string }) => [s.label, s]));
    expect(Math.abs(by.local.epochSeconds - 357) / 357).toBeLessThan(0.02);
    expect(Math.abs(by['apn-40'].epochSeconds - 364) / 364).toBeLessThan(0.02);
    expect(by['apn-40'].meetsKr11).toBe(true);
    expect(by['apn-200'].epochSeconds).toBeGreaterThan(by['apn-40'].epochSeconds);
    expect(by['apn-1000'].epochSeconds).toBeGreaterThan(by['apn-200'].epochSeconds);
    expect(by['apn-1000'].meetsKr11).toBe(false);
    expect(by['apn-1000'].link.distanceClass).toBe('LONG_HAUL');
    // The Internet link cannot beat its goodput: 3.8e12 bytes at most at goodput Gbps.
    const floor = (3.8e12 * 8) / (by.internet.link.goodputGbps * 1e9);
    expect(by.internet.epochSeconds).toBeGreaterThanOrEqual(floor);
    expect(by.internet.bound).toBe('LINK');
    expect(by.internet.link.goodputGbps).toBeLessThan(1);
    for (const s of result.scenarios) {
      expect(s.reasons.length).toBeGreaterThan(0);
      expect(s.energyKwh).toBeGreaterThan(0);
      expect(s.costUsd).toBeGreaterThan(0);
    }
    expect(result.recommended.label).toBeTruthy();
    expect(result.basis.find((b: { key: string }) => b.key === 'pue.standard')).toMatchObject({ value: 1.58, overridden: false });
  });

  it('allows DIRECT only for confidential data, and uses the GPU site’s PUE', async () => {
    const result = await compare(tenant.token, {
      workload: { ...POC, epochs: 10 },
      confidential: true,
      scenarios: ['DIRECT', 'REPLICATION', 'CACHE'].map((design) => ({
        label: design,
        kind: 'APN',
        design,
        distanceKm: 1000,
        gpuSiteId: sites['ISK-GDC'],
      })),
    });
    const allowed = Object.fromEntries(result.scenarios.map((s: { label: string; allowed: boolean }) => [s.label, s.allowed]));
    expect(allowed).toEqual({ DIRECT: true, REPLICATION: false, CACHE: false });
    expect(result.recommended.design).toBe('DIRECT');

    const at = async (site: string) =>
      (await compare(tenant.token, { workload: POC, scenarios: [{ label: 'x', kind: 'APN', distanceKm: 40, gpuSiteId: sites[site] }] }))
        .scenarios[0];
    const green = await at('TAM-GDC');
    const standard = await at('SNG-DC');
    // Same work and time; the standard data center's higher PUE costs more energy and carbon.
    expect(standard.epochSeconds).toBeCloseTo(green.epochSeconds, 6);
    expect(standard.energyKwh).toBeGreaterThan(green.energyKwh);
  });

  it('lets an operator override a reference value, shown with its basis and used at once', async () => {
    const before = await compare(tenant.token, { workload: POC, scenarios: [{ label: 'x', kind: 'APN', distanceKm: 40 }] });
    const set = await gqlOk(
      t.url,
      t.adminToken,
      'mutation { setReferenceValue(key: "network.apnSetupFeeUsd", value: 500, basis: "contract 2026-11") { key value basis overridden } }',
    );
    expect(set.setReferenceValue.find((v: { key: string }) => v.key === 'network.apnSetupFeeUsd')).toEqual({
      key: 'network.apnSetupFeeUsd',
      value: 500,
      basis: 'operator override: contract 2026-11',
      overridden: true,
    });
    const after = await compare(tenant.token, { workload: POC, scenarios: [{ label: 'x', kind: 'APN', distanceKm: 40 }] });
    expect(after.scenarios[0].costUsd).toBeCloseTo(before.scenarios[0].costUsd + 450, 4);

    const tenantTry = await gql(t.url, tenant.token, 'mutation { setReferenceValue(key: "pue.green", value: 1.1) { key } }');
    expect(tenantTry.errors![0].extensions.code).toBe('FORBIDDEN');
    const bad = await gql(t.url, t.adminToken, 'mutation { setReferenceValue(key: "pue.green", value: -1) { key } }');
    expect(bad.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'overrides.pue.green' });
    const unknown = await gql(t.url, t.adminToken, 'mutation { setReferenceValue(key: "pue.lunar", value: 1.2) { key } }');
    expect(unknown.errors![0].extensions.code).toBe('BAD_USER_INPUT');

    await gqlOk(t.url, t.adminToken, 'mutation { clearReferenceValue(key: "network.apnSetupFeeUsd") { key } }');
    const reset = await compare(tenant.token, { workload: POC, scenarios: [{ label: 'x', kind: 'APN', distanceKm: 40 }] });
    expect(reset.scenarios[0].costUsd).toBeCloseTo(before.scenarios[0].costUsd, 6);
  });

  it('refuses bad planner input naming the field', async () => {
    const r = await gql(t.url, tenant.token, COMPARE, {
      i: { workload: { ...POC, steps: 0 }, scenarios: [{ label: 'x', kind: 'LOCAL' }] },
    });
    expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.workload.steps' });
    const twice = await gql(t.url, tenant.token, COMPARE, {
      i: {
        workload: POC,
        scenarios: [
          { label: 'x', kind: 'LOCAL' },
          { label: 'x', kind: 'LOCAL' },
        ],
      },
    });
    expect(twice.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.scenarios[1].label' });
  });
});
