import { ConfigError, loadConfig } from './config';

describe('configuration', () => {
  it('gives the documented defaults for an empty environment, with the embedded database seeded', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ port: 3000, role: 'all', dataDir: './.data', holdTtlSeconds: 120, minDurationSeconds: 60, seed: 'reference', driver: 'emulator', workerConcurrency: 32, setupLeadMs: 250 });
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
});
