import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import type { Overrides } from '../vocabulary/reference';
import { ReferenceOverrideEntity } from './reference-override.entity';

/** Every statement on the planner's table: the operator's overrides of the reference values. */
@Injectable()
export class PlanningRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(work);
  }

  /** The overrides in force, by key. */
  async overrides(): Promise<Overrides> {
    const rows = await this.dataSource.getRepository(ReferenceOverrideEntity).find();
    return Object.fromEntries(rows.map((r) => [r.key, { value: r.value, basis: r.basis }]));
  }

  async saveOverride(m: EntityManager, key: string, value: unknown, basis: string, actor: string): Promise<void> {
    await m.query(
      `INSERT INTO reference_overrides (key, value, basis, updated_by, updated_at) VALUES ($1, $2::jsonb, $3, $4, now())
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, basis = excluded.basis, updated_by = excluded.updated_by, updated_at = now()`,
      [key, JSON.stringify(value), basis, actor],
    );
  }

  async deleteOverride(m: EntityManager, key: string): Promise<void> {
    await m.query('DELETE FROM reference_overrides WHERE key = $1', [key]);
  }
}
