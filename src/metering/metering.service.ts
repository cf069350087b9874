import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { MeteringMetrics } from './metering-metrics';
import { ReservationsRepository } from '../reservations/reservations.repository';
import { RunMeasurementsService } from '../runs/run-measurements.service';
import { StorageRepository } from '../storage/storage.repository';
import { formatScaled } from './decimal';
import { Derived, SCALE, UnmeterableError, UsageDerivation, toDate } from './extractors/derivation';
import { gpuNodes } from './extractors/gpu-nodes';
import { lightpathSetups } from './extractors/lightpath-setups';
import { lightpathSpells } from './extractors/lightpath-spells';
import { mountSpells } from './extractors/mount-spells';
import { storageCopies } from './extractors/storage-copies';
import { HOUR_MS, UsageRow, floorHour, quantityProblem } from './usage-events';
import { revisionsOf } from './usage-revisions';
import { UsageRepository } from './usage.repository';

/** Windows this far back from the last one metered are recomputed on every run, to catch late changes. */
const RECHECK_MS = 48 * HOUR_MS;

/**
 * Derives usage events from the service's own records, per closed hour window: lightpath wavelength-seconds
 * and setups, mount-seconds, replica and cache GB-seconds, GPU node-seconds, and shadow energy and carbon.
 * Each meter source has its extractor (extractors/); the records come from the capabilities that own them.
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
    private readonly usageEvents: UsageRepository,
    private readonly metrics: MeteringMetrics,
    private readonly runs: RunMeasurementsService,
    private readonly reservations: ReservationsRepository,
    private readonly storage: StorageRepository,
  ) {}

  /**
   * Meters every hour window that closes by `until` and was not metered yet, and recomputes the windows of
   * the last 48 hours metered: a changed quantity is written as a new revision. Time still running is
   * counted up to now, so a window closing after now is provisional and a later run corrects it.
   * Returns the number of events written.
   */
  async collect(until: Date): Promise<number> {
    const windowEnd = floorHour(until.getTime());
    return this.usageEvents.transaction(async (m) => {
      await this.usageEvents.lockCollect(m);
      const lastMs = toDate(await this.usageEvents.lastMetered(m));
      const since = lastMs === null ? 0 : Math.max(0, Math.min(lastMs + HOUR_MS, windowEnd) - RECHECK_MS);
      if (since >= windowEnd) return 0;
      const params = [new Date(since).toISOString(), new Date(windowEnd).toISOString()] as const;
      const derivation = await this.derive(m, since, windowEnd, params);
      annotateBasis(derivation.derived);
      this.dropUnmeterable(derivation);

      const recorded = await this.usageEvents.metered(m, ...params);
      const rows = revisionsOf(
        derivation.derived,
        recorded.filter((r) => !derivation.isUnmetered(r.type, r.resource_id)),
      );
      const written = await this.write(m, rows);
      if (written > 0) this.log.log(`metered ${written} usage events up to ${new Date(windowEnd).toISOString()}`);
      return written;
    });
  }

  /** Every meter source's records over the run's windows, through its extractor. */
  private async derive(
    m: EntityManager,
    since: number,
    windowEnd: number,
    [from, to]: readonly [string, string],
  ): Promise<UsageDerivation> {
    const derivation = new UsageDerivation(since, windowEnd, Math.min(Date.now(), windowEnd));
    derivation.each(await this.reservations.activeSpells(m, from, to), lightpathSpells);
    derivation.each(await this.reservations.firstActivations(m, from, to), lightpathSetups);
    derivation.each(await this.storage.attachedSpells(m, from, to), mountSpells);
    derivation.each(await this.storage.heldCopies(m, from, to), storageCopies);
    const held = await this.storage.heldGpuNodes(m, from, to);
    derivation.each(held, gpuNodes(await this.runs.gpuNodeEnergy(m, since, windowEnd)));
    return derivation;
  }

  /**
   * A total beyond what an event may hold is no figure either (ingest refuses the same). What could not be
   * metered is neither written nor corrected: its earlier events stand until its data is repaired.
   */
  private dropUnmeterable(derivation: UsageDerivation): void {
    for (const d of derivation.derived.values()) {
      const problem = quantityProblem(formatScaled(d.quantity, SCALE));
      if (problem)
        derivation.skip(
          d.meter,
          d.resourceId,
          new UnmeterableError(`the figure for the hour from ${new Date(d.windowStart).toISOString()} ${problem}`),
        );
    }
    for (const { meter, resourceId, reason } of derivation.unmetered.values()) {
      this.log.warn(
        `could not meter ${meter} of ${resourceId}: ${reason}; the other resources are metered, and this one will be once its data is repaired`,
      );
      this.metrics.unmetered.inc({ meter });
    }
    for (const [key, d] of derivation.derived) if (derivation.isUnmetered(d.meter, d.resourceId)) derivation.derived.delete(key);
  }

  private async write(m: EntityManager, rows: UsageRow[]): Promise<number> {
    let written = 0;
    for (let i = 0; i < rows.length; i += 1000) {
      const outcome = await this.usageEvents.insert(rows.slice(i, i + 1000), [], m);
      written += outcome.written.length;
      for (const { position, refusal } of outcome.refused) {
        const row = rows[i + position];
        this.log.error(`metered ${row.type} of ${row.resourceId} for ${row.time.toISOString()} was refused by the store (${refusal})`);
      }
    }
    return written;
  }
}

/** What each shadow figure of a GPU node rests on, for the invoice to say. */
function annotateBasis(derived: ReadonlyMap<string, Derived>): void {
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
}
