import { Role } from './tenancy.entities';

/** Who is calling: the operator bootstrap token, or an API key with its role and (for tenants) tenant. */
export interface Principal {
  readonly role: Role;
  readonly tenantId: string | null;
  readonly keyId: string | null;
  /** Stable, non-secret name for history and audit entries, e.g. `key:<uuid>` or `admin-token`. */
  readonly actor: string;
  /**
   * For an API key: which of its secrets authenticated (the SHA-256 of the token, hex; never logged) and
   * until when that secret works (its expiry, or the end of a rotation's overlap), or null: no end.
   */
  readonly credential?: { readonly tokenSha256: string; readonly validUntil: Date | null };
}

export const SYSTEM_ACTOR = 'system';
