import pino from 'pino';
import { Writable } from 'node:stream';
import { LOG_REDACT_PATHS } from './core.module';

/** What the service's logger (pino, with the redaction of CoreModule) writes for objects carrying secrets. */
function logged(value: Record<string, unknown>): string {
  let out = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      out += chunk.toString();
      done();
    },
  });
  pino({ redact: { paths: LOG_REDACT_PATHS, censor: '[redacted]' } }, sink).info(value, 'test');
  return out;
}

describe('log redaction', () => {
  it('censors secrets, keys and their hashes, at the top level and one level down', () => {
    const secrets = {
      secret: 'whsec_top',
      token: 'apn_x_y',
      keyEncryptionKey: 'kek-bytes',
      caKeyPem: '-----BEGIN PRIVATE KEY----- ca',
      auditSigningKeyPem: '-----BEGIN PRIVATE KEY----- audit',
      secretSealed: 'sealed-bytes',
      secretSha256: 'f'.repeat(64),
      previousSecretSha256: 'e'.repeat(64),
      credential: { tokenSha256: 'd'.repeat(64) },
      dataKey: 'data-key',
    };
    const top = logged(secrets);
    const nested = logged({ subscription: secrets, key: secrets });
    for (const text of [top, nested]) {
      for (const value of [
        'whsec_top',
        'apn_x_y',
        'kek-bytes',
        'BEGIN PRIVATE KEY',
        'sealed-bytes',
        'f'.repeat(64),
        'e'.repeat(64),
        'd'.repeat(64),
        'data-key',
      ]) {
        expect(text).not.toContain(value);
      }
      expect(text).toContain('[redacted]');
    }
  });
});
