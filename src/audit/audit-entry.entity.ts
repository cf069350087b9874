import { Check, Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';

/**
 * Append-only, hash-chained audit log. Entries are inserted unlinked (seq, prev_hash, content_hash and hash
 * null) with the id of the transaction that wrote them; `audit_link()` chains them once that transaction has
 * ended. `content_hash` = SHA-256 over the entry's fields (its tenant included), `hash` = SHA-256 over the
 * previous entry's hash, the seq and the content hash (src/audit/chain.ts), so altering, inserting or
 * deleting a linked row breaks the chain from that row on, and a signed checkpoint of the head shows a
 * chain recomputed after it.
 */
@Entity({ name: 'audit_log' })
@Unique('audit_log_seq_key', ['seq'])
@Check(
  'audit_log_linked_check',
  `("seq" IS NULL) = ("hash" IS NULL) AND ("seq" IS NULL) = ("prev_hash" IS NULL) AND ("seq" IS NULL) = ("content_hash" IS NULL)`,
)
@Index('audit_log_unlinked_idx', ['id'], { where: '"seq" IS NULL' })
@Index('audit_log_tenant_seq_idx', ['tenantId', 'seq'])
@Index('audit_log_entity_seq_idx', ['entityId', 'seq'])
export class AuditEntryEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'audit_log_pkey' })
  id!: string;

  /** Transaction id of the writer (pg_current_xact_id). */
  @Column({ type: 'bigint' })
  xid!: string;

  /** Position in the chain; null until linked. */
  @Column({ type: 'bigint', nullable: true })
  seq!: string | null;

  @Column({ type: 'timestamptz' })
  at!: Date;

  @Column({ type: 'text' })
  actor!: string;

  @Column({ type: 'text' })
  action!: string;

  @Column({ name: 'entity_type', type: 'text' })
  entityType!: string;

  @Column({ name: 'entity_id', type: 'text', nullable: true })
  entityId!: string | null;

  /** The tenant whose object the entry is about, or null (an operator's own object, the network…). */
  @Column({ name: 'tenant_id', type: 'uuid', nullable: true })
  tenantId!: string | null;

  @Column({ type: 'jsonb' })
  data!: Record<string, unknown>;

  @Column({ name: 'content_hash', type: 'text', nullable: true })
  contentHash!: string | null;

  @Column({ name: 'prev_hash', type: 'text', nullable: true })
  prevHash!: string | null;

  @Column({ type: 'text', nullable: true })
  hash!: string | null;
}
