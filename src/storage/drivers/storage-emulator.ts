import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { DataSource } from 'typeorm';
import {
  ATTESTATION_TYPE,
  AttestationClaim,
  AttestationSubjectKind,
  type SignedAttestation,
  signAttestation,
} from '../../protection/attestation';
import { dataKeyFingerprint } from '../../protection/envelope';
import type { CopySpec, CopyStatus, NfsExportSpec, PurgeReceipt, PurgeSpec, StorageDriver, WipeSpec } from './storage-driver';

/**
 * A digital twin of the NFS side, kept in the database so that every worker and every restart sees the same
 * exports and copies. A copy progresses with time: bytes copied = elapsed × rate × speedup (capped at the
 * dataset's size), where `speedup` (APN_STORAGE_SPEEDUP) lets tests replicate terabytes in seconds. A cache
 * fills the same way, as the first epoch reads through it.
 *
 * It also plays the nodes' agents: an encrypted copy keeps only its key's fingerprint (the key stays "in the
 * node's memory"), and the nodes it enrolled sign their deletion attestations with their own Ed25519 keys,
 * as a real agent does (docs/attestations.md). Nodes whose key the operator registered are not its own: it
 * signs nothing for them, and their agents must submit their attestations.
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
      `INSERT INTO emulator_storage_copies (copy_id, dataset_id, storage_system_id, kind, bytes_total, rate_bps, started_at, key_fingerprint)
       VALUES ($1, $2, $3, $4, $5, $6, now(), $7) ON CONFLICT (copy_id) DO NOTHING`,
      [
        spec.copyId,
        spec.datasetId,
        spec.storageSystemId,
        spec.kind,
        spec.bytesTotal.toString(),
        spec.rateBps,
        spec.dataKey ? dataKeyFingerprint(spec.dataKey) : null,
      ],
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

  async purge(spec: PurgeSpec): Promise<PurgeReceipt> {
    const rows: Array<{ copied: string; fingerprint: string | null; at: Date }> = await this.dataSource.query(
      // Wrapped in a SELECT: TypeORM answers a bare DELETE … RETURNING with [rows, count].
      `WITH gone AS (DELETE FROM emulator_storage_copies WHERE copy_id = $1 RETURNING ${this.copiedSql()} AS copied, key_fingerprint)
       SELECT copied::text AS copied, key_fingerprint AS fingerprint, clock_timestamp() AS at FROM gone
       UNION ALL SELECT NULL, NULL, clock_timestamp() WHERE NOT EXISTS (SELECT 1 FROM gone)`,
      [spec.copyId],
    );
    const row = rows.find((r) => r.copied !== null) ?? null;
    const at = row?.at ?? rows[0].at;
    const bytesPurged = row ? BigInt(row.copied) : 0n;
    const attestation = await this.sign(
      spec.storageSystemId,
      AttestationSubjectKind.STORAGE_SYSTEM,
      AttestationClaim.COPY_DESTROYED,
      spec.copyId,
      spec.datasetId,
      at,
      {
        copyId: spec.copyId,
        bytesDestroyed: bytesPurged.toString(),
        dataKeyDestroyed: row?.fingerprint ? true : null,
        dataKeyFingerprint: row?.fingerprint ?? null,
      },
    );
    return { bytesPurged, at, attestation };
  }

  async wipeGpuNodes(spec: WipeSpec): Promise<SignedAttestation[]> {
    const [{ at }]: Array<{ at: Date }> = await this.dataSource.query('SELECT clock_timestamp() AS at');
    const out: SignedAttestation[] = [];
    for (const nodeId of spec.nodeIds) {
      const signed = await this.sign(
        nodeId,
        AttestationSubjectKind.GPU_NODE,
        AttestationClaim.NODE_WIPED,
        spec.mountId,
        spec.datasetId,
        at,
        {
          mountPoint: spec.mountPoint,
          unmounted: true,
          pageCacheDropped: true,
          scratchWiped: true,
        },
      );
      if (signed) out.push(signed);
    }
    return out;
  }

  async enrolAttestationKey(subjectId: string): Promise<string | null> {
    const { privateKey } = generateKeyPairSync('ed25519');
    await this.dataSource.query(
      'INSERT INTO emulator_attestation_keys (subject_id, private_key_pem) VALUES ($1, $2) ON CONFLICT (subject_id) DO NOTHING',
      [subjectId, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()],
    );
    const [row]: Array<{ pem: string }> = await this.dataSource.query(
      'SELECT private_key_pem AS pem FROM emulator_attestation_keys WHERE subject_id = $1',
      [subjectId],
    );
    return createPublicKey(createPrivateKey(row.pem)).export({ type: 'spki', format: 'pem' }).toString();
  }

  async bytesHeldOutsideOffice(datasetId: string): Promise<bigint> {
    const rows: Array<{ held: string }> = await this.dataSource.query(
      `SELECT coalesce(sum(${this.copiedSql()}), 0)::text AS held FROM emulator_storage_copies WHERE dataset_id = $1`,
      [datasetId],
    );
    return BigInt(rows[0].held);
  }

  /** Signs as the subject's agent, if this emulator enrolled it. */
  private async sign(
    subjectId: string,
    kind: AttestationSubjectKind,
    claim: AttestationClaim,
    mountId: string,
    datasetId: string,
    at: Date,
    evidence: Record<string, unknown>,
  ): Promise<SignedAttestation | null> {
    const rows: Array<{ pem: string }> = await this.dataSource.query(
      'SELECT private_key_pem AS pem FROM emulator_attestation_keys WHERE subject_id = $1',
      [subjectId],
    );
    if (rows.length === 0) return null;
    return signAttestation(
      {
        type: ATTESTATION_TYPE,
        claim,
        mountId,
        datasetId,
        subject: { kind, id: subjectId },
        at: at.toISOString(),
        evidence: evidence as never,
      },
      createPrivateKey(rows[0].pem),
    );
  }

  /** Bytes copied so far, computed by the database clock so that every process agrees. */
  private copiedSql(): string {
    return `least(bytes_total, floor(extract(epoch FROM now() - started_at) * rate_bps * ${Number(this.speedup)})::bigint)`;
  }
}
