import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AuditCheckpointEntity } from './audit-checkpoint.entity';
import type { CheckpointStatement } from './chain';

/** Every statement on audit_checkpoints. */
@Injectable()
export class AuditCheckpointsRepository {
  constructor(private readonly dataSource: DataSource) {}

  checkpointExists(seq: string): Promise<boolean> {
    return this.dataSource.getRepository(AuditCheckpointEntity).existsBy({ seq });
  }

  /** Stores a signed checkpoint unless one of the same seq exists; whether this call stored it. */
  async insertCheckpoint(id: string, statement: CheckpointStatement, signature: string): Promise<boolean> {
    const inserted: Array<{ id: string }> = await this.dataSource.query(
      `INSERT INTO audit_checkpoints (id, seq, entry_id, head_hash, entries, at, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT ON CONSTRAINT audit_checkpoints_seq_key DO NOTHING RETURNING id`,
      [id, statement.seq, statement.entryId, statement.headHash, statement.entries, statement.at, statement.keyId, signature],
    );
    return inserted.length > 0;
  }

  checkpoint(seq: string): Promise<AuditCheckpointEntity> {
    return this.dataSource.getRepository(AuditCheckpointEntity).findOneByOrFail({ seq });
  }

  latestCheckpoint(): Promise<AuditCheckpointEntity | null> {
    return this.dataSource.getRepository(AuditCheckpointEntity).findOne({ where: {}, order: { seq: 'DESC' } });
  }

  /** Checkpoints newest first, before `before` (a seq) if given, one row past the page. */
  checkpoints(before: string | null, limit: number): Promise<AuditCheckpointEntity[]> {
    return this.dataSource
      .getRepository(AuditCheckpointEntity)
      .createQueryBuilder('c')
      .where(before === null ? 'true' : 'c.seq < :before', { before })
      .orderBy('c.seq', 'DESC')
      .limit(limit)
      .getMany();
  }
}
