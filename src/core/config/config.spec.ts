import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from './config';

describe('configuration', () => {
  it('gives the documented defaults for an empty environment, with the embedded database seeded', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      role: 'all',
      dataDir: './.data',
      holdTtlSeconds: 120,
      minDurationSeconds: 60,
      seed: 'reference',
      driver: 'emulator',
      workerConcurrency: 32,
      setupLeadMs: 250,
    });
    expect(c.databaseUrl).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('does not seed a server database unless asked', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://db/apn' }).seed).toBe('none');
    expect(loadConfig({ DATABASE_URL: 'postgres://db/apn', APN_SEED: 'reference' }).seed).toBe('reference');
  });

  it('names every bad variable and what it must be', () => {
    expect(() => loadConfig({ PORT: 'eighty', APN_ROLE: 'both', REDIS_URL: 'localhost:6379' })).toThrow(ConfigError);
    try {
      loadConfig({ PORT: 'eighty', APN_ROLE: 'both', REDIS_URL: 'localhost:6379' });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toMatch(/PORT: PORT must be a whole number \(got "eighty"\)/);
      expect(message).toMatch(/APN_ROLE/);
      expect(message).toMatch(/REDIS_URL: REDIS_URL must be a redis:\/\/ or rediss:\/\/ URL/);
    }
  });

  it('requires an operator token in production and never echoes a secret', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/APN_ADMIN_TOKEN is required/);
    try {
      loadConfig({ APN_ADMIN_TOKEN: 'short' });
    } catch (error) {
      expect((error as Error).message).not.toContain('short"');
      expect((error as Error).message).toContain('<redacted>');
    }
  });

  it('reads the webhook allow-list as networks and host names, empty by default', () => {
    expect(loadConfig({}).webhookAllowedTargets).toEqual({ networks: [], hosts: [] });
    const c = loadConfig({ APN_WEBHOOK_ALLOWED_TARGETS: ' 10.20.0.0/16, 192.168.7.8 ,FD00::/8,Billing.Corp.Internal., localhost,' });
    expect(c.webhookAllowedTargets).toEqual({
      networks: ['10.20.0.0/16', '192.168.7.8/32', 'fd00::/8'],
      hosts: ['billing.corp.internal', 'localhost'],
    });
  });

  it.each([
    ['10.0.0.0/33', /"10\.0\.0\.0\/33" has a bad prefix length; write address\/0-32/],
    ['fd00::/129', /bad prefix length; write address\/0-128/],
    ['10.0.0.0/8/8', /bad prefix length/],
    ['https://billing.example.com', /is neither an IP address, a CIDR .* nor a host name/],
    ['billing.example.com:8443', /is neither/],
    ['bad name', /is neither/],
    ['2130706433', /is the address 127\.0\.0\.1 to the URL parser; write 127\.0\.0\.1/],
    ['127.1', /is the address 127\.0\.0\.1/],
  ])('refuses the webhook allow-list entry %s, naming the variable', (entry, message) => {
    expect(() => loadConfig({ APN_WEBHOOK_ALLOWED_TARGETS: `10.1.0.0/16,${entry}` })).toThrow(message);
    expect(() => loadConfig({ APN_WEBHOOK_ALLOWED_TARGETS: entry })).toThrow(
      /APN_WEBHOOK_ALLOWED_TARGETS: APN_WEBHOOK_ALLOWED_TARGETS entry/,
    );
  });

  it('reads the TAPI driver settings with minutes-long defaults, and names each bad one', () => {
    const defaults = loadConfig({ APN_DRIVER: 'tapi', APN_TAPI_URL: 'https://tapi.example.net' });
    expect(defaults).toMatchObject({
      tapiMode: 'data',
      tapiRoot: undefined,
      tapiActivationTimeoutSeconds: 600,
      tapiRemovalTimeoutSeconds: 300,
    });
    const set = loadConfig({
      APN_DRIVER: 'tapi',
      APN_TAPI_URL: 'https://odl.example.net:8181',
      APN_TAPI_MODE: 'rpc',
      APN_TAPI_ROOT: '/rests',
      APN_TAPI_ACTIVATION_TIMEOUT_S: '1800',
      APN_TAPI_REMOVAL_TIMEOUT_S: '900',
    });
    expect(set).toMatchObject({ tapiMode: 'rpc', tapiRoot: '/rests', tapiActivationTimeoutSeconds: 1800, tapiRemovalTimeoutSeconds: 900 });
    const bad = () =>
      loadConfig({
        APN_DRIVER: 'tapi',
        APN_TAPI_URL: 'https://tapi.example.net',
        APN_TAPI_MODE: 'post',
        APN_TAPI_ROOT: 'rests',
        APN_TAPI_ACTIVATION_TIMEOUT_S: '0',
        APN_TAPI_REMOVAL_TIMEOUT_S: 'soon',
      });
    expect(bad).toThrow(/APN_TAPI_MODE: APN_TAPI_MODE must be data or rpc \(got "post"\)/);
    expect(bad).toThrow(/APN_TAPI_ROOT: APN_TAPI_ROOT must be a path starting with "\/"/);
    expect(bad).toThrow(/APN_TAPI_ACTIVATION_TIMEOUT_S: APN_TAPI_ACTIVATION_TIMEOUT_S must be between 1 and 86400/);
    expect(bad).toThrow(/APN_TAPI_REMOVAL_TIMEOUT_S: APN_TAPI_REMOVAL_TIMEOUT_S must be a whole number/);
  });
});

