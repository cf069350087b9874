/**
 * Signed attestations of deletion: what a storage system or a GPU node states, under its own Ed25519 key,
 * once a mount is gone. The signed bytes are the payload's canonical JSON (keys sorted at every level, no
 * whitespace, strings, booleans and integers only): one statement has exactly one byte string, so the
 * service can check that what was signed is what it read. The protocol is in docs/attestations.md. Pure.
 */
import { KeyObject, createPublicKey, sign, verify } from 'node:crypto';
import { isCanonicalUuid } from '../core/ids';

export const ATTESTATION_TYPE = 'apn-orchestrator.attestation/v1';

export enum AttestationClaim {
  /** A replica or cache node: the mount's copy erased and its data key destroyed. */
  COPY_DESTROYED = 'COPY_DESTROYED',
  /** A GPU node: the mount unmounted, the page cache dropped, local scratch wiped. */
  NODE_WIPED = 'NODE_WIPED',
}

export enum AttestationSubjectKind {
  STORAGE_SYSTEM = 'STORAGE_SYSTEM',
  GPU_NODE = 'GPU_NODE',
}

export interface CopyDestroyedEvidence {
  copyId: string;
  /** Bytes of the copy that were on the node and are erased, as a decimal string. */
  bytesDestroyed: string;
  /** Whether the node destroyed the copy's data key; null when the copy was not encrypted. */
  dataKeyDestroyed: boolean | null;
  /** dataKeyFingerprint() of the key the copy was under, or null when it was not encrypted. */
  dataKeyFingerprint: string | null;
}

export interface NodeWipedEvidence {
  mountPoint: string;
  unmounted: boolean;
  pageCacheDropped: boolean;
  scratchWiped: boolean;
}

