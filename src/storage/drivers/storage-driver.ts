import type { SignedAttestation } from '../../protection/attestation';

/**
 * The storage boundary: what the control plane asks of NFS servers and of the replica and cache nodes at
 * data centers. Selected by APN_STORAGE_DRIVER. Every operation is idempotent, keyed by the mount id, so a
 * retried or duplicated job never double-acts.
 */
export interface NfsExportSpec {
  readonly mountId: string;
  /** The NFS server that exports: the office server (DIRECT) or the replica / cache node. */
  readonly storageSystemId: string;
  readonly exportPath: string;
  /** Addresses allowed to mount it: the allocation's GPU nodes. */
  readonly clients: readonly string[];
}

export interface CopySpec {
  /** The mount id: one copy per mount. */
  readonly copyId: string;
  readonly datasetId: string;
  /** The replica or cache node that holds the copy. */
  readonly storageSystemId: string;
  readonly kind: 'REPLICA' | 'CACHE';
  readonly bytesTotal: bigint;
  /** Bytes per second the copy can move: min(lightpath goodput, storage throughput). */
  readonly rateBps: number;
  /** The copy's data key when it is encrypted at rest: held by the node in memory, never written in clear. */
  readonly dataKey?: Buffer | null;
}

export interface CopyStatus {
  readonly bytesCopied: bigint;
  readonly bytesTotal: bigint;
  readonly complete: boolean;
}

export interface PurgeReceipt {
  /** Bytes that were on the node and are now erased (0 if the copy was already gone). */
  readonly bytesPurged: bigint;
  readonly at: Date;
  /** The node's signed COPY_DESTROYED attestation, when its agent gives one at once (else it submits it later). */
  readonly attestation: SignedAttestation | null;
}

export interface PurgeSpec {
  readonly copyId: string;
  readonly datasetId: string;
  /** The replica or cache node that held the copy. */
  readonly storageSystemId: string;
}

export interface WipeSpec {
  readonly mountId: string;
  readonly datasetId: string;
  /** Where the GPU nodes mounted the dataset. */
  readonly mountPoint: string;
  readonly nodeIds: readonly string[];
}

export interface StorageDriver {
  readonly name: string;
  /** Exports the path from that server to exactly these clients (replacing this mount's earlier list there). */
  exportTo(spec: NfsExportSpec): Promise<void>;
  /** Removes every export of the mount; removing none succeeds. */
  unexport(mountId: string): Promise<void>;
  /**
   * Starts a copy of the dataset onto a data-center node: a full replica, or a cache that fills as data is
   * read. Starting one that exists changes nothing.
   */
  startCopy(spec: CopySpec): Promise<void>;
  /** How far the copy is, or null if there is none. */
  copyStatus(copyId: string): Promise<CopyStatus | null>;
  /** Erases the copy and its data key from the node; purging one that is gone succeeds with 0 bytes. */
  purge(spec: PurgeSpec): Promise<PurgeReceipt>;
  /**
   * Asks the GPU nodes' agents to unmount, drop the page cache and wipe local scratch; returns the signed
   * NODE_WIPED attestations of those that answer at once (the others submit theirs through the API).
   */
  wipeGpuNodes(spec: WipeSpec): Promise<SignedAttestation[]>;
  /**
   * Enrols a storage system or GPU node with its agent and returns the Ed25519 public key (SPKI PEM) its
   * attestations will be signed with, or null when the operator must register the agent's key itself.
   */
  enrolAttestationKey(subjectId: string): Promise<string | null>;
  /** Bytes of the dataset held on data-center nodes, over all copies: 0 once every copy is purged. */
  bytesHeldOutsideOffice(datasetId: string): Promise<bigint>;
}

export const STORAGE_DRIVER = Symbol('STORAGE_DRIVER');
