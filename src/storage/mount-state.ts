import { invalidState } from '../core/errors/app-error';
import { ReservationState } from '../reservations/reservation-state';

/**
 * Lifecycle of a mount: a dataset of the office attached to a tenant's GPU nodes over a lightpath, in one of three
 * designs. State lives in PostgreSQL; jobs on the provisioning queue act on it, each idempotent:
 *
 *   PENDING ─(lightpath ACTIVE)─▶ ATTACHED                      DIRECT
 *   PENDING ─▶ REPLICATING ─(copy complete)─▶ ATTACHED          REPLICATION
 *   PENDING ─▶ WARMING ─(cache serving)─▶ ATTACHED              CACHE
 *   any of those ─(detachStorage, or the lightpath's teardown)─▶ DETACHING ─(purged)─▶ DETACHED
 *   not yet attached, lightpath failed or gone ─▶ FAILED (reason)
 *
 * A mount attaches only once its lightpath is ACTIVE: the lightpath's setup job enqueues the attach
 * jobs when it reaches ACTIVE, and the attach job checks the state itself. The lightpath's teardown
 * detaches (and purges) every mount before the lightpath goes down.
 */
export enum MountState {
  PENDING = 'PENDING',
  REPLICATING = 'REPLICATING',
  WARMING = 'WARMING',
  ATTACHED = 'ATTACHED',
  DETACHING = 'DETACHING',
  DETACHED = 'DETACHED',
  FAILED = 'FAILED',
}

const M = MountState;
const R = ReservationState;

/** Every allowed transition, in one place. A transition not listed here is a bug or a race lost. */
export const ALLOWED_MOUNT_TRANSITIONS: Readonly<Record<MountState, readonly MountState[]>> = {
  [M.PENDING]: [M.ATTACHED, M.REPLICATING, M.WARMING, M.DETACHING, M.FAILED],
  [M.REPLICATING]: [M.ATTACHED, M.DETACHING, M.FAILED],
  [M.WARMING]: [M.ATTACHED, M.DETACHING, M.FAILED],
  [M.ATTACHED]: [M.DETACHING, M.FAILED],
  [M.DETACHING]: [M.DETACHED, M.FAILED],
  [M.DETACHED]: [],
  [M.FAILED]: [],
};

/** States a mount ends in: it gives no access and holds no copy. */
export const FINAL_MOUNT_STATES: readonly MountState[] = [M.DETACHED, M.FAILED];

/** States in which a copy is being made (REPLICATION) or the cache filled (CACHE). */
export const COPYING_MOUNT_STATES: readonly MountState[] = [M.REPLICATING, M.WARMING];

/** Reservation states a mount can be attached to: booked, coming up, or up. */
export const ATTACHABLE_LIGHTPATH_STATES: ReadonlySet<ReservationState> = new Set([R.RESERVED, R.PROVISIONING, R.ACTIVE]);

/** Reservation states after which its mounts can never attach. */
export const LIGHTPATH_GONE_STATES: ReadonlySet<ReservationState> = new Set([
  R.CANCELLED,
  R.EXPIRED,
  R.FAILED,
  R.RELEASING,
  R.RELEASED,
  R.NEEDS_CLEANUP,
]);

export function assertMountTransition(id: string, from: MountState, to: MountState): void {
  if (!ALLOWED_MOUNT_TRANSITIONS[from].includes(to)) {
    throw invalidState(`Mount ${id} is ${from}; it cannot become ${to}.`, { state: from, wanted: to });
  }
}
