import { Role } from './tenancy.entities';

/** Who is calling: the operator bootstrap token, or an API key with its role and (for tenants) tenant. */
export interface Principal {
  readonly role: Role;
  readonly tenantId: string | null;
  readonly keyId: string | null;
  /** Stable, non-secret name for history and audit entries, e.g. `key:<uuid>` or `admin-token`. */
  readonly actor: string;
}

export const SYSTEM_ACTOR = 'system';
