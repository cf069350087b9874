import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { CapacityRepository } from './capacity.repository';
import { ReservationEntity } from './reservation.entities';
import { assertTransition, FINAL_STATES, ReservationState } from './reservation-state';
import { ReservationsRepository } from './reservations.repository';

/** The one way a reservation changes state: the move, its history entry and its audit entry, in the caller's transaction. */
@Injectable()
export class ReservationTransitions {
  constructor(
    private readonly audit: AuditService,
    private readonly reservations: ReservationsRepository,
    private readonly capacity: CapacityRepository,
  ) {}

  /** Changes state, records history and audit, and frees capacity on entering a final state: one transaction. */
  async apply(m: EntityManager, r: ReservationEntity, to: ReservationState, actor: string, reason: string): Promise<void> {
    assertTransition(r.id, r.state, to);
    const from = r.state;
    if (FINAL_STATES.has(to)) await this.capacity.free(m, r.id);
    // No transition leads into HELD, so whatever the new state, the hold is over.
    await this.reservations.setState(m, r.id, to);
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
    await this.reservations.recordTransition(m, r.id, from, to, actor, reason);
  }
}
