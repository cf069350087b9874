import { Field, ID, ObjectType, registerEnumType } from '@nestjs/graphql';
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

@ObjectType({ description: 'The caller, as the service sees it.' })
export class Me {
  @Field(() => Role) role!: Role;
  @Field(() => ID, { nullable: true }) tenantId!: string | null;
  @Field(() => ID, { nullable: true }) keyId!: string | null;
}
