import { Args, Context, Float, ID, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { JSONScalar } from '../core/graphql/scalars';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { Endpoint, Link, Node, Site, TopologyImportResult } from './topology.models';
import { TopologyService } from './topology.service';

/** The GraphQL context: its loaders hold the request's topology snapshot. */
type RequestContext = { loaders?: Record<string, unknown> };

/** Topology reads are served from the request's snapshot, so navigating relations costs no queries. */
@Resolver()
export class TopologyResolver {
  constructor(private readonly topology: TopologyService) {}

  @Query(() => [Site])
  async sites(@Context() ctx: RequestContext): Promise<Site[]> {
    return [...(await this.topology.forRequest(ctx)).sites.values()].map((item) => Site.from(item));
  }

  @Query(() => [Node])
  async nodes(@Context() ctx: RequestContext): Promise<Node[]> {
    return [...(await this.topology.forRequest(ctx)).nodes.values()].map((item) => Node.from(item));
  }

  @Query(() => [Link])
  async links(@Context() ctx: RequestContext): Promise<Link[]> {
    return [...(await this.topology.forRequest(ctx)).links.values()].map((item) => Link.from(item));
  }

  @Query(() => [Endpoint], { description: 'Transponder ports, optionally of one site and line rate.' })
  async endpoints(
    @Args('siteId', { type: () => ID, nullable: true }) siteId: string | undefined,
    @Args('rateGbps', { type: () => Float, nullable: true }) rateGbps: number | undefined,
    @Context() ctx: RequestContext,
  ): Promise<Endpoint[]> {
    const all = [...(await this.topology.forRequest(ctx)).endpoints.values()];
    return all
      .filter((e) => (siteId ? e.siteId === siteId : true) && (rateGbps ? e.rateGbps === rateGbps : true))
      .map((item) => Endpoint.from(item));
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
  async node(@Parent() site: Site, @Context() ctx: RequestContext): Promise<Node | null> {
    const node = site.nodeId ? (await this.topology.forRequest(ctx)).nodes.get(site.nodeId) : undefined;
    return node ? Node.from(node) : null;
  }

  @ResolveField('endpoints', () => [Endpoint])
  async siteEndpoints(@Parent() site: Site, @Context() ctx: RequestContext): Promise<Endpoint[]> {
    return ((await this.topology.forRequest(ctx)).endpointsBySite.get(site.id) ?? []).map((item) => Endpoint.from(item));
  }
}

@Resolver(() => Endpoint)
export class EndpointResolver {
  constructor(private readonly topology: TopologyService) {}

  @ResolveField(() => Site)
  async site(@Parent() endpoint: Endpoint, @Context() ctx: RequestContext): Promise<Site> {
    const site = (await this.topology.forRequest(ctx)).sites.get(endpoint.siteId);
    if (!site) throw new Error(`endpoint ${endpoint.id} refers to missing site ${endpoint.siteId}`);
    return Site.from(site);
  }
}

@Resolver(() => Link)
export class LinkResolver {
  constructor(private readonly topology: TopologyService) {}

  @ResolveField(() => Node)
  async a(@Parent() link: Link, @Context() ctx: RequestContext): Promise<Node> {
    return this.nodeOf(link.aNodeId, ctx);
  }

  @ResolveField(() => Node)
  async b(@Parent() link: Link, @Context() ctx: RequestContext): Promise<Node> {
    return this.nodeOf(link.bNodeId, ctx);
  }

  private async nodeOf(id: string, ctx: RequestContext): Promise<Node> {
    const node = (await this.topology.forRequest(ctx)).nodes.get(id);
    if (!node) throw new Error(`link refers to missing node ${id}`);
    return Node.from(node);
  }
}

@Resolver(() => Node)
export class NodeResolver {
  constructor(private readonly topology: TopologyService) {}

  @ResolveField(() => Site, { nullable: true, description: 'The site this node serves, if any.' })
  async site(@Parent() node: Node, @Context() ctx: RequestContext): Promise<Site | null> {
    const site = (await this.topology.forRequest(ctx)).sitesByNode.get(node.id);
    return site ? Site.from(site) : null;
  }
}
