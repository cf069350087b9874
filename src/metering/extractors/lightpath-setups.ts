import type { FirstActivationRow } from '../../reservations/reservations.repository';
import { floorHour } from '../usage-events';
import { type MeterExtractor, toDate } from './derivation';

/** Setups: one per reservation, in the window it first became ACTIVE. */
export const lightpathSetups: MeterExtractor<FirstActivationRow> = {
  meters: ['lightpath.setup'],
  resourceOf: (s) => s.reservation_id,
  derive(s, d) {
    const at = toDate(s.first_at)!;
    if (at >= d.clipOpen) return;
    d.add(
      { meter: 'lightpath.setup', resourceId: s.reservation_id, tenantId: s.tenant_id, windowStart: floorHour(at), attributes: {} },
      () => 10n ** 9n,
    );
  },
};
