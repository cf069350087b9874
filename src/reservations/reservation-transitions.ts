import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { ReservationEntity } from './reservation.entities';
import { assertTransition, FINAL_STATES, ReservationState } from './reservation-state';

/** The one way a reservation changes state: the move, its history entry and its audit entry, in the caller's transaction. */
@Injectable()
export class ReservationTransitions {
  constructor(private readonly audit: AuditService) {}

  /** Changes state, records history and audit, and frees capacity on entering a final state: one transaction. */
  async apply(m: EntityManager, r: ReservationEntity, to: ReservationState, actor: string, reason: string): Promise<void> {
    assertTransition(r.id, r.state, to);
    const from = r.state;
    if (FINAL_STATES.has(to)) {
      await m.query('DELETE FROM link_allocations WHERE reservation_id = $1', [r.id]);
      await m.query('DELETE FROM endpoint_allocations WHERE reservation_id = $1', [r.id]);
    }
    // No transition leads into HELD, so whatever the new state, the hold is over.
    await m.query('UPDATE reservations SET state = $2, hold_expires_at = NULL, updated_at = now() WHERE id = $1', [r.id, to]);
    r.state = to;
    r.holdExpiresAt = null;
    await this.record(m, r, from, to, actor, reason);
    await this.audit.append(m, {
      actor,
      action: 'reservation.state-changed',
      entityType: 'reservation',
      entityId: r.id,
      data: { from, to, reason },
    });
  }

  async record(
    m: EntityManager,
    r: ReservationEntity,
    from: ReservationState,
    to: ReservationState,
    actor: string,
    reason: string,
  ): Promise<void> {
    await m.query(
      'INSERT INTO reservation_transitions (reservation_id, from_state, to_state, at, actor, reason) VALUES ($1, $2, $3, clock_timestamp(), $4, $5)',
      [r.id, from, to, actor, reason],
    );
  }
}
