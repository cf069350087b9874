import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config/config';
import { resolveProtectionKeys } from './protection-keys';

describe('protection keys in development', () => {
  it('generates the keys on first start, keeps them in APN_DATA_DIR (mode 0600), and finds them again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'apn-keys-'));
    try {
      const first = resolveProtectionKeys(loadConfig({ APN_DATA_DIR: dir }));
      expect(first.keyEncryptionKey).toHaveLength(32);
      expect(first.caKeyPem).toMatch(/BEGIN PRIVATE KEY/);
      expect(first.auditSigningKeyPem).toMatch(/BEGIN PRIVATE KEY/);
      for (const file of ['key-encryption-key', 'ca-key.pem', 'audit-signing-key.pem'])
        expect(statSync(join(dir, file)).mode & 0o777).toBe(0o600);
      const again = resolveProtectionKeys(loadConfig({ APN_DATA_DIR: dir }));
      expect(again.keyEncryptionKey.equals(first.keyEncryptionKey)).toBe(true);
      expect(again.caKeyPem).toBe(readFileSync(join(dir, 'ca-key.pem'), 'utf8'));
      expect(again.auditSigningKeyPem).toBe(first.auditSigningKeyPem);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses the configured keys and writes nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'apn-keys-'));
    try {
      const kek = Buffer.alloc(32, 7);
      const generated = resolveProtectionKeys(loadConfig({ APN_DATA_DIR: 'memory' }));
      const keys = resolveProtectionKeys(
        loadConfig({
          APN_DATA_DIR: join(dir, 'unused'),
          APN_KEY_ENCRYPTION_KEY: kek.toString('hex'),
          APN_CA_KEY: generated.caKeyPem,
          APN_AUDIT_SIGNING_KEY: generated.auditSigningKeyPem,
        }),
      );
      expect(keys.keyEncryptionKey.equals(kek)).toBe(true);
      expect(keys.generatedIn).toBeNull();
      expect(keys.auditSigningKeyPem).toBe(generated.auditSigningKeyPem);
      expect(() => statSync(join(dir, 'unused'))).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
