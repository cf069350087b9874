import { Field, ID, Int, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { AuditService } from './audit.service';

@ObjectType({ description: 'Result of recomputing the audit hash chain.' })
export class AuditVerification {
  @Field() ok!: boolean;
  @Field(() => Int) entries!: number;
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
