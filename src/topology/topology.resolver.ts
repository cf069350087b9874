import { Args, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { JSONScalar } from '../core/graphql/scalars';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { Endpoint, Link, Node, Site, TopologyImportResult } from './topology.models';
import { TopologyService } from './topology.service';

/** Topology reads are served from the cached snapshot, so navigating relations costs no queries. */
@Resolver()
export class TopologyResolver {
  constructor(private readonly topology: TopologyService) {}

  @Query(() => [Site])
  async sites(): Promise<Site[]> {
    return [...(await this.topology.snapshot()).sites.values()].map(Site.from);
  }

  @Query(() => [Node])
  async nodes(): Promise<Node[]> {
    return [...(await this.topology.snapshot()).nodes.values()].map(Node.from);
  }

  @Query(() => [Link])
  async links(): Promise<Link[]> {
    return [...(await this.topology.snapshot()).links.values()].map(Link.from);
  }

  @Query(() => [Endpoint], { description: 'Transponder ports, optionally of one site and line rate.' })
  async endpoints(
    @Args('siteId', { type: () => ID, nullable: true }) siteId?: string,
    @Args('rateGbps', { nullable: true }) rateGbps?: number,
  ): Promise<Endpoint[]> {
    const all = [...(await this.topology.snapshot()).endpoints.values()];
    return all
      .filter((e) => (siteId ? e.siteId === siteId : true) && (rateGbps ? e.rateGbps === rateGbps : true))
      .map(Endpoint.from);
  }

  @Mutation(() => TopologyImportResult, {
    description: 'Loads a topology document in one transaction: all of it, or nothing. Operator only.',
  })
  @Roles(Role.OPERATOR)
  async importTopology(
    @Args('document', { type: () => JSONScalar }) document: unknown,
    @CurrentPrincipal() principal: Principal,
  ): Promise<TopologyImportResult> {
    return Object.assign(new TopologyImportResult(), await this.topology.importTopology(document, principal));
  }
}

@Resolver(() => Site)
export class SiteResolver {
  constructor(private readonly topology: TopologyService) {}

  @ResolveField(() => Node, { nullable: true })
  async node(@Parent() site: Site): Promise<Node | null> {
    const node = site.nodeId ? (await this.topology.snapshot()).nodes.get(site.nodeId) : undefined;
    return node ? Node.from(node) : null;
  }

  @ResolveField('endpoints', () => [Endpoint])
  async siteEndpoints(@Parent() site: Site): Promise<Endpoint[]> {
    return ((await this.topology.snapshot()).endpointsBySite.get(site.id) ?? []).map(Endpoint.from);
  }
}

@Resolver(() => Endpoint)
export class EndpointResolver {
  constructor(private readonly topology: TopologyService) {}

  @ResolveField(() => Site)
  async site(@Parent() endpoint: Endpoint): Promise<Site> {
    const site = (await this.topology.snapshot()).sites.get(endpoint.siteId);
    if (!site) throw new Error(`endpoint ${endpoint.id} refers to missing site ${endpoint.siteId}`);
    return Site.from(site);
  }
}

@Resolver(() => Link)
export class LinkResolver {
  constructor(private readonly topology: TopologyService) {}

  @ResolveField(() => Node)
  async a(@Parent() link: Link): Promise<Node> {
    return this.nodeOf(link.aNodeId);
  }

  @ResolveField(() => Node)
  async b(@Parent() link: Link): Promise<Node> {
    return this.nodeOf(link.bNodeId);
  }

  private async nodeOf(id: string): Promise<Node> {
    const node = (await this.topology.snapshot()).nodes.get(id);
    if (!node) throw new Error(`link refers to missing node ${id}`);
    return Node.from(node);
  }
}

@Resolver(() => Node)
export class NodeResolver {
  constructor(private readonly topology: TopologyService) {}

  @ResolveField(() => Site, { nullable: true, description: 'The site this node serves, if any.' })
  async site(@Parent() node: Node): Promise<Site | null> {
    const site = (await this.topology.snapshot()).sitesByNode.get(node.id);
    return site ? Site.from(site) : null;
  }
}
