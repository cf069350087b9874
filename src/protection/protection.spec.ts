import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  ATTESTATION_TYPE,
  AttestationClaim,
  AttestationPayload,
  AttestationSubjectKind,
  attestationKeyProblem,
  canonicalJson,
  isProblem,
  parseAttestation,
  signAttestation,
  signatureValid,
} from './attestation';
import { EnvelopeError, dataKeyFingerprint, kekId, newDataKey, unwrapDataKey, wrapDataKey } from './envelope';
import {
  AtRestProtection,
  InMotionProtection as IM,
  PostQuantumStanding,
  ProfileContext,
  measuresOf,
  normalizeInMotion,
  overallStanding,
  postQuantumStandings,
  profileProblem,
} from './profile';

const context = (over: Partial<ProfileContext> = {}): ProfileContext => ({
  design: 'DIRECT',
  protocol: 'NFS_TCP',
  sensitivity: 'CONFIDENTIAL',
  lightpath: { encrypts: false, plainEndpoints: ['OTE-HQ-100G-1'] },
  minimum: null,
  ...over,
});
const profile = (inMotion: IM[], atRest = AtRestProtection.NONE) => ({ inMotion: normalizeInMotion(inMotion), atRest });

describe('protection profiles', () => {
  it('accepts the combinations that work', () => {
    expect(profileProblem(profile([]), context())).toBeNull();
    expect(profileProblem(profile([IM.NFS_KRB5P]), context({ protocol: 'NFS_RDMA' }))).toBeNull();
    expect(profileProblem(profile([IM.NFS_TLS, IM.NFS_KRB5P]), context())).toBeNull();
    expect(
      profileProblem(profile([IM.LINK_ENCRYPTION, IM.NFS_TLS]), context({ lightpath: { encrypts: true, plainEndpoints: [] } })),
    ).toBeNull();
    expect(profileProblem(profile([IM.NFS_TLS], AtRestProtection.ENCRYPTED), context({ design: 'CACHE' }))).toBeNull();
    expect(normalizeInMotion([IM.LINK_ENCRYPTION, IM.NFS_KRB5P, IM.NFS_KRB5P])).toEqual([IM.NFS_KRB5P, IM.LINK_ENCRYPTION]);
  });

  it('refuses what cannot work, with the reason and the field', () => {
    expect(profileProblem(profile([IM.NFS_TLS]), context({ protocol: 'NFS_RDMA' }))).toMatchObject({
      field: 'input.protection.inMotion',
      message: expect.stringMatching(/RFC 9289.*TCP only/),
    });
    expect(profileProblem(profile([IM.NONE, IM.NFS_KRB5P]), context())).toMatchObject({
      field: 'input.protection.inMotion',
      message: expect.stringMatching(/NONE/),
    });
    expect(profileProblem(profile([IM.LINK_ENCRYPTION]), context())).toMatchObject({
      field: 'input.protection.inMotion',
      message: expect.stringMatching(/OTE-HQ-100G-1 cannot/),
    });
    expect(profileProblem(profile([], AtRestProtection.ENCRYPTED), context())).toMatchObject({
      field: 'input.protection.atRest',
      message: expect.stringMatching(/DIRECT.*no copy/),
    });
  });

  it('holds a mount to the operator’s minimum for the dataset’s sensitivity', () => {
    const minimum = { inMotionAnyOf: [IM.NFS_KRB5P, IM.NFS_TLS], atRest: AtRestProtection.ENCRYPTED };
    expect(profileProblem(profile([]), context({ minimum }))).toMatchObject({
      policy: 'PROTECTION_MINIMUM',
      field: 'input.protection.inMotion',
    });
    expect(profileProblem(profile([IM.NFS_TLS]), context({ minimum }))).toBeNull();
    expect(profileProblem(profile([IM.NFS_TLS]), context({ minimum, design: 'REPLICATION' }))).toMatchObject({
      policy: 'PROTECTION_MINIMUM',
      field: 'input.protection.atRest',
    });
  });

  it('states the post-quantum standing of each measure honestly', () => {
    const tls = postQuantumStandings(profile([IM.NFS_TLS]), 'DIRECT', false);
    expect(tls).toEqual([
      expect.objectContaining({ standing: PostQuantumStanding.CLASSICAL, statement: expect.stringMatching(/classical ECDHE/) }),
    ]);
    expect(postQuantumStandings(profile([IM.NFS_TLS]), 'DIRECT', true)[0]).toMatchObject({
      standing: PostQuantumStanding.HYBRID,
      statement: expect.stringMatching(/ML-KEM/),
    });
    expect(postQuantumStandings(profile([IM.NFS_KRB5P]), 'DIRECT', false)[0]).toMatchObject({
      standing: PostQuantumStanding.SYMMETRIC,
      statement: expect.stringMatching(/AES-256/),
    });
    const copy = postQuantumStandings(profile([IM.NFS_KRB5P]), 'REPLICATION', false);
    expect(overallStanding(copy)).toBe(PostQuantumStanding.NOT_PROTECTED);
    expect(overallStanding(postQuantumStandings(profile([IM.NFS_KRB5P], AtRestProtection.ENCRYPTED), 'REPLICATION', false))).toBe(
      PostQuantumStanding.SYMMETRIC,
    );
    expect(measuresOf(profile([IM.NFS_TLS], AtRestProtection.ENCRYPTED))).toEqual(['NFS_TLS', 'AT_REST_ENCRYPTION']);
    expect(measuresOf(profile([]))).toEqual(['NONE']);
  });
});

