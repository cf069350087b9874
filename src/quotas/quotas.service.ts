import { Injectable } from '@nestjs/common';
import { AuditService } from '../audit/audit.service';
import { badInput, forbidden, notFound, pgErrorCode, PgErrorCode } from '../core/errors/app-error';
import type { Principal } from '../tenancy/principal';
import { TenancyService } from '../tenancy/tenancy.service';
import { TopologyService } from '../topology/topology.service';
import { TenantQuota, TenantQuotaInput } from './quota.models';
import {
  applyQuotaChanges,
  monthOf,
  NO_QUOTA,
  parseMonth,
  quotaChanges,
  remainingChannelHours,
  type Month,
  type QuotaLimits,
} from './quota-limits';
import { QuotasRepository } from './quotas.repository';
import { isTenantKey } from '../core/visibility';

const SECONDS_PER_HOUR = 3600;

/**
 * Per-tenant quotas: operators set them, tenants read their own with their usage. PostgreSQL enforces them
 * on every write of a reservation or a link allocation (migration TenantQuotas); this service only stores
 * them and shows where a tenant stands.
 */
@Injectable()
export class QuotasService {
  constructor(
    private readonly quotas: QuotasRepository,
    private readonly tenancy: TenancyService,
    private readonly topology: TopologyService,
    private readonly audit: AuditService,
  ) {}

  async setQuota(principal: Principal, tenantId: string, input: TenantQuotaInput): Promise<TenantQuota> {
    const changes = quotaChanges(input);
    if (!(await this.tenancy.exists(tenantId))) throw notFound('Tenant', tenantId);
    try {
      await this.quotas.transaction(async (m) => {
        await this.quotas.lock(m, tenantId);
        const before = (await this.quotas.find(tenantId, m))?.limits ?? { ...NO_QUOTA };
        const after = applyQuotaChanges(before, changes);
        if (sameLimits(before, after)) return;
        await this.quotas.write(m, tenantId, after, principal.actor);
        await this.audit.append(m, {
          actor: principal.actor,
          action: 'tenant-quota.set',
          entityType: 'tenant',
          entityId: tenantId,
          data: { from: before, to: after },
        });
      });
    } catch (error) {
      // The tenant was deleted in the meantime.
      if (pgErrorCode(error) === PgErrorCode.FOREIGN_KEY_VIOLATION) throw notFound('Tenant', tenantId);
      throw error;
    }
    return this.view(tenantId, monthOf(new Date()));
  }

  /** A tenant's quotas and usage in a month (this one by default): any tenant's for an operator, its own for a tenant. */
  async quota(principal: Principal, tenantId: string | null, month: string | null): Promise<TenantQuota> {
    const target = await this.readableTenant(principal, tenantId);
    return this.view(target, month === null ? monthOf(new Date()) : parseMonth('month', month));
  }

  private async readableTenant(principal: Principal, requested: string | null): Promise<string> {
    if (isTenantKey(principal)) {
      if (requested !== null && requested !== principal.tenantId) {
        throw forbidden('A TENANT key reads the quota of its own tenant only; omit tenantId.');
      }
      return principal.tenantId as string;
    }
    if (requested === null) throw badInput('tenantId', 'tenantId: name the tenant whose quota to read.');
    if (!(await this.tenancy.exists(requested))) throw notFound('Tenant', requested);
    return requested;
  }

  private async view(tenantId: string, month: Month): Promise<TenantQuota> {
    const [snapshot, stored, holds, spans] = await Promise.all([
      this.topology.snapshot({ maxAgeMs: 1000 }),
      this.quotas.find(tenantId),
      this.quotas.heldCount(tenantId),
      this.quotas.spanSeconds(tenantId, month),
    ]);
    const limits = stored?.limits ?? NO_QUOTA;
    return {
      tenantId,
      ...limits,
      updatedAt: stored?.updatedAt ?? null,
      usage: {
        month: month.label,
        holds,
        spans: spans
          .map(({ linkId, seconds }) => {
            const channelHours = seconds / SECONDS_PER_HOUR;
            return {
              linkId,
              linkCode: snapshot.links.get(linkId)?.code ?? linkId,
              channelHours,
              remainingChannelHours: remainingChannelHours(limits.maxChannelHoursPerSpanPerMonth, channelHours),
            };
          })
          .sort((a, b) => a.linkCode.localeCompare(b.linkCode)),
      },
    };
  }
}

function sameLimits(a: QuotaLimits, b: QuotaLimits): boolean {
  return (
    a.maxConcurrentHolds === b.maxConcurrentHolds &&
    a.maxWindowSeconds === b.maxWindowSeconds &&
    a.maxChannelHoursPerSpanPerMonth === b.maxChannelHoursPerSpanPerMonth
  );
}
