import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lightpaths the emulated network has torn down. A lightpath id never comes back once torn down, so a
 * setup still configuring devices when its lightpath is torn down (cancelled during setup) aborts instead
 * of lighting the channel afterwards.
 */
export class EmulatorRetiredLightpaths1764510000000 implements MigrationInterface {
  name = 'EmulatorRetiredLightpaths1764510000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "emulator_retired_lightpaths" (
        "lightpath_id" uuid NOT NULL,
        "retired_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "emulator_retired_lightpaths_pkey" PRIMARY KEY ("lightpath_id")
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "emulator_retired_lightpaths"');
  }
}
