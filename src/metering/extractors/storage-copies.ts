import type { HeldCopyRow } from '../../storage/storage.repository';
import { hourSlices } from '../usage-events';
import { type MeterExtractor, toDate } from './derivation';

/** Replica and cache copies: bytes held (never more than the dataset) × time held. */
export const storageCopies: MeterExtractor<HeldCopyRow> = {
  meters: ['storage.replica_gb_seconds', 'storage.cache_gb_seconds'],
  resourceOf: (c) => c.mount_id,
  derive(c, d) {
    const [from, to] = d.span(toDate(c.since)!, toDate(c.purged_at));
    const meter = c.kind === 'REPLICA' ? 'storage.replica_gb_seconds' : 'storage.cache_gb_seconds';
    for (const slice of hourSlices(from, to)) {
      // bytes/10^9 × ms/10^3, scaled by 10^9: bytes × ms / 10^3.
      d.add(
        { meter, resourceId: c.mount_id, tenantId: c.tenant_id, windowStart: slice.windowStart, attributes: { site: c.site } },
        () => (BigInt(c.bytes) * BigInt(slice.ms)) / 1000n,
      );
    }
  },
};
