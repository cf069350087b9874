import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { pgErrorCode, PgErrorCode } from '../../core/errors/app-error';
import { ApnDriver, DriverError, LightpathSpec, LightpathStatus } from './apn-driver';

/**
 * A digital twin of the APN. Configuring a hop takes `hopMs`; the device state lives in the database so
 * that every worker and restart sees one network. It independently refuses to light a (link, channel) that
 * another lightpath holds, a second line of defence that would expose a control-plane bug.
 */
export class EmulatorDriver implements ApnDriver {
  readonly name = 'emulator';

  constructor(
    private readonly dataSource: DataSource,
    private readonly hopMs: number,
  ) {}

  async setupLightpath(spec: LightpathSpec): Promise<LightpathStatus> {
    const existing = await this.getLightpath(spec.id);
    if (existing?.state === 'UP' && existing.configuredLinkIds.length === spec.linkIds.length) return existing;
    const down: Array<{ target_id: string }> = await this.dataSource.query(
      `SELECT target_id FROM emulator_faults WHERE kind = 'LINK_DOWN' AND target_id = ANY($1::uuid[])`,
      [spec.linkIds],
    );
    if (down.length > 0) {
      const downLinkIds = down.map((d) => d.target_id);
      throw new DriverError(`link(s) ${downLinkIds.join(', ')} of the path are down`, false, { downLinkIds });
    }
    await this.failIfNodeFaulty(spec.nodeIds);
    const retired: unknown[] = await this.dataSource.query('SELECT 1 FROM emulator_retired_lightpaths WHERE lightpath_id = $1', [spec.id]);
    if (retired.length > 0) throw new DriverError('the lightpath was torn down and cannot be set up again', false, { aborted: true });
    // The cross-connects are the configuration in progress: while they exist and the channel is not yet
    // lit, the lightpath is PARTIAL, and a teardown that removes them aborts the setup.
    await this.dataSource.query(
      `INSERT INTO emulator_cross_connects (lightpath_id, node_id, in_link_id, out_link_id, channel)
       SELECT $1, n.node, CASE WHEN n.i > 1 THEN ($2::uuid[])[n.i - 1] END, ($2::uuid[])[n.i], $3
         FROM unnest($4::uuid[]) WITH ORDINALITY AS n(node, i)
       ON CONFLICT (lightpath_id, node_id) DO NOTHING`,
      [spec.id, spec.linkIds, spec.channel, spec.nodeIds],
    );
    // Devices are configured one hop after another, as a controller would.
    await sleep(this.hopMs * spec.linkIds.length);
    try {
      await this.dataSource.transaction(async (m) => {
        // Lock this setup's cross-connects: a teardown now waits for the channel to be lit, then removes it.
        const configuring: unknown[] = await m.query('SELECT 1 FROM emulator_cross_connects WHERE lightpath_id = $1 FOR UPDATE', [spec.id]);
        const retired: unknown[] = await m.query('SELECT 1 FROM emulator_retired_lightpaths WHERE lightpath_id = $1', [spec.id]);
        if (configuring.length === 0 || retired.length > 0) {
          await m.query('DELETE FROM emulator_cross_connects WHERE lightpath_id = $1', [spec.id]);
          throw new DriverError('the lightpath was torn down while it was being set up', false, { aborted: true });
        }
        const owners: Array<{ link_id: string; lightpath_id: string }> = await m.query(
          `INSERT INTO emulator_lit_channels (link_id, channel, lightpath_id, lit_at)
           SELECT l, $2, $3, clock_timestamp() FROM unnest($1::uuid[]) AS l
           ON CONFLICT (link_id, channel) DO UPDATE SET lit_at = emulator_lit_channels.lit_at
           RETURNING link_id, lightpath_id`,
          [spec.linkIds, spec.channel, spec.id],
        );
        const foreign = owners.find((o) => o.lightpath_id !== spec.id);
        if (foreign) {
          throw new DriverError(
            `channel ${spec.channel} on link ${foreign.link_id} is already lit by lightpath ${foreign.lightpath_id}`,
            false,
            { linkId: foreign.link_id, channel: spec.channel, owner: foreign.lightpath_id },
          );
        }
      });
    } catch (error) {
      if (error instanceof DriverError) throw error;
      if (pgErrorCode(error) === PgErrorCode.SERIALIZATION_FAILURE) throw new DriverError('device busy', true);
      throw error;
    }
    return { id: spec.id, state: 'UP', configuredLinkIds: [...spec.linkIds] };
  }

