/**
 * Energy, carbon and cost of one scenario, from how long each piece of equipment is held.
 *
 * energy = Σ power × count × hours held × PUE of the site it stands in
 * carbon = energy × the site's grid carbon intensity
 * cost   = amortisation of every piece over the hours held (capex / life; or GPU-hours at the hourly price)
 *        + energy × the site's price + network (lightpath wavelength-hours × rate × distance class, and
 *          the setup fee; or Internet egress across its tiers) priced by the rating engine.
 *
 * What is held how long follows the design: GPUs and the GPU site's switch for the whole run; the office
 * array, its switch and the lightpath while the office is read (the whole run for DIRECT, the copy for
 * REPLICATION, the cold first epoch for CACHE); a cache or replica node for the whole run.
 */
import { UsageRecord, rate, rateCardFromReference } from '../metering/rating';
import { DistanceClass, EquipmentKind, RefValue, ScenarioKind, StorageDesign } from '../vocabulary/domain';
import { ReferenceValues, WAVELENGTH_RATES } from '../vocabulary/reference';

export type GpuPricing = 'AMORTISED' | 'HOURLY';
export type SiteRole = 'GPU' | 'STORAGE';

/** The figures of one site that energy, carbon and cost depend on, each with its basis. */
export interface SiteRates {
  id: string | null;
  pue: RefValue<number>;
  carbonKgPerKwh: RefValue<number>;
  energyUsdPerKwh: RefValue<number>;
}

/** How many of each piece a scenario uses. */
export interface EquipmentSet {
  gpuServers: number;
  storageArrays: number;
  cacheOrReplicaNodes: number;
  switchesPerSite: number;
  transpondersPerEnd: number;
}

export const DEFAULT_EQUIPMENT: EquipmentSet = {
  gpuServers: 1,
  storageArrays: 1,
  cacheOrReplicaNodes: 1,
  switchesPerSite: 1,
  transpondersPerEnd: 1,
};

/** What a scenario's timing implies for cost. */
export interface UsagePlan {
  kind: ScenarioKind;
  design: StorageDesign;
  totalSeconds: number;
  /** How long the office storage and the link are needed. */
  officeSeconds: number;
  /** Bytes carried over the link from the office (Internet egress). */
  bytesOverLink: number;
  bandwidthGbps: number;
  distanceClass: DistanceClass | null;
}

export interface Holding {
  kind: EquipmentKind;
  site: SiteRole;
  count: number;
  seconds: number;
}

export interface CostItem {
  item: string;
  usd: number;
  basis: string;
}

export interface SiteEnergy {
  site: SiteRole;
  siteId: string | null;
  itKwh: number;
  pue: number;
  kwh: number;
  co2Kg: number;
}

export interface CostEstimate {
  energyKwh: number;
  co2Kg: number;
  costUsd: number;
  items: CostItem[];
  energy: SiteEnergy[];
  /** The wavelengths priced for an APN lightpath: rate and count. */
  lightpath: { rateGbps: number; wavelengths: number; seconds: number } | null;
  reasons: string[];
}

const HOURS_PER_YEAR = 8760;
const toMicro = (usd: number) => Math.round(usd * 1e6) / 1e6;

/** Who is held where, for how long, for a design. */
export function holdings(plan: UsagePlan, equipment: EquipmentSet): Holding[] {
  const { totalSeconds: total, officeSeconds: office } = plan;
  const list: Holding[] = [{ kind: 'GPU_SERVER', site: 'GPU', count: equipment.gpuServers, seconds: total }];
  if (plan.kind === 'LOCAL') {
    list.push(
      { kind: 'STORAGE_NFS_ARRAY', site: 'GPU', count: equipment.storageArrays, seconds: total },
      { kind: 'SWITCH_100G', site: 'GPU', count: equipment.switchesPerSite, seconds: total },
    );
    return list;
  }
  list.push(
    { kind: 'SWITCH_100G', site: 'GPU', count: equipment.switchesPerSite, seconds: total },
    { kind: 'STORAGE_NFS_ARRAY', site: 'STORAGE', count: equipment.storageArrays, seconds: office },
    { kind: 'SWITCH_100G', site: 'STORAGE', count: equipment.switchesPerSite, seconds: office },
  );
  if (plan.design !== 'DIRECT') {
    list.push({ kind: 'CACHE_OR_REPLICA_NODE', site: 'GPU', count: equipment.cacheOrReplicaNodes, seconds: total });
  }
  if (plan.kind === 'APN') {
    list.push(
      { kind: 'APN_TRANSPONDER', site: 'GPU', count: equipment.transpondersPerEnd, seconds: office },
      { kind: 'APN_TRANSPONDER', site: 'STORAGE', count: equipment.transpondersPerEnd, seconds: office },
    );
  }
  return list.filter((h) => h.count > 0);
}

/** The wavelengths to book for a bandwidth: the smallest priced rate that carries it, or several of the largest. */
export function wavelengthsFor(bandwidthGbps: number): { rateGbps: number; wavelengths: number } {
  const rates = WAVELENGTH_RATES.map(Number).sort((a, b) => a - b);
  const fitting = rates.find((r) => r >= bandwidthGbps);
  if (fitting !== undefined) return { rateGbps: fitting, wavelengths: 1 };
  const largest = rates[rates.length - 1];
  return { rateGbps: largest, wavelengths: Math.ceil(bandwidthGbps / largest) };
}

