import { MigrationInterface, QueryRunner } from 'typeorm';

/** Operators' overrides of the planner's reference values (PUE, prices, equipment power, …), one row a key. */
export class ReferenceOverrides1764250000000 implements MigrationInterface {
  name = 'ReferenceOverrides1764250000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "reference_overrides" (
        "key" text NOT NULL,
        "value" jsonb NOT NULL,
        "basis" text NOT NULL,
        "updated_by" text NOT NULL,
        "updated_at" timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT "reference_overrides_pkey" PRIMARY KEY ("key")
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "reference_overrides"');
  }
}
