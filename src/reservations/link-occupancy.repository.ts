import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { frequencyThz } from '../topology/pce';
import { OccupancyBlock } from './link-occupancy.models';
import { ReservationState } from './reservation-state';

/** Reads of which channel of a link each booking uses when: the rows behind an occupancy chart. */
@Injectable()
export class LinkOccupancyRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Bookings in every state, cancelled and finished ones too: the chart shows what happened, not only what holds capacity. */
  async overlapping(linkId: string, from: Date, to: Date, limit: number): Promise<OccupancyBlock[]> {
    const rows: Array<{ id: string; tenant_id: string; channel: number; start_at: Date; end_at: Date; state: ReservationState }> =
      await this.dataSource.query(
        `SELECT id, tenant_id, channel, start_at, end_at, state FROM reservations
          WHERE $1::uuid = ANY(path_link_ids) AND start_at < $3 AND end_at > $2
          ORDER BY start_at, channel, id LIMIT $4`,
        [linkId, from, to, limit],
      );
    return rows.map((r) =>
      Object.assign(new OccupancyBlock(), {
        reservationId: r.id,
        tenantId: r.tenant_id,
        channel: r.channel,
        frequencyThz: frequencyThz(r.channel),
        start: r.start_at,
        end: r.end_at,
        state: r.state,
      }),
    );
  }
}
