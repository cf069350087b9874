import { Column, Entity, PrimaryColumn, Unique } from 'typeorm';

/**
 * A signed statement of the audit chain's head: entry `seq` (id `entryId`) has hash `headHash`, and the
 * chain holds `entries` entries, as of `at`. `signature` is Ed25519 by the key `keyId` over
 * `checkpointMessage` (src/audit/chain.ts). The signing key is never stored: it comes from configuration.
 */
@Entity({ name: 'audit_checkpoints' })
@Unique('audit_checkpoints_seq_key', ['seq'])
export class AuditCheckpointEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'audit_checkpoints_pkey' })
  id!: string;

  @Column({ type: 'bigint' })
  seq!: string;

  @Column({ name: 'entry_id', type: 'bigint' })
  entryId!: string;

  @Column({ name: 'head_hash', type: 'text' })
  headHash!: string;

  @Column({ type: 'bigint' })
  entries!: string;

  @Column({ type: 'timestamptz' })
  at!: Date;

  @Column({ name: 'key_id', type: 'text' })
  keyId!: string;

  @Column({ type: 'text' })
  signature!: string;
}
