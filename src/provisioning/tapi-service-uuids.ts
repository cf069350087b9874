import type { ReservationsRepository } from '../reservations/reservations.repository';
import type { TapiServiceUuidStore } from './drivers/tapi/tapi-driver';
import { isUuid } from '../core/ids';

/**
 * The uuid of each lightpath's TAPI connectivity-service, kept with its reservation (reservations.tapi_service_uuid)
 * so that every worker and every restart reads and deletes the same service, including one whose uuid the
 * controller chose. A lightpath id that names no reservation (an orphan found on the controller) has nothing here.
 */
export class ReservationTapiServiceUuids implements TapiServiceUuidStore {
  constructor(private readonly reservations: ReservationsRepository) {}

  async get(lightpathId: string): Promise<string | null> {
    if (!isUuid(lightpathId)) return null;
    return this.reservations.tapiServiceUuid(lightpathId);
  }

  async set(lightpathId: string, serviceUuid: string): Promise<void> {
    if (!isUuid(lightpathId)) return;
    await this.reservations.setTapiServiceUuid(lightpathId, serviceUuid);
  }
}
