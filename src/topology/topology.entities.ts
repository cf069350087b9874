import { Check, Column, CreateDateColumn, Entity, JoinColumn, ManyToOne, PrimaryColumn, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { SiteKind } from '../vocabulary/domain';

export const LINE_RATES_GBPS = [10, 100, 400] as const;

@Entity({ name: 'nodes' })
@Unique('nodes_code_key', ['code'])
@Unique('nodes_tapi_node_uuid_key', ['tapiNodeUuid'], { deferrable: 'INITIALLY DEFERRED' })
export class NodeEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'nodes_pkey' })
  id!: string;

  @Column({ type: 'text' })
  code!: string;

  @Column({ type: 'text' })
  name!: string;

  /** The TAPI controller's uuid for this node (tapi-topology node), from the topology document. */
  @Column({ name: 'tapi_node_uuid', type: 'text', nullable: true })
  tapiNodeUuid!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

@Entity({ name: 'sites' })
@Unique('sites_code_key', ['code'])
@Check('sites_kind_check', `"kind" IN ('USER_OFFICE', 'GREEN_DC', 'STANDARD_DC')`)
@Check('sites_pue_check', `"pue" >= 1`)
export class SiteEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'sites_pkey' })
  id!: string;

  @Column({ type: 'text' })
  code!: string;

  @Column({ type: 'text' })
  name!: string;

  @Column({ type: 'text' })
  kind!: SiteKind;

  @Column({ name: 'node_id', type: 'uuid', nullable: true })
  nodeId!: string | null;

  @ManyToOne(() => NodeEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'node_id', foreignKeyConstraintName: 'sites_node_id_fkey' })
  node?: NodeEntity;

  @Column({ type: 'double precision' })
  pue!: number;

  @Column({ name: 'grid_carbon_kg_per_kwh', type: 'double precision' })
  gridCarbonKgPerKwh!: number;

  @Column({ name: 'energy_price_per_kwh', type: 'double precision' })
  energyPricePerKwh!: number;

  @Column({ name: 'renewable_share', type: 'double precision', default: 0 })
  renewableShare!: number;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

@Entity({ name: 'links' })
@Unique('links_code_key', ['code'])
@Check('links_length_km_check', `"length_km" > 0`)
@Check('links_channel_count_check', `"channel_count" > 0`)
@Check('links_distinct_nodes_check', `"a_node_id" <> "b_node_id"`)
@Unique('links_tapi_link_uuid_key', ['tapiLinkUuid'], { deferrable: 'INITIALLY DEFERRED' })
export class LinkEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'links_pkey' })
  id!: string;

  @Column({ type: 'text' })
  code!: string;

  @Column({ name: 'a_node_id', type: 'uuid' })
  aNodeId!: string;

  @ManyToOne(() => NodeEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'a_node_id', foreignKeyConstraintName: 'links_a_node_id_fkey' })
  aNode?: NodeEntity;

  @Column({ name: 'b_node_id', type: 'uuid' })
  bNodeId!: string;

  @ManyToOne(() => NodeEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'b_node_id', foreignKeyConstraintName: 'links_b_node_id_fkey' })
  bNode?: NodeEntity;

  @Column({ name: 'length_km', type: 'double precision' })
  lengthKm!: number;

  @Column({ name: 'channel_count', type: 'integer' })
  channelCount!: number;

  /** The TAPI controller's uuid for this link (tapi-topology link), from the topology document. */
  @Column({ name: 'tapi_link_uuid', type: 'text', nullable: true })
  tapiLinkUuid!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

@Entity({ name: 'endpoints' })
@Unique('endpoints_code_key', ['code'])
@Check('endpoints_rate_gbps_check', `"rate_gbps" IN (10, 100, 400)`)
@Unique('endpoints_tapi_service_interface_point_uuid_key', ['tapiServiceInterfacePointUuid'], { deferrable: 'INITIALLY DEFERRED' })
export class EndpointEntity {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'endpoints_pkey' })
  id!: string;

  @Column({ type: 'text' })
  code!: string;

  @Column({ name: 'site_id', type: 'uuid' })
  siteId!: string;

  @ManyToOne(() => SiteEntity, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'site_id', foreignKeyConstraintName: 'endpoints_site_id_fkey' })
  site?: SiteEntity;

  @Column({ name: 'rate_gbps', type: 'integer' })
  rateGbps!: number;

  /** The TAPI controller's service-interface-point for this port, from the topology document. */
  @Column({ name: 'tapi_service_interface_point_uuid', type: 'text', nullable: true })
  tapiServiceInterfacePointUuid!: string | null;

  /** Whether the port's transponder can encrypt the optical payload (LINK_ENCRYPTION), from the topology document. */
  @Column({ type: 'boolean', default: false })
  encryption!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}

/** One row per topology import; its id is the revision replicas compare to refresh their cached graph. */
@Entity({ name: 'topology_revisions' })
export class TopologyRevisionEntity {
  @PrimaryGeneratedColumn('identity', { type: 'bigint', generatedIdentity: 'ALWAYS', primaryKeyConstraintName: 'topology_revisions_pkey' })
  id!: string;

  @Column({ name: 'document_name', type: 'text' })
  documentName!: string;

  @Column({ type: 'text' })
  actor!: string;

  @CreateDateColumn({ name: 'imported_at', type: 'timestamptz' })
  importedAt!: Date;
}
