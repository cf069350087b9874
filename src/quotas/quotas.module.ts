import { Module } from '@nestjs/common';
import { TenancyModule } from '../tenancy/tenancy.module';
import { TopologyModule } from '../topology/topology.module';
import { QuotasRepository } from './quotas.repository';
import { QuotasResolver } from './quotas.resolver';
import { QuotasService } from './quotas.service';

@Module({
  imports: [TenancyModule, TopologyModule],
  providers: [QuotasRepository, QuotasService, QuotasResolver],
})
export class QuotasModule {}
