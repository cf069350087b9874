import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { isUuid } from '../core/ids';
import { ApiKeyEntity, Role } from './tenancy.entities';

/** The columns of `api_keys` that say which secrets of a key work, and until when. */
export interface ApiKeyCredentials {
  secret_sha256: string;
  expires_at: Date | null;
  previous_secret_sha256: string | null;
  previous_secret_expires_at: Date | null;
}

export interface ApiKeyPageFilter {
  /** Only this tenant's keys; null: every key. */
  tenantId: string | null;
  first: number;
  after: { createdAt: Date; id: string } | null;
}

/** A rotation as stored: the current secret becomes the previous one, until `previousSecretExpiresAt`. */
export interface SecretRotation {
  previousSecretExpiresAt: Date;
  secretSha256: string;
  expiresAt: Date | null;
  rotatedAt: Date;
}

/** Keys are paged on created_at to the millisecond, as precise as the cursor that carries it. */
const KEY_CREATED_MS = "date_trunc('milliseconds', k.created_at)";

/** Every statement on the api_keys table. */
@Injectable()
export class ApiKeysRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `fn` in one transaction; the repository's methods take its manager. */
  transaction<T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  async insert(key: ApiKeyEntity, manager: EntityManager): Promise<void> {
    await manager.save(key);
  }

  /** What authenticating a token with this key needs, unless the key is revoked (or does not exist). */
  async credentials(keyId: string): Promise<(ApiKeyCredentials & { role: Role; tenant_id: string | null }) | null> {
    const rows: Array<ApiKeyCredentials & { role: Role; tenant_id: string | null }> = await this.dataSource.query(
      `SELECT role, tenant_id, secret_sha256, expires_at, previous_secret_sha256, previous_secret_expires_at
         FROM api_keys WHERE id = $1 AND revoked_at IS NULL`,
      [keyId],
    );
    return rows[0] ?? null;
  }

  /** The credentials of those of these keys that are not revoked. */
  liveCredentials(keyIds: readonly string[]): Promise<Array<ApiKeyCredentials & { id: string }>> {
    return this.dataSource.query(
      `SELECT id, secret_sha256, expires_at, previous_secret_sha256, previous_secret_expires_at
         FROM api_keys WHERE id = ANY($1::uuid[]) AND revoked_at IS NULL`,
      [keyIds],
    );
  }

  /** The key, locked for update until the transaction ends, or null. */
  async lock(id: string, manager: EntityManager): Promise<ApiKeyEntity | null> {
    const [key] = await manager.getRepository(ApiKeyEntity).find({ where: { id }, lock: { mode: 'pessimistic_write' } });
    return key ?? null;
  }

  find(id: string, manager: EntityManager): Promise<ApiKeyEntity | null> {
    return manager.getRepository(ApiKeyEntity).findOne({ where: { id } });
  }

  async rotate(id: string, rotation: SecretRotation, manager: EntityManager): Promise<void> {
    await manager.query(
      `UPDATE api_keys SET previous_secret_sha256 = secret_sha256, previous_secret_expires_at = $2, secret_sha256 = $3, expires_at = $4, rotated_at = $5 WHERE id = $1`,
      [id, rotation.previousSecretExpiresAt, rotation.secretSha256, rotation.expiresAt, rotation.rotatedAt],
    );
  }

  /** Revokes the key unless it is revoked already or (with `tenantId`) another tenant's; whether this call revoked it. */
  async revoke(id: string, tenantId: string | null, manager: EntityManager): Promise<boolean> {
    const revoked: Array<{ id: string }> = await manager.query(
      `WITH revoked AS (
         UPDATE api_keys SET revoked_at = now()
          WHERE id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR tenant_id = $2::uuid)
         RETURNING id)
       SELECT id FROM revoked`,
      [id, tenantId],
    );
    return revoked.length > 0;
  }

  /** Keys newest first, one row past the page to tell whether another follows. */
  async page(filter: ApiKeyPageFilter): Promise<{ rows: ApiKeyEntity[]; hasNextPage: boolean }> {
    const q = this.dataSource.getRepository(ApiKeyEntity).createQueryBuilder('k');
    if (filter.tenantId !== null) q.andWhere('k.tenant_id = :tenantId', { tenantId: isUuid(filter.tenantId) ? filter.tenantId : null });
    if (filter.after) {
      const c = filter.after;
      q.andWhere(`(${KEY_CREATED_MS}, k.id) < (:createdAt, :id)`, { createdAt: c.createdAt, id: isUuid(c.id) ? c.id : null });
    }
    const rows = await q
      .orderBy(KEY_CREATED_MS, 'DESC')
      .addOrderBy('k.id', 'DESC')
      .limit(filter.first + 1)
      .getMany();
    return { rows: rows.slice(0, filter.first), hasNextPage: rows.length > filter.first };
  }
}
