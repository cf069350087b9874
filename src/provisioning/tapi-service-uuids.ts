import { DataSource } from 'typeorm';
import type { TapiServiceUuidStore } from './drivers/tapi/tapi-driver';
import { isUuid } from '../core/ids';

/**
 * The uuid of each lightpath's TAPI connectivity-service, kept with its reservation (reservations.tapi_service_uuid)
 * so that every worker and every restart reads and deletes the same service, including one whose uuid the
 * controller chose. A lightpath id that names no reservation (an orphan found on the controller) has nothing here.
 */
export class ReservationTapiServiceUuids implements TapiServiceUuidStore {
  constructor(private readonly dataSource: DataSource) {}

  async get(lightpathId: string): Promise<string | null> {
    if (!isUuid(lightpathId)) return null;
    const rows: Array<{ tapi_service_uuid: string | null }> = await this.dataSource.query(
      'SELECT tapi_service_uuid FROM reservations WHERE id = $1',
      [lightpathId],
    );
    return rows[0]?.tapi_service_uuid ?? null;
  }

  async set(lightpathId: string, serviceUuid: string): Promise<void> {
    if (!isUuid(lightpathId)) return;
    await this.dataSource.query('UPDATE reservations SET tapi_service_uuid = $2 WHERE id = $1', [lightpathId, serviceUuid]);
  }
}
