import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AppConfig } from './config/config';

export interface ProtectionKeys {
  keyEncryptionKey: Buffer;
  caKeyPem: string;
  auditSigningKeyPem: string;
  /** Where generated keys are kept, or null (configured, or generated for this process only). */
  generatedIn: string | null;
}

/**
 * The key-encryption key, the mount CA key and the audit checkpoint signing key. Configured in production (the schema refuses to start
 * without them); in development generated on first start and kept in APN_DATA_DIR (mode 0600) as the
 * operator token is, so restarts can still unwrap their data keys and keep their CA. With DATABASE_URL or
 * APN_DATA_DIR=memory, generated anew at every start: set them when several processes share a database.
 * Never printed.
 */
export function resolveProtectionKeys(config: AppConfig): ProtectionKeys {
  const onDisk = config.dataDir !== 'memory' && !config.databaseUrl;
  const dir = onDisk ? resolve(config.dataDir) : null;
  const kept = (name: string, make: () => string): string => {
    if (!dir) return make();
    const file = join(dir, name);
    if (existsSync(file)) return readFileSync(file, 'utf8');
    mkdirSync(dir, { recursive: true });
    const value = make();
    writeFileSync(file, value, { mode: 0o600 });
    chmodSync(file, 0o600);
    return value;
  };
  const keyEncryptionKey =
    config.keyEncryptionKey ?? Buffer.from(kept('key-encryption-key', () => `${randomBytes(32).toString('base64')}\n`).trim(), 'base64');
  const caKeyPem =
    config.caKeyPem ??
    kept('ca-key.pem', () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  const auditSigningKeyPem =
    config.auditSigningKeyPem ??
    kept('audit-signing-key.pem', () => generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
  return {
    keyEncryptionKey,
    caKeyPem,
    auditSigningKeyPem,
    generatedIn: !config.keyEncryptionKey || !config.caKeyPem || !config.auditSigningKeyPem ? dir : null,
  };
}