  async teardownLightpath(id: string): Promise<void> {
    const nodes: Array<{ node_id: string }> = await this.dataSource.query(
      'SELECT node_id FROM emulator_cross_connects WHERE lightpath_id = $1',
      [id],
    );
    await this.failIfNodeFaulty(nodes.map((n) => n.node_id));
    await sleep(this.hopMs * (await this.configuredLinks(id)).length);
    await this.dataSource.transaction(async (m) => {
      // A torn-down lightpath never comes back: a setup still configuring it aborts instead of lighting.
      await m.query('INSERT INTO emulator_retired_lightpaths (lightpath_id) VALUES ($1) ON CONFLICT DO NOTHING', [id]);
      // Cross-connects next: this waits for a setup that is lighting the channel right now, and the next
      // statement then sees (and removes) what it lit. A setup that has not yet lit finds none and aborts.
      await m.query('DELETE FROM emulator_cross_connects WHERE lightpath_id = $1', [id]);
      await m.query('DELETE FROM emulator_lit_channels WHERE lightpath_id = $1', [id]);
    });
  }

  async getLightpath(id: string): Promise<LightpathStatus | null> {
    const links = await this.configuredLinks(id);
    if (links.length > 0) return { id, state: 'UP', configuredLinkIds: links };
    const configuring: unknown[] = await this.dataSource.query('SELECT 1 FROM emulator_cross_connects WHERE lightpath_id = $1 LIMIT 1', [
      id,
    ]);
    return configuring.length > 0 ? { id, state: 'PARTIAL', configuredLinkIds: [] } : null;
  }

  async listLightpaths(): Promise<string[]> {
    const rows: Array<{ lightpath_id: string }> = await this.dataSource.query(
      'SELECT DISTINCT lightpath_id FROM emulator_lit_channels UNION SELECT DISTINCT lightpath_id FROM emulator_cross_connects',
    );
    return rows.map((r) => r.lightpath_id);
  }

  /** A node with an injected NODE_FAILS fault fails this operation and counts one failure off. */
  private async failIfNodeFaulty(nodeIds: readonly string[]): Promise<void> {
    if (nodeIds.length === 0) return;
    const failed: string | null = await this.dataSource.transaction(async (m) => {
      const rows: Array<{ target_id: string; remaining: number }> = await m.query(
        `SELECT target_id, remaining FROM emulator_faults WHERE kind = 'NODE_FAILS' AND target_id = ANY($1::uuid[])
          ORDER BY target_id LIMIT 1 FOR UPDATE`,
        [nodeIds],
      );
      const fault = rows[0];
      if (!fault) return null;
      if (fault.remaining > 1) {
        await m.query(`UPDATE emulator_faults SET remaining = remaining - 1 WHERE kind = 'NODE_FAILS' AND target_id = $1`, [
          fault.target_id,
        ]);
      } else {
        await m.query(`DELETE FROM emulator_faults WHERE kind = 'NODE_FAILS' AND target_id = $1`, [fault.target_id]);
      }
      return fault.target_id;
    });
    if (failed) throw new DriverError(`node ${failed} failed the operation (injected fault)`, true, { nodeId: failed });
  }

  private async configuredLinks(id: string): Promise<string[]> {
    const rows: Array<{ link_id: string }> = await this.dataSource.query(
      'SELECT link_id FROM emulator_lit_channels WHERE lightpath_id = $1',
      [id],
    );
    return rows.map((r) => r.link_id);
  }
}
