import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a TAPI controller calls our topology and our lightpaths. A controller knows only its own uuids
 * (tapi-connectivity makes a service end point's service-interface-point a leafref into the controller's
 * context), so each endpoint, node and link may carry the controller's uuid for it, taken from the topology
 * document. The uuids are text: TAPI 2.1.3 types them as plain strings, and real contexts use non-RFC 4122
 * values. Each is unique where set; the constraints are deferred so that one import can swap two mappings.
 * A reservation keeps the uuid of its connectivity-service, which the controller chooses when services are
 * created through the create-connectivity-service RPC.
 */
export class TapiIdentifiers1764800000000 implements MigrationInterface {
  name = 'TapiIdentifiers1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "nodes" ADD "tapi_node_uuid" text`);
    await q.query(`ALTER TABLE "nodes" ADD CONSTRAINT "nodes_tapi_node_uuid_key" UNIQUE ("tapi_node_uuid") DEFERRABLE INITIALLY DEFERRED`);
    await q.query(`ALTER TABLE "links" ADD "tapi_link_uuid" text`);
    await q.query(`ALTER TABLE "links" ADD CONSTRAINT "links_tapi_link_uuid_key" UNIQUE ("tapi_link_uuid") DEFERRABLE INITIALLY DEFERRED`);
    await q.query(`ALTER TABLE "endpoints" ADD "tapi_service_interface_point_uuid" text`);
    await q.query(
      `ALTER TABLE "endpoints" ADD CONSTRAINT "endpoints_tapi_service_interface_point_uuid_key" ` +
        `UNIQUE ("tapi_service_interface_point_uuid") DEFERRABLE INITIALLY DEFERRED`,
    );
    await q.query(`ALTER TABLE "reservations" ADD "tapi_service_uuid" text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "reservations" DROP COLUMN "tapi_service_uuid"`);
    await q.query(`ALTER TABLE "endpoints" DROP CONSTRAINT "endpoints_tapi_service_interface_point_uuid_key"`);
    await q.query(`ALTER TABLE "endpoints" DROP COLUMN "tapi_service_interface_point_uuid"`);
    await q.query(`ALTER TABLE "links" DROP CONSTRAINT "links_tapi_link_uuid_key"`);
    await q.query(`ALTER TABLE "links" DROP COLUMN "tapi_link_uuid"`);
    await q.query(`ALTER TABLE "nodes" DROP CONSTRAINT "nodes_tapi_node_uuid_key"`);
    await q.query(`ALTER TABLE "nodes" DROP COLUMN "tapi_node_uuid"`);
  }
}
