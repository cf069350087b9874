import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import type { Principal } from './principal';
import { CurrentPrincipal, Roles } from './roles';
import { Role } from './tenancy.entities';
import { CreatedApiKey, Me, Tenant } from './tenancy.models';
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
}
