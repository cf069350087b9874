import type { HeldGpuNodeRow } from '../../storage/storage.repository';
import { HOUR_MS, hourSlices } from '../usage-events';
import { type MeterExtractor, scaled, toDate } from './derivation';

/** Joules a node drew over [from, to) by a training run's power samples, or null where they do not cover it. */
export type MeasuredJoules = (allocationId: string, node: string, from: number, to: number) => number | null;

/**
 * GPU allocations: every node held, with its power at its site's PUE: measured, where a training run's
 * power samples of the node cover the hour's slice, else rated. Never both for one node and hour.
 */
export function gpuNodes(measuredJoules: MeasuredJoules): MeterExtractor<HeldGpuNodeRow> {
  return {
    meters: ['gpu.node_seconds', 'energy.kwh', 'carbon.kg'],
    resourceOf: (h) => h.allocation_id,
    derive(h, d) {
      const [from, to] = d.span(toDate(h.lower)!, Math.min(toDate(h.upper)!, d.clipOpen));
      for (const slice of hourSlices(from, to)) {
        const base = { resourceId: h.allocation_id, tenantId: h.tenant_id, windowStart: slice.windowStart };
        d.add({ ...base, meter: 'gpu.node_seconds', attributes: { site: h.site } }, () => BigInt(slice.ms) * 1_000_000n);
        const sliceFrom = Math.max(from, slice.windowStart);
        const joules = measuredJoules(h.allocation_id, h.node, sliceFrom, sliceFrom + slice.ms);
        const kwh = (joules === null ? (h.kw * slice.ms) / HOUR_MS : joules / 3.6e6) * h.pue;
        const shadow = { site: h.site, appliesTo: 'gpu.node_seconds' };
        d.add({ ...base, meter: 'energy.kwh', attributes: shadow }, () => scaled(kwh), joules !== null);
        d.add({ ...base, meter: 'carbon.kg', attributes: shadow }, () => scaled(kwh * h.carbon), joules !== null);
      }
    },
  };
}
