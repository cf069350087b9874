/**
 * Protection profiles of mounts (IOWN RIM §2.2.1: data in motion, and at rest in the data center), which
 * combinations can work, the operators' minimum per dataset sensitivity, and the honest post-quantum
 * standing of each measure. Pure: no Nest, no database.
 */

export enum InMotionProtection {
  /** sec=sys over the lightpath: nothing encrypts the NFS traffic. */
  NONE = 'NONE',
  /** RPCSEC_GSS Kerberos privacy: every RPC encrypted end to end with the session's AES-256 key. */
  NFS_KRB5P = 'NFS_KRB5P',
  /** RPC-with-TLS (RFC 9289), mutual TLS with certificates this service issues. */
  NFS_TLS = 'NFS_TLS',
  /** The transponders at both ends of the lightpath encrypt the optical payload. */
  LINK_ENCRYPTION = 'LINK_ENCRYPTION',
}

export enum AtRestProtection {
  NONE = 'NONE',
  /** The replica or cache copy is encrypted with a per-mount data key (envelope encryption). */
  ENCRYPTED = 'ENCRYPTED',
}

export enum PostQuantumStanding {
  /** Nothing to stand: no cryptography protects this. */
  NOT_PROTECTED = 'NOT_PROTECTED',
  /** Symmetric cryptography with 256-bit keys throughout: Grover's algorithm leaves 128-bit strength. */
  SYMMETRIC = 'SYMMETRIC',
  /** A hybrid key exchange (classical + ML-KEM, FIPS 203): a quantum computer must break both. */
  HYBRID = 'HYBRID',
  /** A classical public-key exchange (ECDHE): a recording could be decrypted by a future quantum computer. */
  CLASSICAL = 'CLASSICAL',
}

export interface ProtectionProfile {
  /** Sorted, without duplicates; [NONE] alone when nothing protects the path. */
  readonly inMotion: readonly InMotionProtection[];
  readonly atRest: AtRestProtection;
}

/** What the operator requires of every mount of datasets of one sensitivity. */
export interface ProtectionMinimum {
  /** At least one of these in-motion measures; empty requires none. */
  readonly inMotionAnyOf: readonly InMotionProtection[];
  /** For REPLICATION and CACHE: whether the copy must be ENCRYPTED. */
  readonly atRest: AtRestProtection;
}

export const UNPROTECTED: ProtectionProfile = Object.freeze({ inMotion: [InMotionProtection.NONE], atRest: AtRestProtection.NONE });

const ORDER = [InMotionProtection.NONE, InMotionProtection.NFS_KRB5P, InMotionProtection.NFS_TLS, InMotionProtection.LINK_ENCRYPTION];

export interface ProfileProblem {
  field: string;
  message: string;
  /** Set when the profile is below the operator's minimum: a policy refusal rather than a malformed request. */
  policy?: 'PROTECTION_MINIMUM';
}

export interface ProfileContext {
  design: 'DIRECT' | 'REPLICATION' | 'CACHE';
  protocol: 'NFS_TCP' | 'NFS_RDMA';
  sensitivity: string;
  /** Whether both transponders of the lightpath can encrypt; the endpoints that cannot, by code. */
  lightpath: { encrypts: boolean; plainEndpoints: string[] };
  minimum: ProtectionMinimum | null;
}

/** Sorts, removes duplicates, and turns an empty list into [NONE]. Does not judge. */
export function normalizeInMotion(measures: readonly InMotionProtection[]): InMotionProtection[] {
  const unique = [...new Set(measures)];
  return unique.length === 0 ? [InMotionProtection.NONE] : unique.sort((a, b) => ORDER.indexOf(a) - ORDER.indexOf(b));
}

/**
 * The first reason a profile cannot protect this mount, or null. `field` prefixes the field names (e.g.
 * `input.protection`). Combinations that cannot work are refused with the reason; so is a profile below
 * the operator's minimum for the dataset's sensitivity.
 */
export function profileProblem(profile: ProtectionProfile, context: ProfileContext, field = 'input.protection'): ProfileProblem | null {
  const inMotion = `${field}.inMotion`;
  const atRest = `${field}.atRest`;
  const measures = profile.inMotion;
  if (measures.includes(InMotionProtection.NONE) && measures.length > 1) {
    return {
      field: inMotion,
      message: `${inMotion}: NONE says nothing protects the path; it cannot stand with ${measures.filter((m) => m !== InMotionProtection.NONE).join(', ')}.`,
    };
  }
  if (measures.includes(InMotionProtection.NFS_TLS) && context.protocol === 'NFS_RDMA') {
    return {
      field: inMotion,
      message: `${inMotion}: NFS_TLS cannot run over NFS_RDMA: RPC-with-TLS (RFC 9289) is defined for TCP only, and RPC-over-RDMA moves data by direct placement outside any TLS session. Use protocol NFS_TCP, or NFS_KRB5P, which works over RDMA.`,
    };
  }
  if (measures.includes(InMotionProtection.LINK_ENCRYPTION) && !context.lightpath.encrypts) {
    return {
      field: inMotion,
      message: `${inMotion}: LINK_ENCRYPTION needs transponders that encrypt at both ends of the lightpath, and ${context.lightpath.plainEndpoints.join(' and ')} cannot. Book a lightpath with requireLinkEncryption between encrypting endpoints, or choose NFS_KRB5P or NFS_TLS.`,
    };
  }
  if (profile.atRest === AtRestProtection.ENCRYPTED && context.design === 'DIRECT') {
    return {
      field: atRest,
      message: `${atRest}: a DIRECT mount stores no copy at the data center, so there is nothing to encrypt at rest; leave atRest NONE.`,
    };
  }
  const minimum = context.minimum;
  if (minimum) {
    if (minimum.inMotionAnyOf.length > 0 && !measures.some((m) => minimum.inMotionAnyOf.includes(m))) {
      return {
        field: inMotion,
        policy: 'PROTECTION_MINIMUM',
        message: `Policy PROTECTION_MINIMUM: ${context.sensitivity} data must travel under at least one of ${minimum.inMotionAnyOf.join(', ')}; ${inMotion} is ${measures.join(', ')}.`,
      };
    }
    if (minimum.atRest === AtRestProtection.ENCRYPTED && context.design !== 'DIRECT' && profile.atRest !== AtRestProtection.ENCRYPTED) {
      return {
        field: atRest,
        policy: 'PROTECTION_MINIMUM',
        message: `Policy PROTECTION_MINIMUM: copies of ${context.sensitivity} data must be ENCRYPTED at rest; ${atRest} is ${profile.atRest}.`,
      };
    }
  }
  return null;
}

