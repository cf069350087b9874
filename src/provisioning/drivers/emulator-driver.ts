import { setTimeout as sleep } from 'node:timers/promises';
import { pgErrorCode, PgErrorCode } from '../../core/errors/app-error';
import type { EmulatorStateRepository } from '../emulator-state.repository';
import { ApnDriver, DriverError, LightpathSpec, LightpathStatus } from './apn-driver';

/**
 * A digital twin of the APN. Configuring a hop takes `hopMs`; the device state lives in the database so
 * that every worker and restart sees one network. It independently refuses to light a (link, channel) that
 * another lightpath holds, a second line of defence that would expose a control-plane bug.
 */
export class EmulatorDriver implements ApnDriver {
  readonly name = 'emulator';

  constructor(
    private readonly state: EmulatorStateRepository,
    private readonly hopMs: number,
  ) {}

  async setupLightpath(spec: LightpathSpec): Promise<LightpathStatus> {
    const existing = await this.getLightpath(spec.id);
    if (existing?.state === 'UP' && existing.configuredLinkIds.length === spec.linkIds.length) return existing;
    const downLinkIds = await this.state.downLinks(spec.linkIds);
    if (downLinkIds.length > 0) {
      throw new DriverError(`link(s) ${downLinkIds.join(', ')} of the path are down`, false, { downLinkIds });
    }
    await this.failIfNodeFaulty(spec.nodeIds);
    if (await this.state.isRetired(spec.id))
      throw new DriverError('the lightpath was torn down and cannot be set up again', false, { aborted: true });
    // The cross-connects are the configuration in progress: while they exist and the channel is not yet
    // lit, the lightpath is PARTIAL, and a teardown that removes them aborts the setup.
    await this.state.addCrossConnects(spec);
    // Devices are configured one hop after another, as a controller would.
    await sleep(this.hopMs * spec.linkIds.length);
    try {
      await this.state.transaction(async (m) => {
        // Lock this setup's cross-connects: a teardown now waits for the channel to be lit, then removes it.
        const configuring = await this.state.lockCrossConnects(m, spec.id);
        const retired = await this.state.isRetired(spec.id, m);
        if (!configuring || retired) {
          await this.state.removeCrossConnects(m, spec.id);
          throw new DriverError('the lightpath was torn down while it was being set up', false, { aborted: true });
        }
        const owners = await this.state.lightChannels(m, spec.linkIds, spec.channel, spec.id);
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
    await this.failIfNodeFaulty(await this.state.crossConnectNodes(id));
    await sleep(this.hopMs * (await this.configuredLinks(id)).length);
    await this.state.transaction(async (m) => {
      // A torn-down lightpath never comes back: a setup still configuring it aborts instead of lighting.
      await this.state.retire(m, id);
      // Cross-connects next: this waits for a setup that is lighting the channel right now, and the next
      // statement then sees (and removes) what it lit. A setup that has not yet lit finds none and aborts.
      await this.state.removeCrossConnects(m, id);
      await this.state.unlightChannels(m, id);
    });
  }

  async getLightpath(id: string): Promise<LightpathStatus | null> {
    const links = await this.configuredLinks(id);
    if (links.length > 0) return { id, state: 'UP', configuredLinkIds: links };
    return (await this.state.hasCrossConnects(id)) ? { id, state: 'PARTIAL', configuredLinkIds: [] } : null;
  }

  async listLightpaths(): Promise<string[]> {
    return this.state.lightpathIds();
  }

  /** A node with an injected NODE_FAILS fault fails this operation and counts one failure off. */
  private async failIfNodeFaulty(nodeIds: readonly string[]): Promise<void> {
    if (nodeIds.length === 0) return;
    const failed: string | null = await this.state.transaction(async (m) => {
      const fault = await this.state.lockNodeFault(m, nodeIds);
      if (!fault) return null;
      await this.state.countDownNodeFault(m, fault);
      return fault.target_id;
    });
    if (failed) throw new DriverError(`node ${failed} failed the operation (injected fault)`, true, { nodeId: failed });
  }

  private configuredLinks(id: string): Promise<string[]> {
    return this.state.litLinks(id);
  }
}
