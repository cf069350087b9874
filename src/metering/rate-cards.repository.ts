import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { RateCardEntity } from './metering.entities';

/** The stored rate cards (the reference card, version 1, is not stored). */
@Injectable()
export class RateCardsRepository {
  constructor(private readonly dataSource: DataSource) {}

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  /** Every stored card, oldest version first. */
  all(): Promise<RateCardEntity[]> {
    return this.dataSource.getRepository(RateCardEntity).find({ order: { version: 'ASC' } });
  }

  /**
   * The version the next card gets (2 at the least: version 1 is the reference card). Takes the lock that
   * serialises card creation, held until the caller's transaction ends.
   */
  async nextVersion(m: EntityManager): Promise<number> {
    await m.query(`SELECT pg_advisory_xact_lock(hashtext('apn.metering.rate-cards'))`);
    const [{ next }] = await m.query<Array<{ next: number }>>('SELECT greatest(coalesce(max(version), 1), 1) + 1 AS next FROM rate_cards');
    return Number(next);
  }

  save(card: RateCardEntity, m: EntityManager = this.dataSource.manager): Promise<RateCardEntity> {
    return m.getRepository(RateCardEntity).save(card);
  }
}
