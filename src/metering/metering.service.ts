import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { MetricsService } from '../core/metrics/metrics.service';
import { REFERENCE_DEFAULTS } from '../vocabulary/reference';
import { formatScaled, toScaled } from './decimal';
import { HOUR_MS, METERING_SOURCE, METER_UNITS, UsageRow, distanceClassOf, floorHour, hourSlices, quantityProblem, usageEventId } from './usage-events';
import { insertUsageRows } from './usage-store';
import { RunMeasurementsService } from '../runs/run-measurements.service';

/** Windows this far back from the last one metered are recomputed on every run, to catch late changes. */
const RECHECK_MS = 48 * HOUR_MS;
const SCALE = 9;
const TRANSPONDER_KW = REFERENCE_DEFAULTS['equipment.APN_TRANSPONDER.powerKw'].value;

interface Derived {
  meter: string;
  resourceId: string;
  tenantId: string;
  windowStart: number;
  /** Scaled by 10^9. */
  quantity: bigint;
  /** Of quantity, the part computed from measured power (shadow energy and carbon of GPU nodes). */
  measured?: bigint;
  attributes: Record<string, string | number>;
}

interface SiteFigures {
  code: string;
  pue: number;
  carbon: number;
}

const toDate = (value: Date | string | null): number | null => (value === null ? null : new Date(value).getTime());
/** A figure a run could not compute from the stored records, and why. */
class UnmeterableError extends Error {}

/** A physical figure (kWh, kg) as a scaled decimal; one that is not a finite number cannot be metered. */
function scaled(value: number): bigint {
  if (!Number.isFinite(value)) throw new UnmeterableError(`the figure comes out as ${value} (check the rated power, PUE and grid carbon intensity stored for it)`);
  return toScaled(value.toFixed(SCALE), SCALE);
}
/** kW × ms → kWh, scaled. */
const kwhScaled = (kw: number, ms: number) => scaled(kw * ms / HOUR_MS);

/**
 * Derives usage events from the service's own records, per closed hour window: lightpath wavelength-seconds
 * and setups, mount-seconds, replica and cache GB-seconds, GPU node-seconds, and shadow energy and carbon.
 *
 * One resource whose stored data gives no figure (a rated power so large that energy is infinite, a value
 * missing) must not stop the metering of every other: that meter of that resource is left out of the run,
 * logged and counted in `apn_metering_unmetered_total`, and what was metered for it before stays as it was
 * until its data is repaired.
 */
@Injectable()
export class MeteringService {
  private readonly log = new Logger(MeteringService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly metrics: MetricsService,
    private readonly runs: RunMeasurementsService,
  ) {}

