/**
 * The service's own small certificate authority for RPC-with-TLS (RFC 9289): X.509 v3 certificates and
 * CRLs (RFC 5280) written with the DER writer in der.ts and signed by Node's crypto. The CA key is Ed25519
 * or ECDSA P-256 (from configuration); leaf keys are ECDSA P-256, which every TLS 1.3 stack accepts.
 * Pure apart from the signatures and key generation; no Nest, no database.
 */
import { KeyObject, X509Certificate, createHash, createPublicKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIP } from 'node:net';
import * as der from './der';

const OID = {
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  ed25519: '1.3.101.112',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  crlNumber: '2.5.29.20',
  crlReason: '2.5.29.21',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

export const CA_COMMON_NAME = 'apn-orchestrator mount CA';
const ORGANIZATION = 'apn-orchestrator';
/** RFC 5280 §4.1.2.5: 99991231235959Z means the certificate has no well-defined expiration date. */
const NO_EXPIRY = new Date(Date.UTC(9999, 11, 31, 23, 59, 59));
/** RFC 5280 §5.3.1 reasonCode cessationOfOperation: the mount the certificate served is gone. */
export const REASON_CESSATION_OF_OPERATION = 5;

export class PkiError extends Error {}

/** Whether a key can sign for the CA: Ed25519, or ECDSA on P-256. */
export function caKeyProblem(key: KeyObject): string | null {
  if (key.type !== 'private') return 'is not a private key';
  if (key.asymmetricKeyType === 'ed25519') return null;
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return null;
  return `is a ${key.asymmetricKeyType}${key.asymmetricKeyDetails?.namedCurve ? ` ${key.asymmetricKeyDetails.namedCurve}` : ''} key; use Ed25519 or ECDSA P-256`;
}

function algorithm(key: KeyObject): der.Der {
  return key.asymmetricKeyType === 'ed25519' ? der.sequence(der.oid(OID.ed25519)) : der.sequence(der.oid(OID.ecdsaWithSha256));
}

function signWith(key: KeyObject, tbs: Buffer): Buffer {
  return key.asymmetricKeyType === 'ed25519' ? sign(null, tbs, key) : sign('sha256', tbs, key);
}

function name(commonName: string): der.Der {
  const rdn = (type: string, value: string) => der.set(der.sequence(der.oid(type), der.utf8String(value)));
  return der.sequence(rdn(OID.organization, ORGANIZATION), rdn(OID.commonName, commonName));
}

function extension(id: string, critical: boolean, value: der.Der): der.Der {
  return der.sequence(der.oid(id), ...(critical ? [der.boolean(true)] : []), der.octetString(value));
}

/** Key identifier (RFC 5280 §4.2.1.2): 160 bits of a hash of the subject public key. */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest()
    .subarray(0, 20);
}

function ipBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split('.').map(Number));
  const [head, tail = ''] = address.includes('::') ? address.split('::') : [address, undefined];
  const parts = (s: string) => (s === '' ? [] : s.split(':'));
  const h = parts(head);
  const t = address.includes('::') ? parts(tail) : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return Buffer.from(groups.flatMap((g: string) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]));
}

/** A positive serial of 127 random bits (RFC 5280 §4.1.2.2: at most 20 octets, unpredictable). */
export function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  bytes[0] |= 0x40;
  return bytes.toString('hex');
}

const pem = (label: string, body: Buffer) =>
  `-----BEGIN ${label}-----\n${body
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '')}\n-----END ${label}-----\n`;

export interface CertificateRequest {
  serial: string;
  commonName: string;
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  usage: 'CLIENT' | 'SERVER';
  ipAddresses?: string[];
  dnsNames?: string[];
  uris?: string[];
}

/**
 * A certificate authority over one key. Its certificate is derived from the key alone (subject, serial from
 * the key identifier, validity from 2025 with no expiry), so every process holding the key presents the
 * same CA: with Ed25519 byte for byte; with ECDSA, whose signatures are randomized, equal in all but the
 * signature, which verifies under the same key either way.
 */
export class CertificateAuthority {
  readonly publicKey: KeyObject;
  readonly keyId: Buffer;
  readonly certificatePem: string;

