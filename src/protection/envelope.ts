/**
 * Envelope encryption of per-mount data keys: each replica or cache copy is encrypted under its own random
 * 256-bit data key, and only that key wrapped by the key-encryption key (KEK) from configuration is stored:
 * AES-256-GCM with a fresh 96-bit nonce, the mount id as additional data (a wrapped key moved to another
 * mount does not unwrap). Destroying the wrapped key (and the node's copy of the key) makes the copy
 * unreadable: crypto-erase. Pure; keys never leave as text.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

export const DATA_KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const VERSION = 1;

export class EnvelopeError extends Error {}

/** A fresh data key. */
export function newDataKey(): Buffer {
  return randomBytes(DATA_KEY_BYTES);
}

/** A name for a KEK that says which one wrapped a key without revealing it: a domain-separated hash. */
export function kekId(kek: Buffer): string {
  return `kek-${createHash('sha256').update('apn-orchestrator key-encryption key\0').update(kek).digest('hex').slice(0, 16)}`;
}

/** What a storage node reports about the key its copy is under: a domain-separated hash, never the key. */
export function dataKeyFingerprint(dataKey: Buffer): string {
  return createHash('sha256').update('apn-orchestrator data key\0').update(dataKey).digest('hex');
}

/** version (1 byte) | nonce (12) | ciphertext (32) | tag (16). */
export function wrapDataKey(kek: Buffer, dataKey: Buffer, context: string): Buffer {
  if (kek.length !== 32) throw new EnvelopeError('the key-encryption key must be 32 bytes');
  if (dataKey.length !== DATA_KEY_BYTES) throw new EnvelopeError(`a data key is ${DATA_KEY_BYTES} bytes`);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(dataKey), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), nonce, body, cipher.getAuthTag()]);
}

/** Unwraps; throws EnvelopeError when the KEK, the context or the bytes are not those it was wrapped with. */
export function unwrapDataKey(kek: Buffer, wrapped: Buffer, context: string): Buffer {
  if (wrapped.length !== 1 + NONCE_BYTES + DATA_KEY_BYTES + TAG_BYTES || wrapped[0] !== VERSION) {
    throw new EnvelopeError('not a wrapped data key of this service');
  }
  const nonce = wrapped.subarray(1, 1 + NONCE_BYTES);
  const body = wrapped.subarray(1 + NONCE_BYTES, 1 + NONCE_BYTES + DATA_KEY_BYTES);
  const tag = wrapped.subarray(1 + NONCE_BYTES + DATA_KEY_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', kek, nonce);
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new EnvelopeError('the wrapped data key does not unwrap under this key-encryption key and context');
  }
}

/** AES-256-GCM over bytes of any length (a certificate's private key): nonce (12) | ciphertext | tag (16). */
export function seal(kek: Buffer, plaintext: Buffer, context: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

export function open(kek: Buffer, sealed: Buffer, context: string): Buffer {
  if (sealed.length < NONCE_BYTES + TAG_BYTES) throw new EnvelopeError('not sealed by this service');
  const decipher = createDecipheriv('aes-256-gcm', kek, sealed.subarray(0, NONCE_BYTES));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)), decipher.final()]);
  } catch {
    throw new EnvelopeError('the sealed bytes do not open under this key-encryption key and context');
  }
}
