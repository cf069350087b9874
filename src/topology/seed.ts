import type { INestApplicationContext } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import type { AppConfig } from '../core/config/config';
import referenceTopology from './reference-topology.json';
import { TopologyService } from './topology.service';

/** APN_SEED=reference loads the reference topology shipped with the service into an empty database. */
export async function seedIfEmpty(app: INestApplicationContext, config: AppConfig): Promise<void> {
  if (config.seed !== 'reference') return;
  const topology = app.get(TopologyService);
  if (!(await topology.isEmpty())) return;
  try {
    const summary = await topology.importTopology(referenceTopology, { actor: 'seed' });
    new Logger('Seed').log(`reference topology loaded: ${summary.nodes} nodes, ${summary.links} links, ${summary.endpoints} endpoints`);
  } catch (error) {
    // Another replica seeding at the same moment wins the unique codes; that is the same outcome.
    if (!(await topology.isEmpty())) return;
    throw error;
  }
}
