import { Check, Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * Device state of the network emulator, kept in the database so that every worker and every restart sees
 * one network. A lit (link, channel) belongs to exactly one lightpath: the primary key is the emulator's
 * own refusal to light a channel twice, independent of the control plane's allocations.
 */
@Entity({ name: 'emulator_lit_channels' })
@Index('emulator_lit_channels_lightpath_idx', ['lightpathId'])
export class EmulatorLitChannelEntity {
  @PrimaryColumn({ name: 'link_id', type: 'uuid', primaryKeyConstraintName: 'emulator_lit_channels_pkey' })
  linkId!: string;

  @PrimaryColumn({ type: 'integer', primaryKeyConstraintName: 'emulator_lit_channels_pkey' })
  channel!: number;

  @Column({ name: 'lightpath_id', type: 'uuid' })
  lightpathId!: string;

  @Column({ name: 'lit_at', type: 'timestamptz' })
  litAt!: Date;
}

/** A ROADM cross-connect of one lightpath at one node: from the incoming link to the outgoing one. */
@Entity({ name: 'emulator_cross_connects' })
export class EmulatorCrossConnectEntity {
  @PrimaryColumn({ name: 'lightpath_id', type: 'uuid', primaryKeyConstraintName: 'emulator_cross_connects_pkey' })
  lightpathId!: string;

  @PrimaryColumn({ name: 'node_id', type: 'uuid', primaryKeyConstraintName: 'emulator_cross_connects_pkey' })
  nodeId!: string;

  @Column({ name: 'in_link_id', type: 'uuid', nullable: true })
  inLinkId!: string | null;

  @Column({ name: 'out_link_id', type: 'uuid', nullable: true })
  outLinkId!: string | null;

  @Column({ type: 'integer' })
  channel!: number;
}

export type EmulatorFaultKind = 'LINK_DOWN' | 'NODE_FAILS';

/** An injected fault: a link down until cleared, or a node failing its next `remaining` operations. */
@Entity({ name: 'emulator_faults' })
@Check('emulator_faults_kind_check', `"kind" IN ('LINK_DOWN', 'NODE_FAILS')`)
@Check('emulator_faults_remaining_check', `("kind" = 'NODE_FAILS') = ("remaining" IS NOT NULL) AND coalesce("remaining", 1) > 0`)
export class EmulatorFaultEntity {
  @PrimaryColumn({ type: 'text', primaryKeyConstraintName: 'emulator_faults_pkey' })
  kind!: EmulatorFaultKind;

  @PrimaryColumn({ name: 'target_id', type: 'uuid', primaryKeyConstraintName: 'emulator_faults_pkey' })
  targetId!: string;

  @Column({ type: 'integer', nullable: true })
  remaining!: number | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

/** A lightpath the emulated network has torn down; its id is never set up again. */
@Entity({ name: 'emulator_retired_lightpaths' })
export class EmulatorRetiredLightpathEntity {
  @PrimaryColumn({ name: 'lightpath_id', type: 'uuid', primaryKeyConstraintName: 'emulator_retired_lightpaths_pkey' })
  lightpathId!: string;

  @CreateDateColumn({ name: 'retired_at', type: 'timestamptz' })
  retiredAt!: Date;
}
