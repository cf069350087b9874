/**
 * Tenant visibility, the one rule every capability applies: a TENANT key sees and acts on its own tenant's
 * objects only; operator (and billing) callers are not confined to a tenant. An object the caller may not
 * see is answered exactly as one that does not exist (NOT_FOUND), so ids of other tenants leak nothing.
 *
 * Typed on the shape of a caller rather than on tenancy's Principal, so that core imports no capability.
 */
export interface TenantScopedCaller {
  readonly role: string;
  readonly tenantId: string | null;
}

/** The role whose keys belong to one tenant (tenancy's Role.TENANT). */
const TENANT_ROLE = 'TENANT';

export function isTenantKey(caller: TenantScopedCaller): boolean {
  return caller.role === TENANT_ROLE;
}

/** The tenant a caller's reads are confined to: a TENANT key's own whatever it asks; otherwise the one asked for, or none (all). */
export function visibleTenant(caller: TenantScopedCaller, asked?: string | null): string | null {
  return isTenantKey(caller) ? caller.tenantId : (asked ?? null);
}

/** Whether the caller may see an object of `ownerTenantId` (null: an object of no tenant, which a TENANT key does not see). */
export function canSee(caller: TenantScopedCaller, ownerTenantId: string | null): boolean {
  return !isTenantKey(caller) || ownerTenantId === caller.tenantId;
}

/**
 * The tenant a call acts for when the caller may name one: a TENANT key's own (naming another is refused
 * with `refusal`), otherwise the one named (null if none).
 */
export function actingTenant(caller: TenantScopedCaller, named: string | null | undefined, refusal: () => Error): string | null {
  if (!isTenantKey(caller)) return named ?? null;
  if (named && named !== caller.tenantId) throw refusal();
  return caller.tenantId;
}
