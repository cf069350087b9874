import { EndpointAllocationEntity, LinkAllocationEntity, ReservationEntity, ReservationTransitionEntity } from './reservation.entities';

/** The entities (tables) reservations owns, registered with the database by src/persistence.ts. */
export const RESERVATION_TABLES = [ReservationEntity, ReservationTransitionEntity, LinkAllocationEntity, EndpointAllocationEntity];
