import { formatScaled, toScaled } from './decimal';
import { type Derived, SCALE } from './extractors/derivation';
import { METERING_SOURCE, METER_UNITS, UsageRow, usageEventId } from './usage-events';

/** A metered event as recorded: the latest revision of one meter of one resource in one window. */
export interface RecordedUsage {
  type: string;
  resource_id: string;
  time: Date;
  revision: number;
  quantity: string;
  tenant_id: string;
  data: Record<string, unknown>;
}

export function usageRowOf(d: Derived, revision: number): UsageRow {
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
}

/**
 * What to write, compared with what is recorded: new series get revision 1, changed ones the next revision,
 * and usage recorded before that is no longer there (time counted provisionally, say) is corrected to zero.
 * `recorded` holds only series this run could meter.
 */
export function revisionsOf(derived: ReadonlyMap<string, Derived>, recorded: readonly RecordedUsage[]): UsageRow[] {
  const rows: UsageRow[] = [];
  const previous = new Map(recorded.map((r) => [`${r.type}|${r.resource_id}|${new Date(r.time).getTime()}`, r]));
  for (const [key, d] of derived) {
    const before = previous.get(key);
    previous.delete(key);
    if (!before) rows.push(usageRowOf(d, 1));
    else if (toScaled(before.quantity, SCALE) !== d.quantity) rows.push(usageRowOf(d, before.revision + 1));
  }
  for (const before of previous.values()) {
    if (toScaled(before.quantity, SCALE) === 0n) continue;
    const { quantity: _q, unit: _u, resourceId: _r, ...attributes } = before.data;
    rows.push(
      usageRowOf(
        {
          meter: before.type,
          resourceId: before.resource_id,
          tenantId: before.tenant_id,
          windowStart: new Date(before.time).getTime(),
          quantity: 0n,
          attributes: attributes as Record<string, string | number>,
        },
        before.revision + 1,
      ),
    );
  }
  return rows;
}
