import { Args, ID, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import { pageSize } from '../core/graphql/pagination';
import type { Principal } from './principal';
import { CurrentPrincipal, Roles } from './roles';
import { Role } from './tenancy.entities';
import { ApiKey, ApiKeyConnection, CreatedApiKey, Me, RotatedApiKey, Tenant } from './tenancy.models';
import { API_KEY_MAX_OVERLAP_SECONDS, TenancyService } from './tenancy.service';

@Resolver()
export class TenancyResolver {
  constructor(private readonly tenancy: TenancyService) {}

  @Query(() => Me)
  me(@CurrentPrincipal() principal: Principal): Me {
    return { role: principal.role, tenantId: principal.tenantId, keyId: principal.keyId };
  }

  @Query(() => [Tenant])
  @Roles(Role.OPERATOR, Role.BILLING)
  tenants(): Promise<Tenant[]> {
    return this.tenancy.tenants();
  }

  @Mutation(() => Tenant)
  @Roles(Role.OPERATOR)
  createTenant(@Args('name') name: string, @CurrentPrincipal() principal: Principal): Promise<Tenant> {
    return this.tenancy.createTenant(principal, name);
  }

  @Mutation(() => CreatedApiKey, { description: 'Creates an API key; its secret is shown once. Refusals are audited (api-key.refused).' })
  @Roles(Role.OPERATOR)
  createApiKey(
    @Args('role', { type: () => Role }) role: Role,
    @Args('tenantId', { type: () => ID, nullable: true }) tenantId: string | null,
    @Args('label', { type: () => String, nullable: true }) label: string | null,
    @CurrentPrincipal() principal: Principal,
    @Args('expiresAt', {
      type: () => Date,
      nullable: true,
      description:
        'When the key stops working: at least a minute from now and at most APN_API_KEY_MAX_LIFETIME_S (default 366 days) from now. Omitted: it does not expire.',
    })
    expiresAt?: Date | null,
  ): Promise<CreatedApiKey> {
    return this.tenancy.createApiKey(principal, role, tenantId ?? null, label ?? null, expiresAt ?? null);
  }

  @Mutation(() => RotatedApiKey, {
    description:
      'Gives a key a new secret without downtime: the old secret keeps working for overlapSeconds (0 to 604800, 7 days), or until the key’s expiry if earlier, then is UNAUTHENTICATED. ' +
      'Operators rotate any key; a tenant, its own tenant’s keys. Revoked and expired keys are not rotated (INVALID_STATE). Refusals are audited.',
  })
  @Roles(Role.OPERATOR, Role.TENANT)
  rotateApiKey(
    @Args('id', { type: () => ID }) id: string,
    @Args('overlapSeconds', { type: () => Int, description: `How long the old secret keeps working: 0 to ${API_KEY_MAX_OVERLAP_SECONDS}.` })
    overlapSeconds: number,
    @CurrentPrincipal() principal: Principal,
    @Args('expiresAt', {
      type: () => Date,
      nullable: true,
      description: 'The new secret’s expiry, bounded as at creation; omitted: the key’s current expiry.',
    })
    expiresAt?: Date | null,
  ): Promise<RotatedApiKey> {
    return this.tenancy.rotateApiKey(principal, id, overlapSeconds, expiresAt);
  }

  @Query(() => ApiKeyConnection, {
    description: 'API keys, newest first, never their secrets. Operators see every key, or one tenant’s; a tenant sees its own.',
  })
  @Roles(Role.OPERATOR, Role.TENANT)
  apiKeys(
    @CurrentPrincipal() principal: Principal,
    @Args('tenantId', { type: () => ID, nullable: true }) tenantId?: string,
    @Args('first', { type: () => Int, nullable: true }) first?: number,
    @Args('after', { type: () => String, nullable: true }) after?: string,
  ): Promise<ApiKeyConnection> {
    return this.tenancy.apiKeys(principal, { tenantId, first: pageSize(first), after });
  }

  @Mutation(() => ApiKey, {
    description:
      'Revokes an API key: within seconds it authenticates nothing on any replica and its open subscriptions end. ' +
      'Operators revoke any key; a tenant, its own tenant’s keys. Revoking a revoked key changes nothing.',
  })
  @Roles(Role.OPERATOR, Role.TENANT)
  revokeApiKey(@Args('id', { type: () => ID }) id: string, @CurrentPrincipal() principal: Principal): Promise<ApiKey> {
    return this.tenancy.revokeApiKey(principal, id);
  }
}