export interface MeasureStanding {
  measure: string;
  standing: PostQuantumStanding;
  statement: string;
}

/**
 * What each measure of a profile stands on against a quantum adversary, said plainly. `hybridTls` is the
 * operator's statement (APN_TLS_HYBRID_KEX) that the nodes' TLS stacks negotiate X25519MLKEM768; this
 * service cannot observe the handshake.
 */
export function postQuantumStandings(profile: ProtectionProfile, design: ProfileContext['design'], hybridTls: boolean): MeasureStanding[] {
  const out: MeasureStanding[] = [];
  for (const m of profile.inMotion) {
    switch (m) {
      case InMotionProtection.NONE:
        out.push({
          measure: m,
          standing: PostQuantumStanding.NOT_PROTECTED,
          statement: 'In motion: not protected (sec=sys); anyone who can tap the path reads the data, with or without a quantum computer.',
        });
        break;
      case InMotionProtection.NFS_KRB5P:
        out.push({
          measure: m,
          standing: PostQuantumStanding.SYMMETRIC,
          statement:
            'Kerberos privacy with aes256-cts-hmac-sha384-192: symmetric AES-256 throughout, keys from keytabs (no PKINIT), so no public-key step a quantum computer could break; Grover leaves about 128-bit strength.',
        });
        break;
      case InMotionProtection.NFS_TLS:
        out.push(
          hybridTls
            ? {
                measure: m,
                standing: PostQuantumStanding.HYBRID,
                statement:
                  'TLS 1.3 with the hybrid X25519MLKEM768 key exchange (ML-KEM, FIPS 203), as the operator configured the nodes (APN_TLS_HYBRID_KEX); AES-256-GCM on the records. Certificates are classical signatures, which matter only while a session is set up.',
              }
            : {
                measure: m,
                standing: PostQuantumStanding.CLASSICAL,
                statement:
                  'TLS 1.3 with a classical ECDHE key exchange: traffic recorded today could be decrypted by a future quantum computer. Configure X25519MLKEM768 on the nodes and set APN_TLS_HYBRID_KEX to state it.',
              },
        );
        break;
      case InMotionProtection.LINK_ENCRYPTION:
        out.push({
          measure: m,
          standing: PostQuantumStanding.SYMMETRIC,
          statement:
            'The transponders encrypt the optical payload with AES-256; how they agree on keys is the vendor’s and is not observed by this service, so its post-quantum standing is only as good as that exchange.',
        });
        break;
    }
  }
  if (design !== 'DIRECT') {
    out.push(
      profile.atRest === AtRestProtection.ENCRYPTED
        ? {
            measure: 'AT_REST_ENCRYPTED',
            standing: PostQuantumStanding.SYMMETRIC,
            statement:
              'At rest in the data center: the copy is under a per-mount AES-256 data key wrapped with AES-256-GCM by the key-encryption key; symmetric only.',
          }
        : {
            measure: 'AT_REST_NONE',
            standing: PostQuantumStanding.NOT_PROTECTED,
            statement: 'At rest in the data center: the copy is not encrypted.',
          },
    );
  }
  return out;
}

/** The weakest standing among the measures: what the profile as a whole can claim. */
export function overallStanding(standings: readonly MeasureStanding[]): PostQuantumStanding {
  const rank = [
    PostQuantumStanding.NOT_PROTECTED,
    PostQuantumStanding.CLASSICAL,
    PostQuantumStanding.HYBRID,
    PostQuantumStanding.SYMMETRIC,
  ];
  const inMotion = standings.filter((s) => !s.measure.startsWith('AT_REST'));
  // In motion, measures stack: the strongest one protects the path. At rest stands alone.
  const bestInMotion = inMotion.reduce(
    (best, s) => (rank.indexOf(s.standing) > rank.indexOf(best) ? s.standing : best),
    PostQuantumStanding.NOT_PROTECTED,
  );
  const atRest = standings.find((s) => s.measure.startsWith('AT_REST'));
  if (!atRest) return bestInMotion;
  return rank.indexOf(atRest.standing) < rank.indexOf(bestInMotion) ? atRest.standing : bestInMotion;
}

/** The run measures (SecurityMeasure names) a profile puts in force. */
export function measuresOf(profile: ProtectionProfile): string[] {
  const out: string[] = profile.inMotion.filter((m) => m !== InMotionProtection.NONE);
  if (profile.atRest === AtRestProtection.ENCRYPTED) out.push('AT_REST_ENCRYPTION');
  return out.length === 0 ? ['NONE'] : out;
}
