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
  @Field(() => Date, { nullable: true, description: 'When the key stops working; null: it does not expire.' }) expiresAt!: Date | null;
}

@ObjectType({ description: 'A rotated API key: its new secret, shown this once, and how long the old one still works.' })
export class RotatedApiKey {
  @Field(() => ID) id!: string;
  @Field({ description: 'The new secret; send as "Authorization: Bearer <secret>". The key id, role and tenant are unchanged.' })
  secret!: string;
  @Field(() => Date, { nullable: true, description: 'When the new secret stops working; null: it does not expire.' })
  expiresAt!: Date | null;
  @Field({
    description:
      'Until when the previous secret keeps working (now + overlapSeconds, or the key’s expiry if earlier); UNAUTHENTICATED after.',
  })
  previousSecretExpiresAt!: Date;
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
  @Field(() => Date, { nullable: true, description: 'When the current secret stops working; null: it does not expire.' })
  expiresAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'When the key was last rotated.' })
  rotatedAt!: Date | null;
  @Field(() => Date, {
    nullable: true,
    description: 'Until when the secret replaced by the last rotation keeps working; null: no rotation.',
  })
  previousSecretExpiresAt!: Date | null;
}

@ObjectType()
export class ApiKeyConnection extends Connection(ApiKey, 'ApiKey') {}

@ObjectType({ description: 'The caller, as the service sees it.' })
export class Me {
  @Field(() => Role) role!: Role;
  @Field(() => ID, { nullable: true }) tenantId!: string | null;
  @Field(() => ID, { nullable: true }) keyId!: string | null;
}
