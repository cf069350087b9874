import { Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { createPrivateKey, createPublicKey, randomUUID, sign, type KeyObject } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { badInput } from '../core/errors/app-error';
import { JobName } from '../core/queue/job-catalogue';
import { JobHandlers } from '../core/queue/job-handlers';
import { WebhookTopic } from '../webhooks/webhook.entities';
import { WebhookService } from '../webhooks/webhook.service';
import { AuditCheckpointEntity } from './audit-checkpoint.entity';
import { AuditCheckpointsRepository } from './audit-checkpoints.repository';
import { AuditService } from './audit.service';
import { CHECKPOINT_FORMAT, type SignedCheckpoint, checkpointMessage, checkpointSignatureValid, signingKeyId } from './chain';

/** auditCheckpoints(first): 1 to this; 20 when omitted. */
export const CHECKPOINT_PAGE_MAX = 100;

export interface CheckpointPage {
  edges: Array<{ cursor: string; node: AuditCheckpointEntity }>;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

const encodeCursor = (seq: string) => Buffer.from(`checkpoint:${seq}`).toString('base64url');

function decodeCursor(cursor: string): string {
  const text = /^[A-Za-z0-9_-]{1,60}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = /^checkpoint:([1-9]\d{0,17})$/.exec(text);
  if (!match) throw badInput('after', 'after is not a cursor of auditCheckpoints; pass an endCursor from a previous page.');
  return match[1];
}

/**
 * Signed checkpoints of the audit chain. Every APN_AUDIT_CHECKPOINT_INTERVAL_S (a recurring job) the
 * service links what is final, and, if the head moved since the last checkpoint, signs {seq, entry id, head
 * hash, entries, time} with APN_AUDIT_SIGNING_KEY (Ed25519), stores it and publishes it to the
 * AUDIT_CHECKPOINT webhook subscriptions. Once a checkpoint has left the service, a chain rewritten and
 * recomputed in the database no longer reaches its head: `npm run audit:verify` shows it offline.
 */
@Injectable()
export class AuditCheckpointService implements OnModuleInit {
  private readonly logger = new Logger(AuditCheckpointService.name);
  private readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly keyId: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: AuditCheckpointsRepository,
    private readonly audit: AuditService,
    private readonly webhooks: WebhookService,
    private readonly handlers: JobHandlers,
  ) {
    if (!config.auditSigningKeyPem) throw new Error('the audit signing key is not configured (APN_AUDIT_SIGNING_KEY)');
    this.privateKey = createPrivateKey(config.auditSigningKeyPem);
    this.publicKey = createPublicKey(this.privateKey);
    this.keyId = signingKeyId(this.publicKey);
  }

  onModuleInit(): void {
    this.handlers.register(
      JobName.AuditCheckpoint,
      async () => {
        const { checkpoint, created } = await this.take();
        if (created && checkpoint) this.logger.log({ seq: checkpoint.seq, headHash: checkpoint.headHash }, 'audit checkpoint signed');
      },
      { everyMs: this.config.auditCheckpointIntervalSeconds * 1000 },
    );
  }

  get publicKeyPem(): string {
    return this.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }

  /**
   * Signs the current head unless a checkpoint of it exists; either way the latest checkpoint is published
   * again (a delivery per subscription and checkpoint, at most), so a new subscriber receives it and a
   * publication cut short is made good. Returns the checkpoint of the head, or null while the chain is empty.
   */
  async take(): Promise<{ checkpoint: AuditCheckpointEntity | null; created: boolean }> {
    await this.audit.link();
    const head = await this.audit.head();
    if (!head) return { checkpoint: null, created: false };
    let created = false;
    if (!(await this.repository.checkpointExists(head.seq))) {
      const statement = {
        seq: head.seq,
        entryId: head.entryId,
        headHash: head.hash,
        entries: head.seq,
        at: new Date().toISOString(),
        keyId: this.keyId,
      };
      const signature = sign(null, Buffer.from(checkpointMessage(statement), 'utf8'), this.privateKey).toString('base64');
      created = await this.repository.insertCheckpoint(randomUUID(), statement, signature);
    }
    const checkpoint = await this.repository.checkpoint(head.seq);
    await this.webhooks.publish(WebhookTopic.AUDIT_CHECKPOINT, [
      { eventId: `audit-checkpoint:${checkpoint.seq}`, tenantId: null, body: this.document(checkpoint) },
    ]);
    return { checkpoint, created };
  }

  latest(): Promise<AuditCheckpointEntity | null> {
    return this.repository.latestCheckpoint();
  }

  /** Checkpoints newest first. Readable by every key: they show hashes and counts, never an entry. */
  async list(first: number, after: string | null | undefined): Promise<CheckpointPage> {
    if (!Number.isInteger(first) || first < 1 || first > CHECKPOINT_PAGE_MAX)
      throw badInput('first', `first must be between 1 and ${CHECKPOINT_PAGE_MAX}.`);
    const before = after ? decodeCursor(after) : null;
    const rows = await this.repository.checkpoints(before, first + 1);
    const edges = rows.slice(0, first).map((node) => ({ cursor: encodeCursor(node.seq), node }));
    return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null } };
  }

  /** The checkpoint as the verifier reads it (the webhook body, GET /audit/checkpoints/latest). */
  document(c: AuditCheckpointEntity): SignedCheckpoint {
    return {
      format: CHECKPOINT_FORMAT,
      algorithm: 'Ed25519',
      seq: String(c.seq),
      entryId: String(c.entryId),
      headHash: c.headHash,
      entries: String(c.entries),
      at: new Date(c.at).toISOString(),
      keyId: c.keyId,
      signature: c.signature,
    };
  }

  /** Whether the signature verifies under the service's key, checked now (false under another key). */
  signatureValid(c: AuditCheckpointEntity): boolean {
    return c.keyId === this.keyId && checkpointSignatureValid(this.document(c), this.publicKey);
  }
}
