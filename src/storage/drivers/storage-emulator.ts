import { DataSource } from 'typeorm';
import type { CopySpec, CopyStatus, NfsExportSpec, PurgeReceipt, StorageDriver } from './storage-driver';

/**
 * A digital twin of the NFS side, kept in the database so that every worker and every restart sees the same
 * exports and copies. A copy progresses with time: bytes copied = elapsed × rate × speedup (capped at the
 * dataset's size), where `speedup` (APN_STORAGE_SPEEDUP) lets tests replicate terabytes in seconds. A cache
 * fills the same way, as the first epoch reads through it.
 */
export class StorageEmulator implements StorageDriver {
  readonly name = 'emulator';

  constructor(
    private readonly dataSource: DataSource,
    private readonly speedup: number,
  ) {}

  async exportTo(spec: NfsExportSpec): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO emulator_nfs_exports (mount_id, storage_system_id, export_path, clients) VALUES ($1, $2, $3, $4)
       ON CONFLICT (mount_id, storage_system_id) DO UPDATE SET export_path = excluded.export_path, clients = excluded.clients`,
      [spec.mountId, spec.storageSystemId, spec.exportPath, [...spec.clients]],
    );
  }

  async unexport(mountId: string): Promise<void> {
    await this.dataSource.query('DELETE FROM emulator_nfs_exports WHERE mount_id = $1', [mountId]);
  }

  async startCopy(spec: CopySpec): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO emulator_storage_copies (copy_id, dataset_id, storage_system_id, kind, bytes_total, rate_bps, started_at)
       VALUES ($1, $2, $3, $4, $5, $6, now()) ON CONFLICT (copy_id) DO NOTHING`,
      [spec.copyId, spec.datasetId, spec.storageSystemId, spec.kind, spec.bytesTotal.toString(), spec.rateBps],
    );
  }

  async copyStatus(copyId: string): Promise<CopyStatus | null> {
    const rows: Array<{ copied: string; total: string }> = await this.dataSource.query(
      `SELECT ${this.copiedSql()}::text AS copied, bytes_total::text AS total FROM emulator_storage_copies WHERE copy_id = $1`,
      [copyId],
    );
    if (rows.length === 0) return null;
    const bytesCopied = BigInt(rows[0].copied);
    const bytesTotal = BigInt(rows[0].total);
    return { bytesCopied, bytesTotal, complete: bytesCopied >= bytesTotal };
  }

  async purge(copyId: string): Promise<PurgeReceipt> {
    const rows: Array<{ copied: string; at: Date }> = await this.dataSource.query(
      // Wrapped in a SELECT: TypeORM answers a bare DELETE … RETURNING with [rows, count].
      `WITH gone AS (DELETE FROM emulator_storage_copies WHERE copy_id = $1 RETURNING ${this.copiedSql()} AS copied)
       SELECT copied::text AS copied, now() AS at FROM gone`,
      [copyId],
    );
    return rows.length === 0 ? { bytesPurged: 0n, at: new Date() } : { bytesPurged: BigInt(rows[0].copied), at: rows[0].at };
  }

  async bytesHeldOutsideOffice(datasetId: string): Promise<bigint> {
    const rows: Array<{ held: string }> = await this.dataSource.query(
      `SELECT coalesce(sum(${this.copiedSql()}), 0)::text AS held FROM emulator_storage_copies WHERE dataset_id = $1`,
      [datasetId],
    );
    return BigInt(rows[0].held);
  }

  /** Bytes copied so far, computed by the database clock so that every process agrees. */
  private copiedSql(): string {
    return `least(bytes_total, floor(extract(epoch FROM now() - started_at) * rate_bps * ${Number(this.speedup)})::bigint)`;
  }
}
