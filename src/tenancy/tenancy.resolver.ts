import { Args, ID, Int, Mutation, Query, Resolver } from '@nestjs/graphql';
import { pageSize } from '../core/graphql/pagination';
import type { Principal } from './principal';
import { CurrentPrincipal, Roles } from './roles';
import { Role } from './tenancy.entities';
import { ApiKey, ApiKeyConnection, CreatedApiKey, Me, Tenant } from './tenancy.models';
import { TenancyService } from './tenancy.service';

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

  @Mutation(() => CreatedApiKey, { description: 'Creates an API key; its secret is shown once.' })
  @Roles(Role.OPERATOR)
  createApiKey(
    @Args('role', { type: () => Role }) role: Role,
    @Args('tenantId', { type: () => ID, nullable: true }) tenantId: string | null,
    @Args('label', { type: () => String, nullable: true }) label: string | null,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CreatedApiKey> {
    return this.tenancy.createApiKey(principal, role, tenantId ?? null, label ?? null);
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
