import { Inject, Injectable } from '@nestjs/common';
import { Args, Field, ID, InputType, Int, Mutation, ObjectType, Query, registerEnumType, Resolver } from '@nestjs/graphql';
import { AuditService } from '../audit/audit.service';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { badInput, invalidState } from '../core/errors/app-error';
import { isUuid } from '../core/ids';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { TopologyService } from '../topology/topology.service';
import { EmulatorStateRepository } from './emulator-state.repository';

export enum FaultKind {
  LINK_DOWN = 'LINK_DOWN',
  NODE_FAILS = 'NODE_FAILS',
}
registerEnumType(FaultKind, {
  name: 'FaultKind',
  description: 'LINK_DOWN: a fiber span is cut until cleared. NODE_FAILS: a node fails its next `count` operations.',
});

@InputType()
export class InjectFaultInput {
  @Field(() => FaultKind) kind!: FaultKind;
  @Field(() => ID, { nullable: true, description: 'The link, for LINK_DOWN.' }) linkId?: string | null;
  @Field(() => ID, { nullable: true, description: 'The node, for NODE_FAILS.' }) nodeId?: string | null;
  @Field(() => Int, { nullable: true, description: 'How many operations fail, for NODE_FAILS (default 1).' }) count?: number | null;
}

@ObjectType({ description: 'A fault injected into the network emulator.' })
export class Fault {
  @Field(() => FaultKind) kind!: FaultKind;
  @Field(() => ID, { description: 'The link or node it affects.' }) targetId!: string;
  @Field(() => Int, { nullable: true, description: 'Operations still to fail (NODE_FAILS).' }) remaining!: number | null;
}

/** Fault injection into the emulator, so operators can rehearse failures without a real network. */
@Injectable()
export class FaultsService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly state: EmulatorStateRepository,
    private readonly topology: TopologyService,
    private readonly audit: AuditService,
  ) {}

  async inject(principal: Principal, input: InjectFaultInput): Promise<Fault> {
    this.assertEmulator();
    const snapshot = await this.topology.snapshot();
    let targetId: string;
    let remaining: number | null = null;
    if (input.kind === FaultKind.LINK_DOWN) {
      if (!input.linkId || !isUuid(input.linkId) || !snapshot.links.has(input.linkId)) {
        throw badInput('input.linkId', 'LINK_DOWN needs input.linkId, the id of a link (see the links query).');
      }
      targetId = input.linkId;
    } else {
      if (!input.nodeId || !isUuid(input.nodeId) || !snapshot.nodes.has(input.nodeId)) {
        throw badInput('input.nodeId', 'NODE_FAILS needs input.nodeId, the id of a node (see the nodes query).');
      }
      remaining = input.count ?? 1;
      if (!Number.isInteger(remaining) || remaining < 1 || remaining > 1000) {
        throw badInput('input.count', 'count must be between 1 and 1000.');
      }
      targetId = input.nodeId;
    }
    await this.state.transaction(async (m) => {
      await this.state.putFault(m, input.kind, targetId, remaining);
      await this.audit.append(m, {
        actor: principal.actor,
        action: 'emulator.fault-injected',
        entityType: input.kind === FaultKind.LINK_DOWN ? 'link' : 'node',
        entityId: targetId,
        data: { kind: input.kind, remaining },
      });
    });
    return { kind: input.kind, targetId, remaining };
  }

  async clear(principal: Principal, kind: FaultKind, targetId: string): Promise<boolean> {
    this.assertEmulator();
    if (!isUuid(targetId)) return false;
    return this.state.transaction(async (m) => {
      const cleared = await this.state.deleteFault(m, kind, targetId);
      if (cleared) {
        await this.audit.append(m, {
          actor: principal.actor,
          action: 'emulator.fault-cleared',
          entityType: 'fault',
          entityId: targetId,
          data: { kind },
        });
      }
      return cleared;
    });
  }

  async list(): Promise<Fault[]> {
    this.assertEmulator();
    const rows = await this.state.faults();
    return rows.map((r) => ({ kind: r.kind as FaultKind, targetId: r.target_id, remaining: r.remaining }));
  }

  private assertEmulator(): void {
    if (this.config.driver !== 'emulator') {
      throw invalidState(`Fault injection exists only in the emulator (APN_DRIVER=emulator); this service drives ${this.config.driver}.`);
    }
  }
}

@Resolver()
@Roles(Role.OPERATOR)
export class FaultsResolver {
  constructor(private readonly faultInjection: FaultsService) {}

  @Mutation(() => Fault, { description: 'Injects a fault into the network emulator. Operator only.' })
  injectFault(@Args('input') input: InjectFaultInput, @CurrentPrincipal() principal: Principal): Promise<Fault> {
    return this.faultInjection.inject(principal, input);
  }

  @Mutation(() => Boolean, { description: 'Clears an injected fault; false if there was none.' })
  clearFault(
    @Args('kind', { type: () => FaultKind }) kind: FaultKind,
    @Args('targetId', { type: () => ID }) targetId: string,
    @CurrentPrincipal() principal: Principal,
  ): Promise<boolean> {
    return this.faultInjection.clear(principal, kind, targetId);
  }

  @Query(() => [Fault], { description: 'Faults currently injected into the emulator. Operator only.' })
  faults(): Promise<Fault[]> {
    return this.faultInjection.list();
  }
}