  constructor(private readonly key: KeyObject) {
    const problem = caKeyProblem(key);
    if (problem) throw new PkiError(`the CA key ${problem}`);
    this.publicKey = createPublicKey(key);
    this.keyId = keyIdentifier(this.publicKey);
    const caExtensions = [
      extension(OID.basicConstraints, true, der.sequence(der.boolean(true))),
      // keyCertSign (bit 5) and cRLSign (bit 6): 0b0000011, one unused bit.
      extension(OID.keyUsage, true, der.bitString(Buffer.from([0x06]), 1)),
      extension(OID.subjectKeyIdentifier, false, der.octetString(this.keyId)),
    ];
    const tbs = der.sequence(
      der.explicit(0, der.integer(2)),
      der.integer(Buffer.concat([Buffer.from([0x01]), this.keyId.subarray(0, 15)])),
      algorithm(key),
      name(CA_COMMON_NAME),
      der.sequence(der.time(new Date(Date.UTC(2025, 0, 1))), der.time(NO_EXPIRY)),
      name(CA_COMMON_NAME),
      this.publicKey.export({ type: 'spki', format: 'der' }),
      der.explicit(3, der.sequence(...caExtensions)),
    );
    this.certificatePem = pem('CERTIFICATE', this.signed(tbs));
  }

  /** A leaf certificate for a TLS client or server, valid over exactly [notBefore, notAfter]. */
  issue(request: CertificateRequest): string {
    if (!/^[0-9a-f]{2,40}$/.test(request.serial)) throw new PkiError('serial must be 1–20 bytes of hex');
    if (!(request.notAfter > request.notBefore)) throw new PkiError('notAfter must be after notBefore');
    const alternativeNames = [
      ...(request.dnsNames ?? []).map((d) => der.implicitPrimitive(2, Buffer.from(d, 'ascii'))),
      ...(request.uris ?? []).map((u) => der.implicitPrimitive(6, Buffer.from(u, 'ascii'))),
      ...(request.ipAddresses ?? []).map((a) => {
        if (isIP(a) === 0) throw new PkiError(`${a} is not an IP address`);
        return der.implicitPrimitive(7, ipBytes(a));
      }),
    ];
    const extensions = [
      extension(OID.basicConstraints, true, der.sequence()),
      // digitalSignature (bit 0): TLS 1.3 signs the handshake with the leaf key.
      extension(OID.keyUsage, true, der.bitString(Buffer.from([0x80]), 7)),
      extension(OID.extKeyUsage, false, der.sequence(der.oid(request.usage === 'CLIENT' ? OID.clientAuth : OID.serverAuth))),
      ...(alternativeNames.length ? [extension(OID.subjectAltName, false, der.sequence(...alternativeNames))] : []),
      extension(OID.subjectKeyIdentifier, false, der.octetString(keyIdentifier(request.publicKey))),
      extension(OID.authorityKeyIdentifier, false, der.sequence(der.implicitPrimitive(0, this.keyId))),
    ];
    const tbs = der.sequence(
      der.explicit(0, der.integer(2)),
      der.integer(Buffer.from(request.serial, 'hex')),
      algorithm(this.key),
      name(CA_COMMON_NAME),
      der.sequence(der.time(request.notBefore), der.time(request.notAfter)),
      name(request.commonName),
      request.publicKey.export({ type: 'spki', format: 'der' }),
      der.explicit(3, der.sequence(...extensions)),
    );
    return pem('CERTIFICATE', this.signed(tbs));
  }

  /**
   * A v2 CRL (RFC 5280 §5) listing the revoked serials with their time and reason cessationOfOperation,
   * numbered by `number` (monotonic), valid from `thisUpdate` until `nextUpdate`. Returns DER and PEM.
   */
  crl(
    revoked: ReadonlyArray<{ serial: string; at: Date }>,
    thisUpdate: Date,
    nextUpdate: Date,
    number: bigint,
  ): { der: Buffer; pem: string } {
    const entries = revoked.map((r) =>
      der.sequence(
        der.integer(Buffer.from(r.serial, 'hex')),
        der.time(r.at),
        der.sequence(extension(OID.crlReason, false, der.tlv(0x0a, Buffer.from([REASON_CESSATION_OF_OPERATION])))),
      ),
    );
    const tbs = der.sequence(
      der.integer(1),
      algorithm(this.key),
      name(CA_COMMON_NAME),
      der.time(thisUpdate),
      der.time(nextUpdate),
      ...(entries.length ? [der.sequence(...entries)] : []),
      der.explicit(
        0,
        der.sequence(
          extension(OID.authorityKeyIdentifier, false, der.sequence(der.implicitPrimitive(0, this.keyId))),
          extension(OID.crlNumber, false, der.integer(number)),
        ),
      ),
    );
    const body = this.signed(tbs);
    return { der: body, pem: pem('X509 CRL', body) };
  }

  /** Whether a certificate was issued by this CA (its signature verifies under the CA key). */
  issued(certificatePem: string): boolean {
    return new X509Certificate(certificatePem).verify(this.publicKey);
  }

  private signed(tbs: Buffer): Buffer {
    return der.sequence(tbs, algorithm(this.key), der.bitString(signWith(this.key, tbs)));
  }
}

/** A fresh ECDSA P-256 key pair for a TLS client or server. */
export function newLeafKeyPair(): { publicKey: KeyObject; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { publicKey, privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}
