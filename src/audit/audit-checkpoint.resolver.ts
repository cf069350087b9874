import { Args, Field, ID, Int, Mutation, ObjectType, Query, Resolver } from '@nestjs/graphql';
import { AppError } from '../core/errors/app-error';
import { Connection } from '../core/graphql/pagination';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { AuditCheckpointEntity } from './audit-checkpoint.entity';
import { AuditCheckpointService, CHECKPOINT_PAGE_MAX, type CheckpointPage } from './audit-checkpoint.service';
import { AuditService } from './audit.service';

@ObjectType({ description: 'A signed statement of the audit chain’s head (docs/audit.md).' })
export class AuditCheckpoint {
  @Field(() => ID) id!: string;
  @Field(() => ID, { description: 'The head entry’s place in the chain; also the number of entries.' }) seq!: string;
  @Field(() => ID, { description: 'The head entry’s id.' }) entryId!: string;
  @Field({ description: 'The head entry’s hash.' }) headHash!: string;
  @Field(() => ID, { description: 'Entries in the chain up to the head.' }) entries!: string;
  @Field({ description: 'When it was signed.' }) at!: Date;
  @Field({ description: 'Which key signed: ed25519:<16 hex digits of the SHA-256 of its SPKI DER>.' }) keyId!: string;
  @Field({ description: 'Ed25519 over the checkpoint message, base64.' }) signature!: string;
  @Field({ description: 'Whether the signature verifies under the service’s audit key, checked now.' }) signatureValid!: boolean;
  @Field({ description: 'The checkpoint as JSON, as npm run audit:verify reads it (--checkpoint).' }) document!: string;
}

@ObjectType()
export class AuditCheckpointConnection extends Connection(AuditCheckpoint, 'AuditCheckpoint') {}

@ObjectType({ description: 'The public key audit checkpoints are signed with.' })
export class AuditCheckpointKey {
  @Field() keyId!: string;
  @Field() algorithm!: string;
  @Field({ description: 'SPKI PEM; also GET /audit/checkpoint-key.pem, without a token.' }) publicKeyPem!: string;
}

@Resolver()
export class AuditCheckpointResolver {
  constructor(
    private readonly checkpoints: AuditCheckpointService,
    private readonly audit: AuditService,
  ) {}

  private view(c: AuditCheckpointEntity): AuditCheckpoint {
    return {
      id: c.id,
      seq: String(c.seq),
      entryId: String(c.entryId),
      headHash: c.headHash,
      entries: String(c.entries),
      at: c.at,
      keyId: c.keyId,
      signature: c.signature,
      signatureValid: this.checkpoints.signatureValid(c),
      document: JSON.stringify(this.checkpoints.document(c)),
    };
  }

  @Query(() => AuditCheckpointConnection, {
    description:
      'Signed checkpoints of the audit chain, newest first. Every key may read them: they show hashes and counts, never an entry.',
  })
  async auditCheckpoints(
    @CurrentPrincipal() principal: Principal,
    @Args('first', { type: () => Int, nullable: true, defaultValue: 20, description: `1 to ${CHECKPOINT_PAGE_MAX}.` }) first = 20,
    @Args('after', { type: () => String, nullable: true }) after?: string,
  ): Promise<{ edges: Array<{ cursor: string; node: AuditCheckpoint }>; pageInfo: CheckpointPage['pageInfo'] }> {
    let page: CheckpointPage;
    try {
      page = await this.checkpoints.list(first, after);
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      return this.audit.refuse(principal, { action: 'audit.refused', operation: 'auditCheckpoints', entityType: 'audit' }, error);
    }
    return { edges: page.edges.map((e) => ({ cursor: e.cursor, node: this.view(e.node) })), pageInfo: page.pageInfo };
  }

  @Query(() => AuditCheckpointKey, { description: 'The public key audit checkpoints are signed with.' })
  auditCheckpointKey(): AuditCheckpointKey {
    return { keyId: this.checkpoints.keyId, algorithm: 'Ed25519', publicKeyPem: this.checkpoints.publicKeyPem };
  }

  @Mutation(() => AuditCheckpoint, {
    nullable: true,
    description:
      'Signs a checkpoint of the chain’s head now (or answers the one that exists) and publishes it; null while the log is empty. Operator only.',
  })
  @Roles(Role.OPERATOR)
  async takeAuditCheckpoint(): Promise<AuditCheckpoint | null> {
    const { checkpoint } = await this.checkpoints.take();
    return checkpoint ? this.view(checkpoint) : null;
  }
}
