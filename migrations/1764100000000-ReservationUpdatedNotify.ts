import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every reservation transition announces itself on the `apn_reservation_updated` channel. PostgreSQL
 * delivers a NOTIFY only when the transaction that wrote the transition commits, to every listening
 * connection of every process, so a subscriber never hears of a state that was rolled back and hears of
 * transitions made by any api or worker replica. The payload stays far below NOTIFY's 8,000-byte limit (ids,
 * states, time, the reason cut to 2,000 characters): listeners read the reservation itself.
 */
export class ReservationUpdatedNotify1764100000000 implements MigrationInterface {
  name = 'ReservationUpdatedNotify1764100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION "reservation_transition_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('apn_reservation_updated', json_build_object(
          'reservationId', NEW.reservation_id,
          'tenantId', r.tenant_id,
          'state', NEW.to_state,
          'previousState', NEW.from_state,
          'at', NEW.at,
          'reason', left(NEW.reason, 2000)
        )::text)
        FROM reservations r WHERE r.id = NEW.reservation_id;
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER "reservation_transitions_notify" AFTER INSERT ON "reservation_transitions"
      FOR EACH ROW EXECUTE FUNCTION "reservation_transition_notify"()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TRIGGER "reservation_transitions_notify" ON "reservation_transitions"');
    await q.query('DROP FUNCTION "reservation_transition_notify"()');
  }
}
