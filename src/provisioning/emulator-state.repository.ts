import { Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';

/** An injected fault as stored: `remaining` is set for NODE_FAILS only. */
export interface FaultRow {
  kind: string;
  target_id: string;
  remaining: number | null;
}

/**
 * The SQL of the network emulator's device state (emulator.entities.ts): cross-connects, lit channels,
 * retired lightpaths and injected faults. Every method runs in the caller's transaction when one is given.
 */
@Injectable()
export class EmulatorStateRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Runs `fn` in one transaction; pass its manager to the methods that take one. */
  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(fn);
  }

  // --- faults --------------------------------------------------------------------------------------

  /** The links among `linkIds` that have a LINK_DOWN fault. */
  async downLinks(linkIds: readonly string[]): Promise<string[]> {
    const down: Array<{ target_id: string }> = await this.dataSource.query(
      `SELECT target_id FROM emulator_faults WHERE kind = 'LINK_DOWN' AND target_id = ANY($1::uuid[])`,
      [linkIds],
    );
    return down.map((d) => d.target_id);
  }

  /** The first NODE_FAILS fault among `nodeIds`, locked for the rest of the transaction. */
  async lockNodeFault(m: EntityManager, nodeIds: readonly string[]): Promise<{ target_id: string; remaining: number } | null> {
    const rows: Array<{ target_id: string; remaining: number }> = await m.query(
      `SELECT target_id, remaining FROM emulator_faults WHERE kind = 'NODE_FAILS' AND target_id = ANY($1::uuid[])
        ORDER BY target_id LIMIT 1 FOR UPDATE`,
      [nodeIds],
    );
    return rows[0] ?? null;
  }

  /** Counts one failure off a NODE_FAILS fault: the last one removes it. */
  async countDownNodeFault(m: EntityManager, fault: { target_id: string; remaining: number }): Promise<void> {
    if (fault.remaining > 1) {
      await m.query(`UPDATE emulator_faults SET remaining = remaining - 1 WHERE kind = 'NODE_FAILS' AND target_id = $1`, [fault.target_id]);
    } else {
      await m.query(`DELETE FROM emulator_faults WHERE kind = 'NODE_FAILS' AND target_id = $1`, [fault.target_id]);
    }
  }

  /** Injects a fault, or replaces the count of the same one. */
  async putFault(m: EntityManager, kind: string, targetId: string, remaining: number | null): Promise<void> {
    await m.query(
      `INSERT INTO emulator_faults (kind, target_id, remaining) VALUES ($1, $2, $3)
       ON CONFLICT (kind, target_id) DO UPDATE SET remaining = EXCLUDED.remaining`,
      [kind, targetId, remaining],
    );
  }

  /** Clears a fault; false if there was none. */
  async deleteFault(m: EntityManager, kind: string, targetId: string): Promise<boolean> {
    const rows: unknown[] = await m.query('DELETE FROM emulator_faults WHERE kind = $1 AND target_id = $2 RETURNING 1', [kind, targetId]);
    return rows.length > 0;
  }

  /** Every injected fault, oldest first. */
  faults(): Promise<FaultRow[]> {
    return this.dataSource.query('SELECT kind, target_id, remaining FROM emulator_faults ORDER BY created_at');
  }

  // --- lightpaths ----------------------------------------------------------------------------------

  /** Whether the lightpath was torn down (and so may never be set up again). */
  async isRetired(id: string, m: EntityManager = this.dataSource.manager): Promise<boolean> {
    const retired: unknown[] = await m.query('SELECT 1 FROM emulator_retired_lightpaths WHERE lightpath_id = $1', [id]);
    return retired.length > 0;
  }

  /** Marks the lightpath torn down for good. */
  async retire(m: EntityManager, id: string): Promise<void> {
    await m.query('INSERT INTO emulator_retired_lightpaths (lightpath_id) VALUES ($1) ON CONFLICT DO NOTHING', [id]);
  }

  /** Records the cross-connects of a lightpath along its path, one per node; existing ones stay. */
  async addCrossConnects(spec: { id: string; linkIds: readonly string[]; channel: number; nodeIds: readonly string[] }): Promise<void> {
    await this.dataSource.query(
      `INSERT INTO emulator_cross_connects (lightpath_id, node_id, in_link_id, out_link_id, channel)
       SELECT $1, n.node, CASE WHEN n.i > 1 THEN ($2::uuid[])[n.i - 1] END, ($2::uuid[])[n.i], $3
         FROM unnest($4::uuid[]) WITH ORDINALITY AS n(node, i)
       ON CONFLICT (lightpath_id, node_id) DO NOTHING`,
      [spec.id, spec.linkIds, spec.channel, spec.nodeIds],
    );
  }

  /** Locks the lightpath's cross-connects for the rest of the transaction; false if it has none. */
  async lockCrossConnects(m: EntityManager, id: string): Promise<boolean> {
    const configuring: unknown[] = await m.query('SELECT 1 FROM emulator_cross_connects WHERE lightpath_id = $1 FOR UPDATE', [id]);
    return configuring.length > 0;
  }

  /** Whether the lightpath has any cross-connect, i.e. is being configured or is up. */
  async hasCrossConnects(id: string): Promise<boolean> {
    const configuring: unknown[] = await this.dataSource.query('SELECT 1 FROM emulator_cross_connects WHERE lightpath_id = $1 LIMIT 1', [
      id,
    ]);
    return configuring.length > 0;
  }

  /** The nodes the lightpath has a cross-connect at. */
  async crossConnectNodes(id: string): Promise<string[]> {
    const nodes: Array<{ node_id: string }> = await this.dataSource.query(
      'SELECT node_id FROM emulator_cross_connects WHERE lightpath_id = $1',
      [id],
    );
    return nodes.map((n) => n.node_id);
  }

  async removeCrossConnects(m: EntityManager, id: string): Promise<void> {
    await m.query('DELETE FROM emulator_cross_connects WHERE lightpath_id = $1', [id]);
  }

  /**
   * Lights `channel` on each link for the lightpath; a (link, channel) already lit keeps its owner.
   * Returns the owner of each, so the caller sees a channel another lightpath holds.
   */
  lightChannels(
    m: EntityManager,
    linkIds: readonly string[],
    channel: number,
    id: string,
  ): Promise<Array<{ link_id: string; lightpath_id: string }>> {
    return m.query(
      `INSERT INTO emulator_lit_channels (link_id, channel, lightpath_id, lit_at)
       SELECT l, $2, $3, clock_timestamp() FROM unnest($1::uuid[]) AS l
       ON CONFLICT (link_id, channel) DO UPDATE SET lit_at = emulator_lit_channels.lit_at
       RETURNING link_id, lightpath_id`,
      [linkIds, channel, id],
    );
  }

  async unlightChannels(m: EntityManager, id: string): Promise<void> {
    await m.query('DELETE FROM emulator_lit_channels WHERE lightpath_id = $1', [id]);
  }

  /** The links on which the lightpath has a lit channel. */
  async litLinks(id: string): Promise<string[]> {
    const rows: Array<{ link_id: string }> = await this.dataSource.query(
      'SELECT link_id FROM emulator_lit_channels WHERE lightpath_id = $1',
      [id],
    );
    return rows.map((r) => r.link_id);
  }

  /** Every lightpath with a lit channel or a cross-connect. */
  async lightpathIds(): Promise<string[]> {
    const rows: Array<{ lightpath_id: string }> = await this.dataSource.query(
      'SELECT DISTINCT lightpath_id FROM emulator_lit_channels UNION SELECT DISTINCT lightpath_id FROM emulator_cross_connects',
    );
    return rows.map((r) => r.lightpath_id);
  }
}
