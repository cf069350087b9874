import { Field, ID, Int, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { AuditService } from './audit.service';

@ObjectType({ description: 'Result of recomputing the audit hash chain.' })
export class AuditVerification {
  @Field() ok!: boolean;
  @Field(() => Int, { description: 'Entries in the chain that were checked.' }) entries!: number;
  @Field(() => Int, { description: 'Entries of transactions still running, not yet in the chain.' }) pending!: number;
  @Field(() => ID, { nullable: true, description: 'Sequence number of the first entry that does not verify.' })
  firstBrokenSeq!: string | null;
  @Field(() => String, { nullable: true }) reason!: string | null;
}

@Resolver()
export class AuditResolver {
  constructor(private readonly audit: AuditService) {}

  @Query(() => AuditVerification, { description: 'Verifies the whole hash chain of the audit log. Operator only.' })
  @Roles(Role.OPERATOR)
  verifyAuditLog(): Promise<AuditVerification> {
    return this.audit.verify();
  }
}
