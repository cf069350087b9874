import { ReferenceOverrideEntity } from './reference-override.entity';

/** The entities (tables) planning owns, registered with the database by src/persistence.ts. */
export const PLANNING_TABLES = [ReferenceOverrideEntity];
