import { Controller, Get, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Readable } from 'node:stream';
import { AppError, ErrorCode, badInput, httpStatusOf } from '../core/errors/app-error';
import { isUuid } from '../core/ids';
import { canSee, visibleTenant } from '../core/visibility';
import type { Principal } from '../tenancy/principal';
import { Role } from '../tenancy/tenancy.entities';
import { AuditService, type ExportView } from './audit.service';

const SEQ = /^[1-9]\d{0,17}$/;
const PARAMETERS = new Set(['from', 'to', 'tenantId']);

/**
 * GET /audit/export?from=<seq>&to=<seq>[&tenantId=]: a slice of the audit log as NDJSON, in chain order,
 * streamed in pages of 5,000 (memory stays flat however long the slice). `from` defaults to 1 and `to` to
 * the last linked entry. An operator's export shows every entry, or, with tenantId, what that tenant's
 * export shows; a tenant's shows its own entries in full and the others as their hashes only ("withheld"),
 * so that `npm run audit:verify` checks the slice link by link up to a checkpoint's head without revealing
 * other tenants' entries. BILLING keys may not export. Refusals answer `{ error: { code, message, field } }`
 * with the status of the code, change nothing, and append `audit.refused`.
 */
@Controller('audit')
export class AuditExportController {
  constructor(private readonly audit: AuditService) {}

  @Get('export')
  async export(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const principal = (request as FastifyRequest & { principal?: Principal | null }).principal;
    try {
      if (!principal) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Not authenticated: send the header Authorization: Bearer <token>.');
      const { view, from, to } = await this.checked(principal, request.query as Record<string, unknown>);
      await this.audit.link();
      const head = await this.audit.head();
      const last = head === null ? '0' : to === null || BigInt(to) > BigInt(head.seq) ? head.seq : to;
      const body = Readable.from(this.audit.exportLines(view, from, last));
      const name = view.kind === 'tenant' ? `audit-${view.tenantId}-${from}-${last}.ndjson` : `audit-${from}-${last}.ndjson`;
      await reply
        .header('content-type', 'application/x-ndjson')
        .header('content-disposition', `attachment; filename="${name}"`)
        .header('cache-control', 'no-store')
        .send(body);
    } catch (error) {
      const appError = error instanceof AppError ? error : null;
      if (!appError) request.log.error({ err: error }, 'audit export failed');
      const code = appError?.code ?? ErrorCode.INTERNAL;
      const field = appError?.extensions.field;
      await reply
        .code(httpStatusOf(code))
        .send({ error: { code, message: appError?.message ?? 'The export failed unexpectedly.', ...(field ? { field } : {}) } });
    }
  }

  /** The view and range asked for, or an audited refusal naming the parameter. */
  private async checked(
    principal: Principal,
    query: Record<string, unknown>,
  ): Promise<{ view: ExportView; from: string; to: string | null }> {
    const refuse = (error: AppError) =>
      this.audit.refuse(principal, { action: 'audit.refused', operation: 'auditExport', entityType: 'audit' }, error);
    if (principal.role === Role.BILLING)
      await refuse(
        new AppError(
          ErrorCode.FORBIDDEN,
          'The audit log is exported by OPERATOR keys and by tenants (their own entries); your token has role BILLING.',
        ),
      );
    for (const name of Object.keys(query)) {
      if (!PARAMETERS.has(name))
        await refuse(badInput(name, `${name} is not a parameter of /audit/export; give from, to and (operators) tenantId.`));
      if (typeof query[name] !== 'string') await refuse(badInput(name, `${name} must be given once.`));
    }
    const seq = async (name: 'from' | 'to'): Promise<string | null> => {
      const value = query[name] as string | undefined;
      if (value === undefined || value === '') return null;
      if (!SEQ.test(value))
        await refuse(
          badInput(name, `${name} must be a sequence number of the audit chain (1, 2, …); got ${JSON.stringify(value.slice(0, 40))}.`),
        );
      return value;
    };
    const from = (await seq('from')) ?? '1';
    const to = await seq('to');
    if (to !== null && BigInt(to) < BigInt(from)) await refuse(badInput('to', `to (${to}) must not be before from (${from}).`));
    const tenantId = typeof query.tenantId === 'string' && query.tenantId !== '' ? query.tenantId : null;
    if (tenantId !== null && !isUuid(tenantId)) await refuse(badInput('tenantId', 'tenantId must be a tenant id (a UUID).'));
    if (tenantId !== null && !canSee(principal, tenantId))
      await refuse(
        new AppError(ErrorCode.FORBIDDEN, 'A tenant exports its own view of the log only; omit tenantId.', { field: 'tenantId' }),
      );
    // A tenant's own view whatever it names; an operator's, of the tenant named or of every entry.
    const viewed = visibleTenant(principal, tenantId);
    return { view: viewed !== null ? { kind: 'tenant', tenantId: viewed } : { kind: 'operator' }, from, to };
  }
}