  /**
   * Meters every hour window that closes by `until` and was not metered yet, and recomputes the windows of
   * the last 48 hours metered: a changed quantity is written as a new revision. Time still running is
   * counted up to now, so a window closing after now is provisional and a later run corrects it.
   * Returns the number of events written.
   */
  async collect(until: Date): Promise<number> {
    const windowEnd = floorHour(until.getTime());
    return this.dataSource.transaction(async (m) => {
      await m.query(`SELECT pg_advisory_xact_lock(hashtext('apn.metering.collect'))`);
      const [{ last }] = await m.query(
        `SELECT max(time) AS last FROM usage_events WHERE source = '${METERING_SOURCE}' AND NOT superseded`,
      );
      const lastMs = toDate(last);
      const since = lastMs === null ? 0 : Math.max(0, Math.min(lastMs + HOUR_MS, windowEnd) - RECHECK_MS);
      if (since >= windowEnd) return 0;
      const clipOpen = Math.min(Date.now(), windowEnd);
      const derived = new Map<string, Derived>();
      /** (meter, resource) pairs this run could not meter, with the first reason. */
      const unmetered = new Map<string, { meter: string; resourceId: string; reason: string }>();
      const skip = (meter: string, resourceId: string, error: unknown) => {
        const key = `${meter}|${resourceId}`;
        if (!unmetered.has(key)) unmetered.set(key, { meter, resourceId, reason: error instanceof Error ? error.message : String(error) });
      };
      /** Adds a figure computed by `quantity`; a figure that cannot be computed skips its meter and resource. */
      const add = (d: Omit<Derived, 'quantity' | 'measured'>, quantity: () => bigint, measured = false) => {
        let value: bigint;
        try {
          value = quantity();
        } catch (error) {
          skip(d.meter, d.resourceId, error);
          return;
        }
        if (value <= 0n) return;
        const key = `${d.meter}|${d.resourceId}|${d.windowStart}`;
        const existing = derived.get(key) ?? derived.set(key, { ...d, quantity: 0n, measured: 0n }).get(key)!;
        existing.quantity += value;
        if (measured) existing.measured = (existing.measured ?? 0n) + value;
      };
      /** Runs the derivation of one resource; should it fail outright, its meters are skipped this run. */
      const each = <T>(records: readonly T[], resourceOf: (r: T) => string, meters: readonly string[], derive: (r: T) => void) => {
        for (const record of records) {
          try {
            derive(record);
          } catch (error) {
            for (const meter of meters) skip(meter, resourceOf(record), error);
          }
        }
      };
      const span = (startMs: number, endMs: number | null) => [Math.max(startMs, since), Math.min(endMs ?? clipOpen, windowEnd)] as const;
      const params = [new Date(since).toISOString(), new Date(windowEnd).toISOString()];

      // Lightpaths: each ACTIVE spell, until the next transition.
      const spells: Array<{
        reservation_id: string; tenant_id: string; rate_gbps: number; distance_km: number; at: Date; next_at: Date | null;
        src_code: string; src_pue: number; src_carbon: number; dst_code: string; dst_pue: number; dst_carbon: number;
      }> = await m.query(
        `SELECT x.reservation_id, r.tenant_id, r.rate_gbps, r.distance_km, x.at, x.next_at,
                ss.code AS src_code, ss.pue AS src_pue, ss.grid_carbon_kg_per_kwh AS src_carbon,
                ds.code AS dst_code, ds.pue AS dst_pue, ds.grid_carbon_kg_per_kwh AS dst_carbon
           FROM (SELECT t.reservation_id, t.to_state, t.at,
                        lead(t.at) OVER (PARTITION BY t.reservation_id ORDER BY t.at, t.id) AS next_at
                   FROM reservation_transitions t) x
           JOIN reservations r ON r.id = x.reservation_id
           JOIN endpoints se ON se.id = r.source_endpoint_id JOIN sites ss ON ss.id = se.site_id
           JOIN endpoints de ON de.id = r.destination_endpoint_id JOIN sites ds ON ds.id = de.site_id
          WHERE x.to_state = 'ACTIVE' AND x.at < $2 AND (x.next_at IS NULL OR x.next_at > $1)`,
        params,
      );
      each(spells, (s) => s.reservation_id, ['lightpath.wavelength_seconds', 'energy.kwh', 'carbon.kg'], (s) => {
        const [from, to] = span(toDate(s.at)!, toDate(s.next_at));
        const attributes = { rateGbps: s.rate_gbps, distanceClass: distanceClassOf(s.distance_km), site: s.src_code };
        for (const slice of hourSlices(from, to)) {
          const base = { resourceId: s.reservation_id, tenantId: s.tenant_id, windowStart: slice.windowStart };
          add({ ...base, meter: 'lightpath.wavelength_seconds', attributes }, () => BigInt(slice.ms) * 1_000_000n);
          // One transponder at each end, each drawing at its site's PUE.
          const shadow = { ...attributes, appliesTo: 'lightpath.wavelength_seconds' };
          add({ ...base, meter: 'energy.kwh', attributes: shadow },
            () => kwhScaled(TRANSPONDER_KW * s.src_pue, slice.ms) + kwhScaled(TRANSPONDER_KW * s.dst_pue, slice.ms));
          add({ ...base, meter: 'carbon.kg', attributes: shadow },
            () => scaled((TRANSPONDER_KW * s.src_pue * s.src_carbon + TRANSPONDER_KW * s.dst_pue * s.dst_carbon) * slice.ms / HOUR_MS));
        }
      });

      // Setups: one per reservation, in the window it first became ACTIVE.
      const setups: Array<{ reservation_id: string; tenant_id: string; first_at: Date }> = await m.query(
        `SELECT t.reservation_id, r.tenant_id, min(t.at) AS first_at
           FROM reservation_transitions t JOIN reservations r ON r.id = t.reservation_id
          WHERE t.to_state = 'ACTIVE' GROUP BY t.reservation_id, r.tenant_id
         HAVING min(t.at) >= $1 AND min(t.at) < $2`,
        params,
      );
      each(setups, (s) => s.reservation_id, ['lightpath.setup'], (s) => {
        const at = toDate(s.first_at)!;
        if (at >= clipOpen) return;
        add({ meter: 'lightpath.setup', resourceId: s.reservation_id, tenantId: s.tenant_id, windowStart: floorHour(at), attributes: {} }, () => 10n ** 9n);
      });

      // Mounts: each ATTACHED spell, by design.
      const attached: Array<{ mount_id: string; tenant_id: string; design: string; at: Date; next_at: Date | null }> = await m.query(
        `SELECT x.mount_id, mo.tenant_id, mo.design, x.at, x.next_at
           FROM (SELECT t.mount_id, t.to_state, t.at, lead(t.at) OVER (PARTITION BY t.mount_id ORDER BY t.at, t.id) AS next_at
                   FROM mount_transitions t) x
           JOIN mounts mo ON mo.id = x.mount_id
          WHERE x.to_state = 'ATTACHED' AND x.at < $2 AND (x.next_at IS NULL OR x.next_at > $1)`,
        params,
      );
      each(attached, (a) => a.mount_id, ['mount.seconds'], (a) => {
        const [from, to] = span(toDate(a.at)!, toDate(a.next_at));
        for (const slice of hourSlices(from, to)) {
          add({ meter: 'mount.seconds', resourceId: a.mount_id, tenantId: a.tenant_id, windowStart: slice.windowStart, attributes: { design: a.design } },
            () => BigInt(slice.ms) * 1_000_000n);
        }
      });

      // Replica and cache copies: bytes held (never more than the dataset) × time held.
      const copies: Array<{ mount_id: string; tenant_id: string; kind: string; since: Date; purged_at: Date | null; bytes: string; site: string }> = await m.query(
        `SELECT c.mount_id, mo.tenant_id, c.kind, c.since, c.purged_at,
                least(coalesce(c.bytes_held, mo.bytes_copied), d.bytes)::text AS bytes, s.code AS site
           FROM dataset_custody c
           JOIN mounts mo ON mo.id = c.mount_id
           JOIN datasets d ON d.id = c.dataset_id
           JOIN storage_systems ss ON ss.id = c.storage_system_id JOIN sites s ON s.id = ss.site_id
          WHERE c.kind IN ('REPLICA', 'CACHE') AND c.since < $2 AND (c.purged_at IS NULL OR c.purged_at > $1)`,
        params,
      );
      each(copies, (c) => c.mount_id, ['storage.replica_gb_seconds', 'storage.cache_gb_seconds'], (c) => {
        const [from, to] = span(toDate(c.since)!, toDate(c.purged_at));
        const meter = c.kind === 'REPLICA' ? 'storage.replica_gb_seconds' : 'storage.cache_gb_seconds';
        for (const slice of hourSlices(from, to)) {
          // bytes/10^9 × ms/10^3, scaled by 10^9: bytes × ms / 10^3.
          add({ meter, resourceId: c.mount_id, tenantId: c.tenant_id, windowStart: slice.windowStart, attributes: { site: c.site } },
            () => (BigInt(c.bytes) * BigInt(slice.ms)) / 1000n);
        }
      });

      // GPU allocations: every node held, with its power at its site's PUE: measured, where a training run's
      // power samples of the node cover the hour's slice, else rated. Never both for one node and hour.
      const held: Array<{ allocation_id: string; tenant_id: string; node: string; lower: Date; upper: Date; kw: number; pue: number; carbon: number; site: string }> = await m.query(
        `SELECT a.id AS allocation_id, a.tenant_id, g.name AS node, lower(n.during) AS lower, upper(n.during) AS upper,
                g.rated_power_kw AS kw, s.pue, s.grid_carbon_kg_per_kwh AS carbon, s.code AS site
           FROM gpu_node_allocations n
           JOIN gpu_allocations a ON a.id = n.allocation_id
           JOIN gpu_nodes g ON g.id = n.node_id
           JOIN gpu_clusters c ON c.id = a.cluster_id JOIN sites s ON s.id = c.site_id
          WHERE n.during && tstzrange($1, $2, '[)')`,
        params,
      );
      const measuredJoules = await this.runs.gpuNodeEnergy(m, since, windowEnd);
      each(held, (h) => h.allocation_id, ['gpu.node_seconds', 'energy.kwh', 'carbon.kg'], (h) => {
        const [from, to] = span(toDate(h.lower)!, Math.min(toDate(h.upper)!, clipOpen));
        for (const slice of hourSlices(from, to)) {
          const base = { resourceId: h.allocation_id, tenantId: h.tenant_id, windowStart: slice.windowStart };
          add({ ...base, meter: 'gpu.node_seconds', attributes: { site: h.site } }, () => BigInt(slice.ms) * 1_000_000n);
          const sliceFrom = Math.max(from, slice.windowStart);
          const joules = measuredJoules(h.allocation_id, h.node, sliceFrom, sliceFrom + slice.ms);
          const kwh = (joules === null ? h.kw * slice.ms / HOUR_MS : joules / 3.6e6) * h.pue;
          const shadow = { site: h.site, appliesTo: 'gpu.node_seconds' };
          add({ ...base, meter: 'energy.kwh', attributes: shadow }, () => scaled(kwh), joules !== null);
          add({ ...base, meter: 'carbon.kg', attributes: shadow }, () => scaled(kwh * h.carbon), joules !== null);
        }
      });
      // What each shadow figure rests on, for the invoice to say.
      for (const d of derived.values()) {
        if (d.meter !== 'energy.kwh' && d.meter !== 'carbon.kg') continue;
        const measured = d.measured ?? 0n;
        if (d.attributes.appliesTo !== 'gpu.node_seconds') continue;
        d.attributes = {
          ...d.attributes,
          basis: measured === 0n ? 'rated' : measured >= d.quantity ? 'measured' : 'mixed',
          ...(measured > 0n && measured < d.quantity ? { measuredQuantity: formatScaled(measured, SCALE) } : {}),
        };
      }

      // A total beyond what an event may hold is no figure either (ingest refuses the same).
      for (const d of derived.values()) {
        const problem = quantityProblem(formatScaled(d.quantity, SCALE));
        if (problem) skip(d.meter, d.resourceId, new UnmeterableError(`the figure for the hour from ${new Date(d.windowStart).toISOString()} ${problem}`));
      }
      // What could not be metered is neither written nor corrected: its earlier events stand until its data is repaired.
      for (const { meter, resourceId, reason } of unmetered.values()) {
        this.log.warn(`could not meter ${meter} of ${resourceId}: ${reason}; the other resources are metered, and this one will be once its data is repaired`);
        this.metrics.meteringUnmetered.inc({ meter });
      }
      const isUnmetered = (meter: string, resourceId: string) => unmetered.has(`${meter}|${resourceId}`);
      for (const [key, d] of derived) if (isUnmetered(d.meter, d.resourceId)) derived.delete(key);

      // Compare with what is recorded: new series get revision 1, changed ones the next revision.
      const recorded: Array<{ type: string; resource_id: string; time: Date; revision: number; quantity: string; tenant_id: string; data: Record<string, unknown> }> =
        await m.query(
          `SELECT type, resource_id, time, revision, quantity::text AS quantity, tenant_id, data FROM usage_events
            WHERE source = '${METERING_SOURCE}' AND NOT superseded AND time >= $1 AND time < $2`,
          params,
        );
      const rows: UsageRow[] = [];
      const toRow = (d: Derived, revision: number): UsageRow => {
        const quantity = formatScaled(d.quantity, SCALE);
        const time = new Date(d.windowStart);
        const attributes = d.attributes;
        return {
          source: METERING_SOURCE,
          id: usageEventId(d.meter, d.resourceId, time, revision),
          type: d.meter,
          tenantId: d.tenantId,
          time,
          data: { quantity, unit: METER_UNITS[d.meter], resourceId: d.resourceId, ...attributes },
          resourceId: d.resourceId,
          revision,
          quantity,
          rateGbps: typeof attributes.rateGbps === 'number' ? attributes.rateGbps : null,
          distanceClass: typeof attributes.distanceClass === 'string' ? attributes.distanceClass : null,
          design: typeof attributes.design === 'string' ? attributes.design : null,
          appliesTo: typeof attributes.appliesTo === 'string' ? attributes.appliesTo : null,
        };
      };
      const previous = new Map(
        recorded.filter((r) => !isUnmetered(r.type, r.resource_id)).map((r) => [`${r.type}|${r.resource_id}|${new Date(r.time).getTime()}`, r]),
      );
      for (const [key, d] of derived) {
        const before = previous.get(key);
        previous.delete(key);
        if (!before) rows.push(toRow(d, 1));
        else if (toScaled(before.quantity, SCALE) !== d.quantity) rows.push(toRow(d, before.revision + 1));
      }
      // Usage recorded before that is no longer there (e.g. time counted provisionally): corrected to zero.
      for (const before of previous.values()) {
        if (toScaled(before.quantity, SCALE) === 0n) continue;
        const { quantity: _q, unit: _u, resourceId: _r, ...attributes } = before.data;
        rows.push(toRow({
          meter: before.type, resourceId: before.resource_id, tenantId: before.tenant_id, windowStart: new Date(before.time).getTime(), quantity: 0n,
          attributes: attributes as Record<string, string | number>,
        }, before.revision + 1));
      }
      let written = 0;
      for (let i = 0; i < rows.length; i += 1000) {
        const outcome = await insertUsageRows(m, rows.slice(i, i + 1000));
        written += outcome.written.length;
        for (const { position, refusal } of outcome.refused) {
          const row = rows[i + position];
          this.log.error(`metered ${row.type} of ${row.resourceId} for ${row.time.toISOString()} was refused by the store (${refusal})`);
        }
      }
      if (written > 0) this.log.log(`metered ${written} usage events up to ${new Date(windowEnd).toISOString()}`);
      return written;
    });
  }
}
