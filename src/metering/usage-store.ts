import { pgErrorCode } from '../core/errors/app-error';

/** Why the store refused a row it was given. */
export enum StoreRefusal {
  /** The row's series (source, meter, resource, window) is recorded for another tenant. */
  OTHER_TENANT = 'OTHER_TENANT',
  /** An ingested row reports one of the service's own meters for a resource the service meters. */
  METERED_BY_SERVICE = 'METERED_BY_SERVICE',
}

export interface StoreOutcome {
  /** (source, id) of the rows written; a row whose (source, id) was already stored is not among them. */
  written: Array<{ source: string; id: string }>;
  /** Rows refused, by position in the rows given. */
  refused: Array<{ position: number; refusal: StoreRefusal }>;
}

/**
 * A failure caused by the values of the rows rather than by the database's state: a data exception (class
 * 22, e.g. text PostgreSQL cannot hold), an integrity rule (23) or a size limit (54, e.g. an index entry too
 * large). Retrying the same rows fails the same way; inserting them one by one isolates the bad ones.
 */
export function isRowDataError(error: unknown): boolean {
  const code = pgErrorCode(error);
  return code !== undefined && (code.startsWith('22') || code.startsWith('23') || code.startsWith('54'));
}

/** A reason a client can act on for a row PostgreSQL refused, without the database's own words. */
export function storeFailureReason(error: unknown): string {
  const code = pgErrorCode(error) ?? '';
  if (code.startsWith('22'))
    return 'could not be stored: it holds text, a number or a date the database cannot store; check it against the bounds of usage events';
  if (code.startsWith('54')) return 'could not be stored: its ids are too large to index; shorten id, source or data.resourceId';
  return 'could not be stored: it breaks a rule of the usage records (for example a tenant that no longer exists)';
}
