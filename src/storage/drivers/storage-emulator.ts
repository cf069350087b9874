import { createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import {
  ATTESTATION_TYPE,
  AttestationClaim,
  AttestationSubjectKind,
  type SignedAttestation,
  signAttestation,
} from '../../protection/attestation';
import { dataKeyFingerprint } from '../../protection/envelope';
import type { StorageEmulatorRepository } from '../storage-emulator.repository';
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
    private readonly state: StorageEmulatorRepository,
    private readonly speedup: number,
  ) {}

  async exportTo(spec: NfsExportSpec): Promise<void> {
    await this.state.upsertExport(spec);
  }

  async unexport(mountId: string): Promise<void> {
    await this.state.deleteExports(mountId);
  }

  async startCopy(spec: CopySpec): Promise<void> {
    await this.state.insertCopy({
      copyId: spec.copyId,
      datasetId: spec.datasetId,
      storageSystemId: spec.storageSystemId,
      kind: spec.kind,
      bytesTotal: spec.bytesTotal,
      rateBps: spec.rateBps,
      keyFingerprint: spec.dataKey ? dataKeyFingerprint(spec.dataKey) : null,
    });
  }

  async copyStatus(copyId: string): Promise<CopyStatus | null> {
    const progress = await this.state.copyProgress(copyId, this.speedup);
    if (!progress) return null;
    return { bytesCopied: progress.copied, bytesTotal: progress.total, complete: progress.copied >= progress.total };
  }

  async purge(spec: PurgeSpec): Promise<PurgeReceipt> {
    const gone = await this.state.deleteCopy(spec.copyId, this.speedup);
    const bytesPurged = gone.copied ?? 0n;
    const attestation = await this.sign(
      spec.storageSystemId,
      AttestationSubjectKind.STORAGE_SYSTEM,
      AttestationClaim.COPY_DESTROYED,
      spec.copyId,
      spec.datasetId,
      gone.at,
      {
        copyId: spec.copyId,
        bytesDestroyed: bytesPurged.toString(),
        dataKeyDestroyed: gone.fingerprint ? true : null,
        dataKeyFingerprint: gone.fingerprint,
      },
    );
    return { bytesPurged, at: gone.at, attestation };
  }

  async wipeGpuNodes(spec: WipeSpec): Promise<SignedAttestation[]> {
    const at = await this.state.now();
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
    const pem = await this.state.enrolKey(subjectId, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    return createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'pem' }).toString();
  }

  bytesHeldOutsideOffice(datasetId: string): Promise<bigint> {
    return this.state.bytesHeld(datasetId, this.speedup);
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
    const pem = await this.state.privateKeyOf(subjectId);
    if (pem === null) return null;
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
      createPrivateKey(pem),
    );
  }
}
