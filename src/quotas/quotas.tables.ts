import { TenantQuotaEntity } from './tenant-quota.entity';

/** The entities (tables) quotas owns, registered with the database by src/persistence.ts. */
export const QUOTA_TABLES = [TenantQuotaEntity];
