import { execFileSync, spawnSync } from 'node:child_process';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as der from './der';
import { CertificateAuthority, newLeafKeyPair, newSerial } from './pki';

/** Runs `openssl verify` on a certificate against the CA (and a CRL); returns its combined output and status. */
function opensslVerify(
  caPem: string,
  certPem: string,
  options: { crlPem?: string; at?: Date; purpose?: string } = {},
): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'apn-pki-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), caPem);
    writeFileSync(join(dir, 'leaf.pem'), certPem);
    const args = ['verify', '-CAfile', join(dir, 'ca.pem')];
    if (options.crlPem) {
      writeFileSync(join(dir, 'crl.pem'), options.crlPem);
      args.push('-crl_check', '-CRLfile', join(dir, 'crl.pem'));
    }
    if (options.at) args.push('-attime', String(Math.floor(options.at.getTime() / 1000)));
    if (options.purpose) args.push('-purpose', options.purpose);
    args.push(join(dir, 'leaf.pem'));
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('DER writer', () => {
  it('encodes the X.690 examples: lengths, integers, OIDs and times', () => {
    expect(der.integer(0).toString('hex')).toBe('020100');
    expect(der.integer(127).toString('hex')).toBe('02017f');
    expect(der.integer(128).toString('hex')).toBe('02020080');
    expect(der.integer(256).toString('hex')).toBe('02020100');
    expect(der.integer(Buffer.from('0000ff', 'hex')).toString('hex')).toBe('020200ff');
    expect(der.oid('1.2.840.113549').toString('hex')).toBe('06062a864886f70d');
    expect(der.oid('2.5.29.19').toString('hex')).toBe('0603551d13');
    expect(der.tlv(0x04, Buffer.alloc(200)).subarray(0, 3).toString('hex')).toBe('0481c8');
    expect(der.tlv(0x04, Buffer.alloc(300)).subarray(0, 4).toString('hex')).toBe('0482012c');
    expect(der.time(new Date('2027-03-04T05:06:07.890Z')).toString('latin1').slice(2)).toBe('270304050607Z');
    expect(der.time(new Date('2050-01-01T00:00:00Z')).toString('latin1').slice(2)).toBe('20500101000000Z');
  });
});

describe('CertificateAuthority', () => {
  const window = { notBefore: new Date('2027-05-01T00:00:00Z'), notAfter: new Date('2027-05-01T06:00:00Z') };
  for (const kind of ['ed25519', 'ec'] as const) {
    it(`issues ${kind} CA client certificates that openssl verifies within their window only`, () => {
      const key =
        kind === 'ed25519' ? generateKeyPairSync('ed25519').privateKey : generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
      const ca = new CertificateAuthority(key);
      const leaf = newLeafKeyPair();
      const serial = newSerial();
      const pem = ca.issue({
        serial,
        commonName: 'gpu-01',
        publicKey: leaf.publicKey,
        ...window,
        usage: 'CLIENT',
        ipAddresses: ['10.20.0.11', '2001:db8:20::13'],
        uris: ['urn:apn:mount:m1'],
      });
      const cert = new X509Certificate(pem);
      expect(cert.serialNumber.toLowerCase()).toBe(serial);
      expect(cert.subject).toContain('CN=gpu-01');
      expect(cert.subjectAltName).toContain('IP Address:10.20.0.11');
      expect(cert.subjectAltName).toMatch(/IP Address:2001:DB8:20:0:0:0:0:13/i);
      expect(new Date(cert.validFrom).getTime()).toBe(window.notBefore.getTime());
      expect(new Date(cert.validTo).getTime()).toBe(window.notAfter.getTime());
      expect(ca.issued(pem)).toBe(true);
      expect(new X509Certificate(ca.certificatePem).ca).toBe(true);

      const inside = new Date(window.notBefore.getTime() + 3_600_000);
      expect(opensslVerify(ca.certificatePem, pem, { at: inside, purpose: 'sslclient' })).toMatchObject({ ok: true });
      expect(opensslVerify(ca.certificatePem, pem, { at: inside, purpose: 'sslserver' }).ok).toBe(false);
      const late = opensslVerify(ca.certificatePem, pem, { at: new Date(window.notAfter.getTime() + 1000) });
      expect(late.ok).toBe(false);
      expect(late.output).toMatch(/expired/);
      expect(opensslVerify(ca.certificatePem, pem, { at: new Date(window.notBefore.getTime() - 1000) }).output).toMatch(/not yet valid/);

      // Another CA's certificate does not vouch for it.
      const stranger = new CertificateAuthority(generateKeyPairSync('ed25519').privateKey);
      expect(opensslVerify(stranger.certificatePem, pem, { at: inside }).ok).toBe(false);
    });
  }

  it('revokes through a CRL that openssl checks', () => {
    const ca = new CertificateAuthority(generateKeyPairSync('ed25519').privateKey);
    const leaf = newLeafKeyPair();
    const [revokedSerial, keptSerial] = [newSerial(), newSerial()];
    const issue = (serial: string) =>
      ca.issue({ serial, commonName: 'gpu-02', publicKey: leaf.publicKey, ...window, usage: 'CLIENT', ipAddresses: ['10.20.0.12'] });
    const [revoked, kept] = [issue(revokedSerial), issue(keptSerial)];
    const inside = new Date(window.notBefore.getTime() + 60_000);
    const crl = ca.crl([{ serial: revokedSerial, at: inside }], inside, new Date(inside.getTime() + 3_600_000), 7n);
    const empty = ca.crl([], inside, new Date(inside.getTime() + 3_600_000), 6n);
    expect(opensslVerify(ca.certificatePem, revoked, { crlPem: empty.pem, at: inside }).ok).toBe(true);
    const refused = opensslVerify(ca.certificatePem, revoked, { crlPem: crl.pem, at: inside });
    expect(refused.ok).toBe(false);
    expect(refused.output).toMatch(/certificate revoked/);
    expect(opensslVerify(ca.certificatePem, kept, { crlPem: crl.pem, at: inside }).ok).toBe(true);
    const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-noout', '-text'], { input: crl.der, encoding: 'utf8' });
    expect(text).toMatch(new RegExp(`Serial Number: ${revokedSerial.toUpperCase()}`));
    expect(text).toMatch(/Cessation Of Operation/);
    expect(text).toMatch(/X509v3 CRL Number:\s*\n\s*7/);
  });

  it('refuses CA keys it cannot sign with', () => {
    expect(() => new CertificateAuthority(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey)).toThrow(
      /Ed25519 or ECDSA P-256/,
    );
    expect(() => new CertificateAuthority(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey)).toThrow(/secp384r1/);
  });
});
