import { RateCardEntity, UsageDailyTotalEntity, UsageEventEntity } from './metering.entities';

/** The entities (tables) metering owns, registered with the database by src/persistence.ts. */
export const METERING_TABLES = [UsageEventEntity, RateCardEntity, UsageDailyTotalEntity];