/** Network usage of a plan as usage events, so the rating engine prices it as an invoice would. */
function networkUsage(plan: UsagePlan): { records: UsageRecord[]; lightpath: CostEstimate['lightpath'] } {
  const event = (type: string, data: UsageRecord['data']): UsageRecord => ({
    specversion: '1.0',
    id: type,
    source: 'urn:apn:planner',
    type,
    time: '1970-01-01T00:00:00Z',
    data,
  });
  if (plan.kind === 'APN' && plan.distanceClass) {
    const { rateGbps, wavelengths } = wavelengthsFor(plan.bandwidthGbps);
    const seconds = plan.officeSeconds * wavelengths;
    return {
      records: [
        event('lightpath.wavelength_seconds', { quantity: seconds.toFixed(6), rateGbps, distanceClass: plan.distanceClass }),
        event('lightpath.setup', { quantity: wavelengths }),
      ],
      lightpath: { rateGbps, wavelengths, seconds: plan.officeSeconds },
    };
  }
  if (plan.kind === 'INTERNET') {
    return {
      records: [event('network.internet_egress_bytes', { quantity: Math.round(plan.bytesOverLink).toString() })],
      lightpath: null,
    };
  }
  return { records: [], lightpath: null };
}

export function estimateCost(
  plan: UsagePlan,
  equipment: EquipmentSet,
  sites: Record<SiteRole, SiteRates>,
  values: ReferenceValues,
  gpuPricing: GpuPricing,
): CostEstimate {
  const items: CostItem[] = [];
  const held = holdings(plan, equipment);
  const itKwh: Record<SiteRole, number> = { GPU: 0, STORAGE: 0 };
  let billedGpuKwh = 0;

  for (const h of held) {
    const hours = (h.count * h.seconds) / 3600;
    const powerKw = values[`equipment.${h.kind}.powerKw`].value;
    itKwh[h.site] += powerKw * hours;
    const where = h.site === 'GPU' ? 'GPU site' : 'office';
    if (h.kind === 'GPU_SERVER' && gpuPricing === 'HOURLY') {
      const gpus = values['gpu.perServer'].value;
      const price = values['gpu.hourUsd'].value;
      billedGpuKwh += powerKw * hours;
      items.push({
        item: `GPU-hours: ${h.count} × ${gpus} GPUs × ${hours.toFixed(4)} h at $${price}`,
        usd: toMicro(hours * gpus * price),
        basis: values['gpu.hourUsd'].basis,
      });
      continue;
    }
    const capex = values[`equipment.${h.kind}.capexUsd`].value;
    const life = values[`equipment.${h.kind}.lifeYears`].value;
    items.push({
      item: `${h.kind} amortisation at ${where}: ${h.count} × $${capex} / ${life} y × ${(h.seconds / 3600).toFixed(4)} h`,
      usd: toMicro((hours * capex) / (life * HOURS_PER_YEAR)),
      basis: values[`equipment.${h.kind}.capexUsd`].basis,
    });
  }

  const energy: SiteEnergy[] = [];
  const reasons: string[] = [];
  for (const role of ['GPU', 'STORAGE'] as const) {
    if (itKwh[role] === 0) continue;
    const site = sites[role];
    const kwh = itKwh[role] * site.pue.value;
    energy.push({ site: role, siteId: site.id, itKwh: itKwh[role], pue: site.pue.value, kwh, co2Kg: kwh * site.carbonKgPerKwh.value });
    // With GPU-hours bought at an hourly price, the GPUs' power is in that price.
    const billedKwh = (itKwh[role] - (role === 'GPU' ? billedGpuKwh : 0)) * site.pue.value;
    items.push({
      item: `energy at ${role === 'GPU' ? 'GPU site' : 'office'}: ${billedKwh.toFixed(3)} kWh × $${site.energyUsdPerKwh.value}/kWh`,
      usd: toMicro(billedKwh * site.energyUsdPerKwh.value),
      basis: site.energyUsdPerKwh.basis,
    });
    const where = `${role === 'GPU' ? 'GPU site' : 'office'}${site.id ? ` (${site.id})` : ''}`;
    reasons.push(
      `Energy at the ${where}: ${itKwh[role].toFixed(3)} kWh of equipment × PUE ${site.pue.value} = ${kwh.toFixed(3)} kWh, ` +
        `${(kwh * site.carbonKgPerKwh.value).toFixed(3)} kg CO2 at ${site.carbonKgPerKwh.value} kg/kWh`,
    );
  }

  const network = networkUsage(plan);
  if (network.records.length > 0) {
    const card = rateCardFromReference(values, { id: 'planner', version: 1, effectiveFrom: '1970-01-01T00:00:00Z' });
    for (const line of rate(network.records, card).lines) {
      items.push({
        item: `network: ${line.description}, ${line.quantity} ${line.unit} at $${line.unitPriceUsd}`,
        usd: Number(line.amountUsd),
        basis: card.basis?.[basisField(line.meter)] ?? '',
      });
    }
  }

  const energyKwh = energy.reduce((sum, e) => sum + e.kwh, 0);
  const co2Kg = energy.reduce((sum, e) => sum + e.co2Kg, 0);
  const costUsd = toMicro(items.reduce((sum, i) => sum + i.usd, 0));
  const largest = [...items].sort((a, b) => b.usd - a.usd)[0];
  reasons.push(`Cost $${costUsd.toFixed(2)}${largest ? `, most of it ${largest.item} ($${largest.usd.toFixed(2)})` : ''}`);
  return { energyKwh, co2Kg, costUsd, items, energy, lightpath: network.lightpath, reasons };
}

function basisField(meter: string): string {
  switch (meter) {
    case 'lightpath.wavelength_seconds':
      return 'lightpathHourUsd';
    case 'lightpath.setup':
      return 'lightpathSetupUsd';
    default:
      return 'internetEgressTiers';
  }
}
