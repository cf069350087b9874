import { Args, ID, Mutation, Query, Resolver } from '@nestjs/graphql';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { TenantQuota, TenantQuotaInput } from './quota.models';
import { QuotasService } from './quotas.service';

@Resolver()
export class QuotasResolver {
  constructor(private readonly quotas: QuotasService) {}

  @Mutation(() => TenantQuota, {
    description:
      'Sets a tenant’s quotas, enforced by the database on every booking, extension and reroute: a refusal is NO_CAPACITY ' +
      'naming the quota. A lower quota refuses growth only: what the tenant holds already stays, and committing a hold is never refused. Audited.',
  })
  @Roles(Role.OPERATOR)
  setTenantQuota(
    @Args('tenantId', { type: () => ID }) tenantId: string,
    @Args('input') input: TenantQuotaInput,
    @CurrentPrincipal() principal: Principal,
  ): Promise<TenantQuota> {
    return this.quotas.setQuota(principal, tenantId, input);
  }

  @Query(() => TenantQuota, {
    description: 'A tenant’s quotas and its usage of them. Operators name any tenant; a tenant reads its own (tenantId may be omitted).',
  })
  @Roles(Role.OPERATOR, Role.TENANT)
  tenantQuota(
    @CurrentPrincipal() principal: Principal,
    @Args('tenantId', { type: () => ID, nullable: true }) tenantId?: string | null,
    @Args('month', {
      type: () => String,
      nullable: true,
      description: 'YYYY-MM (UTC) in which to count channel-hours; default: this month.',
    })
    month?: string | null,
  ): Promise<TenantQuota> {
    return this.quotas.quota(principal, tenantId ?? null, month ?? null);
  }
}
