import { MigrationInterface, QueryRunner } from 'typeorm';

/** Device state of the APN emulator (APN_DRIVER=emulator): lit channels and ROADM cross-connects. */
export class ApnEmulator1763900000000 implements MigrationInterface {
  name = 'ApnEmulator1763900000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "emulator_lit_channels" (
        "link_id" uuid NOT NULL,
        "channel" integer NOT NULL,
        "lightpath_id" uuid NOT NULL,
        "lit_at" timestamptz NOT NULL,
        CONSTRAINT "emulator_lit_channels_pkey" PRIMARY KEY ("link_id", "channel")
      )`);
    await q.query(`CREATE INDEX "emulator_lit_channels_lightpath_idx" ON "emulator_lit_channels" ("lightpath_id")`);
    await q.query(`
      CREATE TABLE "emulator_cross_connects" (
        "lightpath_id" uuid NOT NULL,
        "node_id" uuid NOT NULL,
        "in_link_id" uuid,
        "out_link_id" uuid,
        "channel" integer NOT NULL,
        CONSTRAINT "emulator_cross_connects_pkey" PRIMARY KEY ("lightpath_id", "node_id")
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "emulator_cross_connects"');
    await q.query('DROP TABLE "emulator_lit_channels"');
  }
}