export interface AttestationPayload {
  type: typeof ATTESTATION_TYPE;
  claim: AttestationClaim;
  mountId: string;
  datasetId: string;
  subject: { kind: AttestationSubjectKind; id: string };
  /** When the node did it: ISO 8601 in UTC with milliseconds. */
  at: string;
  evidence: CopyDestroyedEvidence | NodeWipedEvidence;
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Canonical JSON: keys sorted by UTF-16 code units at every level, no whitespace, integers only. */
export function canonicalJson(value: unknown): string {
  const walk = (v: unknown): string => {
    if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
    if (typeof v === 'number') {
      if (!Number.isSafeInteger(v)) throw new TypeError('canonical JSON holds integers only');
      return String(v);
    }
    if (Array.isArray(v)) return `[${v.map(walk).join(',')}]`;
    if (typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
      entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${walk(x)}`).join(',')}}`;
    }
    throw new TypeError(`canonical JSON cannot hold ${typeof v}`);
  };
  return walk(value);
}

export interface SignedAttestation {
  /** The canonical JSON text that was signed. */
  payload: string;
  /** Ed25519 signature over the payload's UTF-8 bytes, base64. */
  signature: string;
}

export function signAttestation(payload: AttestationPayload, privateKey: KeyObject): SignedAttestation {
  const text = canonicalJson(payload);
  return { payload: text, signature: sign(null, Buffer.from(text, 'utf8'), privateKey).toString('base64') };
}

/** A refused attestation: the field of the submission at fault and why. */
export interface AttestationProblem {
  field: string;
  message: string;
}

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** Reads a submitted payload: canonical, of this type, with well-formed fields and the evidence its claim needs. */
export function parseAttestation(text: string, field = 'input.payload'): AttestationPayload | AttestationProblem {
  let value: Json;
  try {
    value = JSON.parse(text) as Json;
  } catch {
    return { field, message: `${field} is not JSON.` };
  }
  try {
    if (canonicalJson(value) !== text) {
      return {
        field,
        message: `${field} is not in canonical form (keys sorted at every level, no whitespace, integers only); sign the canonical text.`,
      };
    }
  } catch (error) {
    return { field, message: `${field}: ${(error as Error).message}.` };
  }
  const p = value as unknown as AttestationPayload;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { field, message: `${field} must be a JSON object.` };
  if ((p.type as string) !== ATTESTATION_TYPE) return { field: `${field}.type`, message: `${field}.type must be "${ATTESTATION_TYPE}".` };
  if (!Object.values(AttestationClaim).includes(p.claim))
    return { field: `${field}.claim`, message: `${field}.claim must be COPY_DESTROYED or NODE_WIPED.` };
  if (typeof p.mountId !== 'string' || !isCanonicalUuid(p.mountId))
    return { field: `${field}.mountId`, message: `${field}.mountId must be a mount id.` };
  if (typeof p.datasetId !== 'string' || !isCanonicalUuid(p.datasetId))
    return { field: `${field}.datasetId`, message: `${field}.datasetId must be a dataset id.` };
  if (
    !p.subject ||
    !Object.values(AttestationSubjectKind).includes(p.subject.kind) ||
    typeof p.subject.id !== 'string' ||
    !isCanonicalUuid(p.subject.id)
  ) {
    return { field: `${field}.subject`, message: `${field}.subject must be { kind: STORAGE_SYSTEM | GPU_NODE, id }.` };
  }
  if (typeof p.at !== 'string' || !ISO_UTC.test(p.at) || Number.isNaN(Date.parse(p.at))) {
    return { field: `${field}.at`, message: `${field}.at must be an ISO 8601 UTC time with milliseconds, e.g. 2027-05-01T06:00:00.000Z.` };
  }
  const e = p.evidence as unknown as Record<string, unknown> | undefined;
  if (!e || typeof e !== 'object') return { field: `${field}.evidence`, message: `${field}.evidence is missing.` };
  if (p.claim === AttestationClaim.COPY_DESTROYED) {
    if (p.subject.kind !== AttestationSubjectKind.STORAGE_SYSTEM)
      return { field: `${field}.subject`, message: 'COPY_DESTROYED is stated by a STORAGE_SYSTEM.' };
    if (e.copyId !== p.mountId) return { field: `${field}.evidence.copyId`, message: `${field}.evidence.copyId must be the mount id.` };
    if (typeof e.bytesDestroyed !== 'string' || !/^\d{1,20}$/.test(e.bytesDestroyed)) {
      return { field: `${field}.evidence.bytesDestroyed`, message: `${field}.evidence.bytesDestroyed must be a decimal string of bytes.` };
    }
    if (!(e.dataKeyDestroyed === null || typeof e.dataKeyDestroyed === 'boolean')) {
      return { field: `${field}.evidence.dataKeyDestroyed`, message: `${field}.evidence.dataKeyDestroyed must be true, false or null.` };
    }
    if (!(e.dataKeyFingerprint === null || (typeof e.dataKeyFingerprint === 'string' && /^[0-9a-f]{64}$/.test(e.dataKeyFingerprint)))) {
      return {
        field: `${field}.evidence.dataKeyFingerprint`,
        message: `${field}.evidence.dataKeyFingerprint must be 64 hex digits or null.`,
      };
    }
  } else {
    if (p.subject.kind !== AttestationSubjectKind.GPU_NODE)
      return { field: `${field}.subject`, message: 'NODE_WIPED is stated by a GPU_NODE.' };
    if (typeof e.mountPoint !== 'string')
      return { field: `${field}.evidence.mountPoint`, message: `${field}.evidence.mountPoint must be the path that was mounted.` };
    for (const k of ['unmounted', 'pageCacheDropped', 'scratchWiped']) {
      if (e[k] !== true)
        return {
          field: `${field}.evidence.${k}`,
          message: `${field}.evidence.${k} must be true: a node that did not do it has not wiped the data.`,
        };
    }
  }
  return p;
}

export const isProblem = (x: AttestationPayload | AttestationProblem): x is AttestationProblem =>
  'message' in x && 'field' in x && !('type' in x);

/** Whether `signature` (base64) is an Ed25519 signature of `payload` under the registered public key (SPKI PEM). */
export function signatureValid(payload: string, signature: string, publicKeyPem: string): boolean {
  if (!/^[A-Za-z0-9+/]{86}==$/.test(signature)) return false;
  try {
    return verify(null, Buffer.from(payload, 'utf8'), createPublicKey(publicKeyPem), Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

/** Checks a public key submitted for registration: an Ed25519 key in SPKI PEM. Returns the normalized PEM or a problem. */
export function attestationKeyProblem(pem: string): { pem: string } | { problem: string } {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') return { problem: `is a ${key.asymmetricKeyType} key; attestation keys are Ed25519` };
    return { pem: key.export({ type: 'spki', format: 'pem' }).toString() };
  } catch {
    return { problem: 'is not a public key in PEM (-----BEGIN PUBLIC KEY-----)' };
  }
}
