import { MigrationInterface, QueryRunner } from 'typeorm';

/** Faults an operator injects into the APN emulator: a link down, or a node failing its next N operations. */
export class EmulatorFaults1764000000000 implements MigrationInterface {
  name = 'EmulatorFaults1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "emulator_faults" (
        "kind" text NOT NULL,
        "target_id" uuid NOT NULL,
        "remaining" integer,
        "created_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "emulator_faults_pkey" PRIMARY KEY ("kind", "target_id"),
        CONSTRAINT "emulator_faults_kind_check" CHECK ("kind" IN ('LINK_DOWN', 'NODE_FAILS')),
        CONSTRAINT "emulator_faults_remaining_check" CHECK (("kind" = 'NODE_FAILS') = ("remaining" IS NOT NULL) AND coalesce("remaining", 1) > 0)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "emulator_faults"');
  }
}
