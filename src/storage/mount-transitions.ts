import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { SYSTEM_ACTOR } from '../tenancy/principal';
import { MountState, assertMountTransition } from './mount-state';
import { MountsRepository } from './mounts.repository';
import type { MountEntity } from './storage.entities';

const M = MountState;

/** The one way a mount changes state: the move (checked against mount-state.ts), its history, its audit entry. */
@Injectable()
export class MountTransitions {
  private readonly logger = new Logger('MountsService');

  constructor(
    private readonly audit: AuditService,
    private readonly mounts: MountsRepository,
  ) {}

  async lock(m: EntityManager, id: string): Promise<MountEntity> {
    const mount = await this.mounts.lock(m, id);
    if (!mount) throw new Error(`mount ${id} vanished`);
    return mount;
  }

  /** `from` null records the first state of a new mount. */
  async record(
    m: EntityManager,
    mount: MountEntity,
    from: MountState | null,
    to: MountState,
    reason: string,
    actor = SYSTEM_ACTOR,
  ): Promise<void> {
    if (from !== null) {
      assertMountTransition(mount.id, from, to);
      const failed = to === M.FAILED;
      await this.mounts.setState(m, mount.id, to, failed || to === M.DETACHED ? reason : null);
    }
    await this.mounts.insertTransition(m, mount.id, from, to, reason);
    await this.audit.append(m, {
      actor,
      action: `mount.${to.toLowerCase()}`,
      entityType: 'mount',
      entityId: mount.id,
      data: { from, to, reason },
    });
    mount.state = to;
    if (to === M.FAILED || to === M.DETACHED) mount.reason = reason;
    this.logger.log({ mountId: mount.id, from, to, reason }, 'mount transition');
  }
}
