import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Connection } from '../core/graphql/pagination';
import { Role } from './tenancy.entities';

registerEnumType(Role, {
  name: 'Role',
  description: 'OPERATOR: everything. TENANT: its own tenant’s objects. BILLING: usage and invoices of all tenants.',
});

@ObjectType({ description: 'An enterprise using GPUs over the APN.' })
export class Tenant {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() createdAt!: Date;
}

@ObjectType({ description: 'A new API key. The secret is shown this once and never again; store it now.' })
export class CreatedApiKey {
  @Field(() => ID) id!: string;
  @Field({ description: 'Send as "Authorization: Bearer <secret>".' }) secret!: string;
  @Field(() => Role) role!: Role;
  @Field(() => ID, { nullable: true }) tenantId!: string | null;
}

@ObjectType({ description: 'An API key: whom it acts for and whether it still works. Its secret is never shown again.' })
export class ApiKey {
  @Field(() => ID) id!: string;
  @Field(() => Role) role!: Role;
  @Field(() => ID, { nullable: true, description: 'The tenant a TENANT key acts for; null for OPERATOR and BILLING keys.' })
  tenantId!: string | null;
  @Field(() => String, { nullable: true }) label!: string | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true, description: 'When the key was revoked; a revoked key authenticates nothing.' })
  revokedAt!: Date | null;
}

@ObjectType()
export class ApiKeyConnection extends Connection(ApiKey, 'ApiKey') {}

@ObjectType({ description: 'The caller, as the service sees it.' })
export class Me {
  @Field(() => Role) role!: Role;
  @Field(() => ID, { nullable: true }) tenantId!: string | null;
  @Field(() => ID, { nullable: true }) keyId!: string | null;
}
