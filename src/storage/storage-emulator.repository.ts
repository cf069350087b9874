import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { NfsExportSpec } from './drivers/storage-driver';

/** A copy the emulator holds, as it starts. */
export interface EmulatedCopy {
  copyId: string;
  datasetId: string;
  storageSystemId: string;
  kind: 'REPLICA' | 'CACHE';
  bytesTotal: bigint;
  rateBps: number;
  keyFingerprint: string | null;
}

/** What a purge found: the bytes the copy held (null when there was no copy) and its key's fingerprint. */
export interface PurgedCopy {
  copied: bigint | null;
  fingerprint: string | null;
  at: Date;
}

/**
 * The storage emulator's state (emulator_* tables): exports, copies and its agents' signing keys. A copy's
 * bytes follow the database clock: elapsed × rate × speedup, capped at its size, so every process agrees.
 */
@Injectable()
export class StorageEmulatorRepository {
  constructor(private readonly dataSource: DataSource) {}

  async upsertExport(spec: NfsExportSpec): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO emulator_nfs_exports (mount_id, storage_system_id, export_path, clients) VALUES ($1, $2, $3, $4)
       ON CONFLICT (mount_id, storage_system_id) DO UPDATE SET export_path = excluded.export_path, clients = excluded.clients`,
      [spec.mountId, spec.storageSystemId, spec.exportPath, [...spec.clients]],
    );
  }

  async deleteExports(mountId: string): Promise<void> {
    await this.dataSource.query('DELETE FROM emulator_nfs_exports WHERE mount_id = $1', [mountId]);
  }

  /** Starts the copy, once: a copy under that id already running is left as it is. */
  async insertCopy(copy: EmulatedCopy): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO emulator_storage_copies (copy_id, dataset_id, storage_system_id, kind, bytes_total, rate_bps, started_at, key_fingerprint)
       VALUES ($1, $2, $3, $4, $5, $6, now(), $7) ON CONFLICT (copy_id) DO NOTHING`,
      [copy.copyId, copy.datasetId, copy.storageSystemId, copy.kind, copy.bytesTotal.toString(), copy.rateBps, copy.keyFingerprint],
    );
  }

  async copyProgress(copyId: string, speedup: number): Promise<{ copied: bigint; total: bigint } | null> {
    const rows: Array<{ copied: string; total: string }> = await this.dataSource.query(
      `SELECT ${copiedSql(speedup)}::text AS copied, bytes_total::text AS total FROM emulator_storage_copies WHERE copy_id = $1`,
      [copyId],
    );
    return rows.length === 0 ? null : { copied: BigInt(rows[0].copied), total: BigInt(rows[0].total) };
  }

  /** Deletes the copy, answering what it held by the database clock at that moment. */
  async deleteCopy(copyId: string, speedup: number): Promise<PurgedCopy> {
    const rows: Array<{ copied: string | null; fingerprint: string | null; at: Date }> = await this.dataSource.query(
      // Wrapped in a SELECT: TypeORM answers a bare DELETE … RETURNING with [rows, count].
      `WITH gone AS (DELETE FROM emulator_storage_copies WHERE copy_id = $1 RETURNING ${copiedSql(speedup)} AS copied, key_fingerprint)
       SELECT copied::text AS copied, key_fingerprint AS fingerprint, clock_timestamp() AS at FROM gone
       UNION ALL SELECT NULL, NULL, clock_timestamp() WHERE NOT EXISTS (SELECT 1 FROM gone)`,
      [copyId],
    );
    const row = rows.find((r) => r.copied !== null) ?? null;
    return { copied: row ? BigInt(row.copied!) : null, fingerprint: row?.fingerprint ?? null, at: row?.at ?? rows[0].at };
  }

  async bytesHeld(datasetId: string, speedup: number): Promise<bigint> {
    const rows: Array<{ held: string }> = await this.dataSource.query(
      `SELECT coalesce(sum(${copiedSql(speedup)}), 0)::text AS held FROM emulator_storage_copies WHERE dataset_id = $1`,
      [datasetId],
    );
    return BigInt(rows[0].held);
  }

  async now(): Promise<Date> {
    const [{ at }]: Array<{ at: Date }> = await this.dataSource.query('SELECT clock_timestamp() AS at');
    return at;
  }

  /** Keeps the subject's key unless it has one already; answers the key it has. */
  async enrolKey(subjectId: string, privateKeyPem: string): Promise<string> {
    await this.dataSource.query(
      'INSERT INTO emulator_attestation_keys (subject_id, private_key_pem) VALUES ($1, $2) ON CONFLICT (subject_id) DO NOTHING',
      [subjectId, privateKeyPem],
    );
    return (await this.privateKeyOf(subjectId))!;
  }

  async privateKeyOf(subjectId: string): Promise<string | null> {
    const rows: Array<{ pem: string }> = await this.dataSource.query(
      'SELECT private_key_pem AS pem FROM emulator_attestation_keys WHERE subject_id = $1',
      [subjectId],
    );
    return rows[0]?.pem ?? null;
  }
}

/** Bytes copied so far, computed by the database clock so that every process agrees. */
function copiedSql(speedup: number): string {
  return `least(bytes_total, floor(extract(epoch FROM now() - started_at) * rate_bps * ${Number(speedup)})::bigint)`;
}
