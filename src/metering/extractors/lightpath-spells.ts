import type { ActiveSpellRow } from '../../reservations/reservations.repository';
import { REFERENCE_DEFAULTS } from '../../vocabulary/reference';
import { HOUR_MS, distanceClassOf, hourSlices } from '../usage-events';
import { type MeterExtractor, kwhScaled, scaled, toDate } from './derivation';

const TRANSPONDER_KW = REFERENCE_DEFAULTS['equipment.APN_TRANSPONDER.powerKw'].value;

/** Lightpaths: wavelength-seconds of each ACTIVE spell, and the shadow energy and carbon of its two transponders. */
export const lightpathSpells: MeterExtractor<ActiveSpellRow> = {
  meters: ['lightpath.wavelength_seconds', 'energy.kwh', 'carbon.kg'],
  resourceOf: (s) => s.reservation_id,
  derive(s, d) {
    const [from, to] = d.span(toDate(s.at)!, toDate(s.next_at));
    const attributes = { rateGbps: s.rate_gbps, distanceClass: distanceClassOf(s.distance_km), site: s.src_code };
    for (const slice of hourSlices(from, to)) {
      const base = { resourceId: s.reservation_id, tenantId: s.tenant_id, windowStart: slice.windowStart };
      d.add({ ...base, meter: 'lightpath.wavelength_seconds', attributes }, () => BigInt(slice.ms) * 1_000_000n);
      // One transponder at each end, each drawing at its site's PUE.
      const shadow = { ...attributes, appliesTo: 'lightpath.wavelength_seconds' };
      d.add(
        { ...base, meter: 'energy.kwh', attributes: shadow },
        () => kwhScaled(TRANSPONDER_KW * s.src_pue, slice.ms) + kwhScaled(TRANSPONDER_KW * s.dst_pue, slice.ms),
      );
      d.add({ ...base, meter: 'carbon.kg', attributes: shadow }, () =>
        scaled(((TRANSPONDER_KW * s.src_pue * s.src_carbon + TRANSPONDER_KW * s.dst_pue * s.dst_carbon) * slice.ms) / HOUR_MS),
      );
    }
  },
};
