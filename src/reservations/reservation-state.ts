import { invalidState } from '../core/errors/app-error';

/** Lifecycle of a lightpath booking (DESIGN §2, "Reservation lifecycle"). */
export enum ReservationState {
  HELD = 'HELD',
  RESERVED = 'RESERVED',
  PROVISIONING = 'PROVISIONING',
  ACTIVE = 'ACTIVE',
  RELEASING = 'RELEASING',
  RELEASED = 'RELEASED',
  CANCELLED = 'CANCELLED',
  EXPIRED = 'EXPIRED',
  FAILED = 'FAILED',
  NEEDS_CLEANUP = 'NEEDS_CLEANUP',
}

const S = ReservationState;

/** Every allowed transition, in one place. A transition not listed here is a bug or a race lost. */
export const ALLOWED_TRANSITIONS: Readonly<Record<ReservationState, readonly ReservationState[]>> = {
  [S.HELD]: [S.RESERVED, S.CANCELLED, S.EXPIRED],
  [S.RESERVED]: [S.PROVISIONING, S.CANCELLED, S.FAILED],
  [S.PROVISIONING]: [S.ACTIVE, S.FAILED, S.NEEDS_CLEANUP, S.RELEASING],
  [S.ACTIVE]: [S.RELEASING, S.FAILED],
  [S.RELEASING]: [S.RELEASED, S.NEEDS_CLEANUP],
  [S.NEEDS_CLEANUP]: [S.RELEASED, S.FAILED],
  [S.RELEASED]: [],
  [S.CANCELLED]: [],
  [S.EXPIRED]: [],
  [S.FAILED]: [],
};

/** States in which a reservation no longer holds capacity. */
export const FINAL_STATES: ReadonlySet<ReservationState> = new Set([S.RELEASED, S.CANCELLED, S.EXPIRED, S.FAILED]);

/** States whose end may still be extended. */
export const EXTENDABLE_STATES: ReadonlySet<ReservationState> = new Set([S.HELD, S.RESERVED, S.PROVISIONING, S.ACTIVE]);

export function assertTransition(id: string, from: ReservationState, to: ReservationState): void {
  if (!ALLOWED_TRANSITIONS[from].includes(to)) {
    throw invalidState(`Reservation ${id} is ${from}; it cannot become ${to}.`, { state: from, wanted: to });
  }
}
