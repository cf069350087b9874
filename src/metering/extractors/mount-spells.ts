import type { AttachedSpellRow } from '../../storage/storage.repository';
import { hourSlices } from '../usage-events';
import { type MeterExtractor, toDate } from './derivation';

/** Mounts: mount-seconds of each ATTACHED spell, by design. */
export const mountSpells: MeterExtractor<AttachedSpellRow> = {
  meters: ['mount.seconds'],
  resourceOf: (a) => a.mount_id,
  derive(a, d) {
    const [from, to] = d.span(toDate(a.at)!, toDate(a.next_at));
    for (const slice of hourSlices(from, to)) {
      d.add(
        {
          meter: 'mount.seconds',
          resourceId: a.mount_id,
          tenantId: a.tenant_id,
          windowStart: slice.windowStart,
          attributes: { design: a.design },
        },
        () => BigInt(slice.ms) * 1_000_000n,
      );
    }
  },
};
