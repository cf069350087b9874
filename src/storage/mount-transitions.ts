import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { SYSTEM_ACTOR } from '../tenancy/principal';
import { MountState, assertMountTransition } from './mount-state';
import { MountEntity } from './storage.entities';

const M = MountState;

/** The one way a mount changes state: the move (checked against mount-state.ts), its history, its audit entry. */
@Injectable()
export class MountTransitions {
  private readonly logger = new Logger('MountsService');

  constructor(private readonly audit: AuditService) {}

  async lock(m: EntityManager, id: string): Promise<MountEntity> {
    const rows = await m.getRepository(MountEntity).find({ where: { id }, lock: { mode: 'pessimistic_write' } });
    if (!rows[0]) throw new Error(`mount ${id} vanished`);
    return rows[0];
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
      await m.query('UPDATE mounts SET state = $2, reason = $3, updated_at = now() WHERE id = $1', [
        mount.id,
        to,
        failed || to === M.DETACHED ? reason : null,
      ]);
    }
    await m.query('INSERT INTO mount_transitions (mount_id, from_state, to_state, at, reason) VALUES ($1, $2, $3, clock_timestamp(), $4)', [
      mount.id,
      from,
      to,
      reason,
    ]);
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
