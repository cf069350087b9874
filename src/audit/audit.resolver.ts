import { Args, Field, ID, Int, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { Connection } from '../core/graphql/pagination';
import { JSONScalar } from '../core/graphql/scalars';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { AUDIT_ENTITY_ID_MAX, AUDIT_PAGE_MAX, AuditEntryPage, AuditService } from './audit.service';

@ObjectType({ description: 'Result of recomputing the audit hash chain.' })
export class AuditVerification {
  @Field() ok!: boolean;
  @Field(() => Int, { description: 'Entries in the chain that were checked.' }) entries!: number;
  @Field(() => Int, { description: 'Entries of transactions still running, not yet in the chain.' }) pending!: number;
  @Field(() => ID, { nullable: true, description: 'Sequence number of the first entry that does not verify.' })
  firstBrokenSeq!: string | null;
  @Field(() => String, { nullable: true }) reason!: string | null;
}

@ObjectType({ description: 'One entry of the hash-chained audit log, with the hashes that chain it (docs/audit.md).' })
export class AuditEntry {
  @Field(() => ID, { description: 'The entry’s id (a number, in insertion order).' }) id!: string;
  @Field(() => ID, { description: 'Its place in the hash chain (1, 2, …).' }) seq!: string;
  @Field() at!: Date;
  @Field({ description: 'The time as hashed: UTC to the microsecond.' }) atText!: string;
  @Field({ description: 'Who: key:<id>, admin-token or system.' }) actor!: string;
  @Field({ description: 'What, e.g. reservation.created, mount.detached, api-key.rotated, protection.refused.' }) action!: string;
  @Field() entityType!: string;
  @Field(() => String, { nullable: true }) entityId!: string | null;
  @Field(() => ID, { nullable: true, description: 'The tenant whose object the entry is about; null for none.' }) tenantId!: string | null;
  @Field(() => JSONScalar) data!: Record<string, unknown>;
  @Field({ description: 'SHA-256 over the entry’s fields.' }) contentHash!: string;
  @Field({ description: 'The hash of the entry before it (64 zeros before the first).' }) prevHash!: string;
  @Field({ description: 'SHA-256 over prevHash, seq and contentHash.' }) hash!: string;
}

@ObjectType()
export class AuditEntryConnection extends Connection(AuditEntry, 'AuditEntry') {}

@Resolver()
export class AuditResolver {
  constructor(private readonly audit: AuditService) {}

  @Query(() => AuditVerification, { description: 'Verifies the whole hash chain of the audit log. Operator only.' })
  @Roles(Role.OPERATOR)
  verifyAuditLog(): Promise<AuditVerification> {
    return this.audit.verify();
  }

  @Query(() => AuditEntryConnection, {
    description:
      'Audit entries, newest first. An operator reads every entry; a tenant the entries about its own objects (reservations, mounts, ' +
      'datasets, GPU allocations, runs, API keys, its tenant record) and never another tenant’s: an entityId of another tenant’s ' +
      'object lists nothing, as one that names nothing. A bad first or a cursor this service did not issue is BAD_USER_INPUT and audited.',
  })
  @Roles(Role.OPERATOR, Role.TENANT)
  auditLog(
    @CurrentPrincipal() principal: Principal,
    @Args('entityId', {
      type: () => String,
      nullable: true,
      description: `Only entries about this object (at most ${AUDIT_ENTITY_ID_MAX} characters).`,
    })
    entityId?: string,
    @Args('first', { type: () => Int, nullable: true, defaultValue: 20, description: `1 to ${AUDIT_PAGE_MAX}.` }) first = 20,
    @Args('after', { type: () => String, nullable: true }) after?: string,
  ): Promise<AuditEntryPage> {
    return this.audit.list(principal, { entityId, first, after });
  }
}
