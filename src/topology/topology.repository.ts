import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import { EndpointEntity, LinkEntity, NodeEntity, SiteEntity } from './topology.entities';

/** Every object of the topology, each kind ordered by code. */
export interface TopologyRows {
  nodes: NodeEntity[];
  sites: SiteEntity[];
  links: LinkEntity[];
  endpoints: EndpointEntity[];
}

/** The SQL of the topology: its objects and revisions. Every method runs in the caller's transaction when one is given. */
@Injectable()
export class TopologyRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `fn` in one transaction; pass its manager to the methods that take one. */
  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  /** The current revision: the id of the last import, '0' before the first. */
  async revision(): Promise<string> {
    const rows: Array<{ revision: string | null }> = await this.dataSource.query(
      'SELECT max(id)::text AS revision FROM topology_revisions',
    );
    return rows[0]?.revision ?? '0';
  }

  async all(): Promise<TopologyRows> {
    const m = this.dataSource.manager;
    const [nodes, sites, links, endpoints] = await Promise.all([
      m.find(NodeEntity, { order: { code: 'ASC' } }),
      m.find(SiteEntity, { order: { code: 'ASC' } }),
      m.find(LinkEntity, { order: { code: 'ASC' } }),
      m.find(EndpointEntity, { order: { code: 'ASC' } }),
    ]);
    return { nodes, sites, links, endpoints };
  }

  async isEmpty(): Promise<boolean> {
    const rows: unknown[] = await this.dataSource.query('SELECT 1 FROM nodes LIMIT 1');
    return rows.length === 0;
  }

  /**
   * Blocks new link allocations until the transaction ends, after those being written commit. The table
   * belongs to reservations; the lock has to be taken in the importing transaction itself.
   */
  async lockLinkAllocations(m: EntityManager): Promise<void> {
    await m.query('LOCK TABLE link_allocations IN SHARE MODE');
  }

  /**
   * The highest channel at or above `channelCount` that an allocation holds on the link with this code,
   * or null. Reads reservations' allocations inside the importing transaction, under the lock above.
   */
  async highestAllocatedChannel(m: EntityManager, linkCode: string, channelCount: number): Promise<number | null> {
    const inUse: Array<{ channel: number }> = await m.query(
      `SELECT max(a.channel) AS channel FROM link_allocations a JOIN links l ON l.id = a.link_id
        WHERE l.code = $1 AND a.channel >= $2`,
      [linkCode, channelCount],
    );
    return inUse[0]?.channel ?? null;
  }

  /** INSERT … ON CONFLICT (code) DO UPDATE for a batch of rows; returns code → id. */
  async upsert(m: EntityManager, table: string, columns: string[], rows: unknown[][]): Promise<Map<string, string>> {
    const ids = new Map<string, string>();
    const chunk = 500;
    for (let offset = 0; offset < rows.length; offset += chunk) {
      const slice = rows.slice(offset, offset + chunk);
      const values: unknown[] = [];
      const tuples = slice.map((row) => {
        const start = values.length;
        values.push(randomUUID(), ...row);
        return `(${Array.from({ length: row.length + 1 }, (_, j) => `$${start + j + 1}`).join(', ')})`;
      });
      const updates = columns.filter((c) => c !== 'code').map((c) => `"${c}" = EXCLUDED."${c}"`);
      const result: Array<{ id: string; code: string }> = await m.query(
        `INSERT INTO "${table}" (id, ${columns.map((c) => `"${c}"`).join(', ')}) VALUES ${tuples.join(', ')}
         ON CONFLICT (code) DO UPDATE SET ${updates.join(', ')} RETURNING id, code`,
        values,
      );
      for (const r of result) ids.set(r.code, r.id);
    }
    return ids;
  }

  /** Records an import; returns the new revision. */
  async addRevision(m: EntityManager, documentName: string, actor: string): Promise<string> {
    const rev: Array<{ id: string }> = await m.query(
      'INSERT INTO topology_revisions (document_name, actor) VALUES ($1, $2) RETURNING id::text AS id',
      [documentName, actor],
    );
    return rev[0].id;
  }
}
