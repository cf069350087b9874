import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Exclusion,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
} from 'typeorm';
import { EndpointEntity, LinkEntity } from '../topology/topology.entities';
import { TenantEntity } from '../tenancy/tenancy.entities';
import { ReservationState } from './reservation-state';

@Entity({ name: 'reservations' })
@Check('reservations_window_check', `"start_at" < "end_at"`)
@Check(
  'reservations_state_check',
  `"state" IN ('HELD', 'RESERVED', 'PROVISIONING', 'ACTIVE', 'RELEASING', 'RELEASED', 'CANCELLED', 'EXPIRED', 'FAILED', 'NEEDS_CLEANUP')`,
)
@Index('reservations_tenant_idempotency_key', ['tenantId', 'idempotencyKey'], {
  unique: true,
  where: '"idempotency_key" IS NOT NULL',
})
@Index('reservations_tenant_created_idx', ['tenantId', 'createdAt', 'id'])
@Index('reservations_created_idx', ['createdAt', 'id'])
@Index('reservations_hold_expiry_idx', ['holdExpiresAt'], { where: `"state" = 'HELD'` })
/** A tenant's reservations that hold capacity, by end: how the tenant quota check finds them (migration TenantQuotas). */
@Index('reservations_tenant_claims_idx', ['tenantId', 'endAt'], {
  where: `"state" <> ALL (ARRAY['RELEASED', 'CANCELLED', 'EXPIRED', 'FAILED'])`,
})
export class ReservationEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'reservations_pkey' })
  id!: string;

  @Column({ name: 'tenant_id', type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => TenantEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'tenant_id', foreignKeyConstraintName: 'reservations_tenant_id_fkey' })
  tenant?: TenantEntity;

  @Column({ name: 'source_endpoint_id', type: 'uuid' })
  sourceEndpointId!: string;

  @ManyToOne(() => EndpointEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'source_endpoint_id', foreignKeyConstraintName: 'reservations_source_endpoint_id_fkey' })
  sourceEndpoint?: EndpointEntity;

  @Column({ name: 'destination_endpoint_id', type: 'uuid' })
  destinationEndpointId!: string;

  @ManyToOne(() => EndpointEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({
    name: 'destination_endpoint_id',
    foreignKeyConstraintName: 'reservations_destination_endpoint_id_fkey',
  })
  destinationEndpoint?: EndpointEntity;

  @Column({ name: 'rate_gbps', type: 'integer' })
  rateGbps!: number;

  @Column({ name: 'start_at', type: 'timestamptz' })
  startAt!: Date;

  @Column({ name: 'end_at', type: 'timestamptz' })
  endAt!: Date;

  @Column({ type: 'text' })
  state!: ReservationState;

  @Column({ type: 'integer' })
  channel!: number;

  /** Links of the lightpath in order from source to destination. */
  @Column({ name: 'path_link_ids', type: 'uuid', array: true })
  pathLinkIds!: string[];

  @Column({ name: 'distance_km', type: 'double precision' })
  distanceKm!: number;

  @Column({ name: 'hold_expires_at', type: 'timestamptz', nullable: true })
  holdExpiresAt!: Date | null;

  @Column({ name: 'idempotency_key', type: 'text', nullable: true })
  idempotencyKey!: string | null;

  /**
   * The uuid of the lightpath's TAPI connectivity-service: the reservation id in the data-tree style, the
   * controller's choice when services are created through the create-connectivity-service RPC.
   */
  @Column({ name: 'tapi_service_uuid', type: 'text', nullable: true })
  tapiServiceUuid!: string | null;

  /** SHA-256 of the request that created the reservation, to tell a retry from a reuse of its key. */
  @Column({ name: 'request_fingerprint', type: 'text' })
  requestFingerprint!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}

@Entity({ name: 'reservation_transitions' })
@Index('reservation_transitions_reservation_idx', ['reservationId', 'id'])
export class ReservationTransitionEntity {
  @PrimaryGeneratedColumn('identity', {
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    primaryKeyConstraintName: 'reservation_transitions_pkey',
  })
  id!: string;

  @Column({ name: 'reservation_id', type: 'uuid' })
  reservationId!: string;

  @ManyToOne(() => ReservationEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'reservation_id', foreignKeyConstraintName: 'reservation_transitions_reservation_id_fkey' })
  reservation?: ReservationEntity;

  @Column({ name: 'from_state', type: 'text', nullable: true })
  fromState!: ReservationState | null;

  @Column({ name: 'to_state', type: 'text' })
  toState!: ReservationState;

  @Column({ type: 'timestamptz' })
  at!: Date;

  @Column({ type: 'text' })
  actor!: string;

  @Column({ type: 'text' })
  reason!: string;
}

/** Capacity held on (link, channel) over a half-open window; the exclusion constraint forbids overlaps. */
@Entity({ name: 'link_allocations' })
@Exclusion('link_allocations_no_overlap', 'USING gist ("link_id" WITH =, "channel" WITH =, "during" WITH &&)')
@Check('link_allocations_channel_check', `"channel" >= 0`)
@Check('link_allocations_during_check', `NOT isempty("during") AND lower_inc("during") AND NOT upper_inc("during")`)
@Index('link_allocations_reservation_idx', ['reservationId'])
export class LinkAllocationEntity {
  @PrimaryGeneratedColumn('identity', {
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    primaryKeyConstraintName: 'link_allocations_pkey',
  })
  id!: string;

  @Column({ name: 'reservation_id', type: 'uuid' })
  reservationId!: string;

  @ManyToOne(() => ReservationEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'reservation_id', foreignKeyConstraintName: 'link_allocations_reservation_id_fkey' })
  reservation?: ReservationEntity;

  @Column({ name: 'link_id', type: 'uuid' })
  linkId!: string;

  @ManyToOne(() => LinkEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'link_id', foreignKeyConstraintName: 'link_allocations_link_id_fkey' })
  link?: LinkEntity;

  @Column({ type: 'integer' })
  channel!: number;

  @Column({ type: 'tstzrange' })
  during!: string;
}

/** A transponder port held over a half-open window; the exclusion constraint forbids overlaps. */
@Entity({ name: 'endpoint_allocations' })
@Exclusion('endpoint_allocations_no_overlap', 'USING gist ("endpoint_id" WITH =, "during" WITH &&)')
@Check('endpoint_allocations_during_check', `NOT isempty("during") AND lower_inc("during") AND NOT upper_inc("during")`)
@Index('endpoint_allocations_reservation_idx', ['reservationId'])
export class EndpointAllocationEntity {
  @PrimaryGeneratedColumn('identity', {
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    primaryKeyConstraintName: 'endpoint_allocations_pkey',
  })
  id!: string;

  @Column({ name: 'reservation_id', type: 'uuid' })
  reservationId!: string;

  @ManyToOne(() => ReservationEntity, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'reservation_id', foreignKeyConstraintName: 'endpoint_allocations_reservation_id_fkey' })
  reservation?: ReservationEntity;

  @Column({ name: 'endpoint_id', type: 'uuid' })
  endpointId!: string;

  @ManyToOne(() => EndpointEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'endpoint_id', foreignKeyConstraintName: 'endpoint_allocations_endpoint_id_fkey' })
  endpoint?: EndpointEntity;

  @Column({ type: 'tstzrange' })
  during!: string;
}
