import { EndpointEntity, LinkEntity, NodeEntity, SiteEntity, TopologyRevisionEntity } from './topology.entities';

/** The entities (tables) topology owns, registered with the database by src/persistence.ts. */
export const TOPOLOGY_TABLES = [NodeEntity, SiteEntity, LinkEntity, EndpointEntity, TopologyRevisionEntity];
