import { Field, Float, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { SiteKind } from '../vocabulary/domain';
import { FIBER_LATENCY_US_PER_KM } from './pce';
import type { EndpointEntity, LinkEntity, NodeEntity, SiteEntity } from './topology.entities';

registerEnumType(SiteKind, { name: 'SiteKind', description: 'What a site is: an enterprise office or a data center.' });

const TAPI_UUID_NOTE = 'Set by importTopology; the TAPI driver sends it instead of this object’s id.';

@ObjectType({ description: 'An APN point of presence or ROADM.' })
export class Node {
  @Field(() => ID) id!: string;
  @Field() code!: string;
  @Field() name!: string;
  @Field(() => String, { nullable: true, description: `The TAPI controller’s uuid for this node. ${TAPI_UUID_NOTE}` })
  tapiNodeUuid!: string | null;

  static from(e: NodeEntity): Node {
    return Object.assign(new Node(), { id: e.id, code: e.code, name: e.name, tapiNodeUuid: e.tapiNodeUuid });
  }
}

@ObjectType({ description: 'A place with power: an office or a data center, attached to an APN node.' })
export class Site {
  @Field(() => ID) id!: string;
  @Field() code!: string;
  @Field() name!: string;
  @Field(() => SiteKind) kind!: SiteKind;
  @Field(() => Float, { description: 'Power usage effectiveness of the site.' }) pue!: number;
  @Field(() => Float) gridCarbonKgPerKwh!: number;
  @Field(() => Float) energyPricePerKwh!: number;
  @Field(() => Float) renewableShare!: number;
  nodeId!: string | null;

  static from(e: SiteEntity): Site {
    return Object.assign(new Site(), {
      id: e.id,
      code: e.code,
      name: e.name,
      kind: e.kind,
      pue: e.pue,
      gridCarbonKgPerKwh: e.gridCarbonKgPerKwh,
      energyPricePerKwh: e.energyPricePerKwh,
      renewableShare: e.renewableShare,
      nodeId: e.nodeId,
    });
  }
}

@ObjectType({ description: 'A fiber span between two nodes on the ITU-T G.694.1 50 GHz grid.' })
export class Link {
  @Field(() => ID) id!: string;
  @Field() code!: string;
  @Field(() => Float) lengthKm!: number;
  @Field(() => Int, { description: 'Channels 0…channelCount−1; channel i is 191.35 THz + i × 0.05 THz.' })
  channelCount!: number;
  @Field(() => Float, { description: 'One-way propagation latency at 4.9 µs/km.' }) latencyMs!: number;
  @Field(() => String, { nullable: true, description: `The TAPI controller’s uuid for this link. ${TAPI_UUID_NOTE}` })
  tapiLinkUuid!: string | null;
  aNodeId!: string;
  bNodeId!: string;

  static from(e: LinkEntity): Link {
    return Object.assign(new Link(), {
      id: e.id,
      code: e.code,
      lengthKm: e.lengthKm,
      channelCount: e.channelCount,
      latencyMs: Math.round(e.lengthKm * FIBER_LATENCY_US_PER_KM * 1000) / 1e6,
      tapiLinkUuid: e.tapiLinkUuid,
      aNodeId: e.aNodeId,
      bNodeId: e.bNodeId,
    });
  }
}

@ObjectType({ description: 'A transponder port at a site; exclusive per time window.' })
export class Endpoint {
  @Field(() => ID) id!: string;
  @Field() code!: string;
  @Field(() => Int) rateGbps!: number;
  @Field(() => String, {
    nullable: true,
    description: `The TAPI controller’s service-interface-point for this port. ${TAPI_UUID_NOTE}`,
  })
  tapiServiceInterfacePointUuid!: string | null;
  @Field({ description: 'Whether the port’s transponder can encrypt the optical payload (LINK_ENCRYPTION), from the topology document.' })
  encryption!: boolean;
  siteId!: string;

  static from(e: EndpointEntity): Endpoint {
    return Object.assign(new Endpoint(), {
      id: e.id,
      code: e.code,
      rateGbps: e.rateGbps,
      tapiServiceInterfacePointUuid: e.tapiServiceInterfacePointUuid,
      encryption: e.encryption,
      siteId: e.siteId,
    });
  }
}

@ObjectType()
export class TopologyImportResult {
  @Field(() => ID, { description: 'The topology revision this import created.' }) revision!: string;
  @Field(() => Int) nodes!: number;
  @Field(() => Int) sites!: number;
  @Field(() => Int) links!: number;
  @Field(() => Int) endpoints!: number;
}
