import type { Persistence } from './core/database/data-source-options';
import { MIGRATIONS } from '../migrations';
import { AUDIT_TABLES } from './audit/audit.tables';
import { RESERVATION_TABLES } from './reservations/reservations.tables';
import { TENANCY_TABLES } from './tenancy/tenancy.tables';
import { TOPOLOGY_TABLES } from './topology/topology.tables';
import { PROTECTION_TABLES } from './protection/protection.tables';
import { METERING_TABLES } from './metering/metering.tables';
import { PROVISIONING_TABLES } from './provisioning/provisioning.tables';
import { PLANNING_TABLES } from './planning/planning.tables';
import { QUOTA_TABLES } from './quotas/quotas.tables';
import { WEBHOOK_TABLES } from './webhooks/webhooks.tables';
import { RUN_TABLES } from './runs/runs.tables';
import { STORAGE_TABLES } from './storage/storage.tables';

/**
 * What the database holds: every capability's tables (each capability lists its own in <capability>.tables.ts)
 * and the migrations that build them (migrations/index.ts, in timestamp order). The only place both meet;
 * core receives them (CoreModule.forRoot) and imports no capability.
 */
export const PERSISTENCE: Persistence = {
  entities: [
    ...AUDIT_TABLES,
    ...RESERVATION_TABLES,
    ...TENANCY_TABLES,
    ...TOPOLOGY_TABLES,
    ...PROTECTION_TABLES,
    ...METERING_TABLES,
    ...PROVISIONING_TABLES,
    ...PLANNING_TABLES,
    ...QUOTA_TABLES,
    ...WEBHOOK_TABLES,
    ...RUN_TABLES,
    ...STORAGE_TABLES,
  ],
  migrations: MIGRATIONS,
};
