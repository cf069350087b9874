import { AuditEntryEntity } from './audit-entry.entity';
import { AuditCheckpointEntity } from './audit-checkpoint.entity';

/** The entities (tables) audit owns, registered with the database by src/persistence.ts. */
export const AUDIT_TABLES = [AuditEntryEntity, AuditCheckpointEntity];