describe('envelope encryption', () => {
  it('wraps a data key under the KEK and the mount, and unwraps it under those only', () => {
    const kek = randomBytes(32);
    const key = newDataKey();
    const wrapped = wrapDataKey(kek, key, 'mount-a');
    expect(wrapped.includes(key)).toBe(false);
    expect(unwrapDataKey(kek, wrapped, 'mount-a').equals(key)).toBe(true);
    expect(() => unwrapDataKey(randomBytes(32), wrapped, 'mount-a')).toThrow(EnvelopeError);
    expect(() => unwrapDataKey(kek, wrapped, 'mount-b')).toThrow(EnvelopeError);
    const flipped = Buffer.from(wrapped);
    flipped[20] ^= 1;
    expect(() => unwrapDataKey(kek, flipped, 'mount-a')).toThrow(EnvelopeError);
    expect(kekId(kek)).toMatch(/^kek-[0-9a-f]{16}$/);
    expect(kekId(kek)).not.toContain(kek.toString('hex').slice(0, 16));
    expect(dataKeyFingerprint(key)).toHaveLength(64);
  });
});

describe('attestations', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const payload: AttestationPayload = {
    type: ATTESTATION_TYPE,
    claim: AttestationClaim.NODE_WIPED,
    mountId: '3f2b8c1e-5d4a-4e2b-9c1f-7a6b5c4d3e2f',
    datasetId: '1f2b8c1e-5d4a-4e2b-9c1f-7a6b5c4d3e2f',
    subject: { kind: AttestationSubjectKind.GPU_NODE, id: '2f2b8c1e-5d4a-4e2b-9c1f-7a6b5c4d3e2f' },
    at: '2027-05-01T06:00:00.000Z',
    evidence: { mountPoint: '/mnt/apn/kits19', unmounted: true, pageCacheDropped: true, scratchWiped: true },
  };

  it('signs the canonical JSON and verifies it under the registered key only', () => {
    const signed = signAttestation(payload, privateKey);
    expect(signed.payload).toBe(canonicalJson(JSON.parse(signed.payload)));
    expect(signed.payload.startsWith('{"at":"2027-05-01T06:00:00.000Z","claim":"NODE_WIPED","datasetId"')).toBe(true);
    expect(signatureValid(signed.payload, signed.signature, publicPem)).toBe(true);
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(signatureValid(signed.payload, signed.signature, other)).toBe(false);
    expect(signatureValid(signed.payload.replace('true', 'false'), signed.signature, publicPem)).toBe(false);
    expect(parseAttestation(signed.payload)).toEqual(payload);
  });

  it('refuses payloads that are not canonical or do not carry their claim’s evidence, naming the field', () => {
    const parsed = (p: unknown) => parseAttestation(typeof p === 'string' ? p : canonicalJson(p));
    expect(parsed(JSON.stringify(payload, null, 2))).toMatchObject({ field: 'input.payload', message: expect.stringMatching(/canonical/) });
    expect(parsed({ ...payload, evidence: { ...payload.evidence, scratchWiped: false } })).toMatchObject({
      field: 'input.payload.evidence.scratchWiped',
    });
    expect(parsed({ ...payload, at: 'yesterday' })).toMatchObject({ field: 'input.payload.at' });
    expect(parsed({ ...payload, claim: AttestationClaim.COPY_DESTROYED })).toMatchObject({ field: 'input.payload.subject' });
    expect(isProblem(parsed(payload) as never)).toBe(false);
  });

  it('registers Ed25519 public keys only', () => {
    expect(attestationKeyProblem(publicPem)).toEqual({ pem: publicPem });
    expect(attestationKeyProblem('nonsense')).toMatchObject({ problem: expect.stringMatching(/PEM/) });
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(attestationKeyProblem(ec)).toMatchObject({ problem: expect.stringMatching(/Ed25519/) });
  });
});
