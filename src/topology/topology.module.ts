import { Module } from '@nestjs/common';
import { EndpointResolver, LinkResolver, NodeResolver, SiteResolver, TopologyResolver } from './topology.resolver';
import { TopologyService } from './topology.service';

@Module({
  providers: [TopologyService, TopologyResolver, SiteResolver, EndpointResolver, LinkResolver, NodeResolver],
  exports: [TopologyService],
})
export class TopologyModule {}
