import { Module } from '@nestjs/common';
import { EndpointResolver, LinkResolver, NodeResolver, SiteResolver, TopologyResolver } from './topology.resolver';
import { TopologyRepository } from './topology.repository';
import { TopologyService } from './topology.service';

@Module({
  providers: [TopologyRepository, TopologyService, TopologyResolver, SiteResolver, EndpointResolver, LinkResolver, NodeResolver],
  exports: [TopologyService],
})
export class TopologyModule {}