describe('configuration of data protection', () => {
  const production = { NODE_ENV: 'production', APN_ADMIN_TOKEN: 'a'.repeat(32) };
  const caKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const kek = randomBytes(32);

  it('reads the key-encryption key as hex or base64 and the CA key as PEM, on one line or several', () => {
    const c = loadConfig({ APN_KEY_ENCRYPTION_KEY: kek.toString('hex'), APN_CA_KEY: caKey.replace(/\n/g, '\\n') });
    expect(c.keyEncryptionKey!.equals(kek)).toBe(true);
    expect(c.caKeyPem).toBe(caKey);
    expect(loadConfig({ APN_KEY_ENCRYPTION_KEY: kek.toString('base64') }).keyEncryptionKey!.equals(kek)).toBe(true);
    expect(loadConfig({})).toMatchObject({
      keyEncryptionKey: undefined,
      caKeyPem: undefined,
      tlsCertMaxLifetimeSeconds: 604_800,
      tlsHybridKeyExchange: false,
    });
  });

  it('refuses bad keys naming the variable, without echoing them', () => {
    const message = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    };
    const short = message({ APN_KEY_ENCRYPTION_KEY: 'c2hvcnQ=' });
    expect(short).toMatch(/APN_KEY_ENCRYPTION_KEY: APN_KEY_ENCRYPTION_KEY must be 32 random bytes/);
    expect(short).not.toContain('c2hvcnQ=');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const wrongKind = message({ APN_CA_KEY: rsa });
    expect(wrongKind).toMatch(/APN_CA_KEY: APN_CA_KEY is a rsa key; use Ed25519 or ECDSA P-256/);
    expect(wrongKind).not.toContain('PRIVATE KEY');
    expect(message({ APN_CA_KEY: 'not a key' })).toMatch(/APN_CA_KEY must be a private key in PEM/);
    expect(message({ APN_TLS_CERT_MAX_LIFETIME_S: '60' })).toMatch(/APN_TLS_CERT_MAX_LIFETIME_S must be between 3600 and 31536000/);
    expect(message({ APN_TLS_HYBRID_KEX: 'yes' })).toMatch(/APN_TLS_HYBRID_KEX must be true or false/);
  });

  it('reads the audit signing key as Ed25519 PEM, refuses another kind naming the variable, and bounds the checkpoint interval', () => {
    const auditKey = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(loadConfig({ APN_AUDIT_SIGNING_KEY: auditKey.replace(/\n/g, '\\n') }).auditSigningKeyPem).toBe(auditKey);
    expect(loadConfig({})).toMatchObject({
      auditSigningKeyPem: undefined,
      auditCheckpointIntervalSeconds: 300,
      apiKeyMaxLifetimeSeconds: 31_622_400,
    });
    const refused = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    };
    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(refused({ APN_AUDIT_SIGNING_KEY: p256 })).toMatch(/APN_AUDIT_SIGNING_KEY: APN_AUDIT_SIGNING_KEY is a ec key; use Ed25519/);
    expect(refused({ APN_AUDIT_SIGNING_KEY: p256 })).not.toContain('PRIVATE KEY');
    expect(refused({ APN_AUDIT_SIGNING_KEY: 'nope' })).toMatch(/APN_AUDIT_SIGNING_KEY must be an Ed25519 private key in PEM/);
    expect(refused({ APN_AUDIT_CHECKPOINT_INTERVAL_S: '1' })).toMatch(/APN_AUDIT_CHECKPOINT_INTERVAL_S must be between 5 and 86400/);
    expect(refused({ APN_API_KEY_MAX_LIFETIME_S: '60' })).toMatch(/APN_API_KEY_MAX_LIFETIME_S must be between 3600 and 315360000/);
  });

  it('requires the three keys in production', () => {
    const refused = (() => {
      try {
        loadConfig(production);
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    expect(refused).toMatch(/APN_KEY_ENCRYPTION_KEY is required when NODE_ENV=production/);
    expect(refused).toMatch(/APN_CA_KEY is required when NODE_ENV=production/);
    expect(refused).toMatch(/APN_AUDIT_SIGNING_KEY is required when NODE_ENV=production/);
    expect(
      loadConfig({ ...production, APN_KEY_ENCRYPTION_KEY: kek.toString('base64'), APN_CA_KEY: caKey, APN_AUDIT_SIGNING_KEY: caKey })
        .nodeEnv,
    ).toBe('production');
  });
});
