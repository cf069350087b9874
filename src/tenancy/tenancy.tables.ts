import { ApiKeyEntity, TenantEntity } from './tenancy.entities';

/** The entities (tables) tenancy owns, registered with the database by src/persistence.ts. */
export const TENANCY_TABLES = [TenantEntity, ApiKeyEntity];
