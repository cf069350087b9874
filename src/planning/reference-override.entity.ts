import { Column, Entity, PrimaryColumn, UpdateDateColumn } from 'typeorm';

/** An operator's replacement for a reference value of the planner (see src/vocabulary/reference). */
@Entity({ name: 'reference_overrides' })
export class ReferenceOverrideEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'reference_overrides_pkey' })
  key!: string;

  @Column({ type: 'jsonb' })
  value!: unknown;

  @Column({ type: 'text' })
  basis!: string;

  @Column({ name: 'updated_by', type: 'text' })
  updatedBy!: string;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
