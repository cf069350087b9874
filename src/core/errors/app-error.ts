import { GraphQLError } from 'graphql';

/** The closed set of error codes clients may see in `extensions.code` (DESIGN §2a). */
export enum ErrorCode {
  UNAUTHENTICATED = 'UNAUTHENTICATED',
  FORBIDDEN = 'FORBIDDEN',
  NOT_FOUND = 'NOT_FOUND',
  BAD_USER_INPUT = 'BAD_USER_INPUT',
  NO_CAPACITY = 'NO_CAPACITY',
  INVALID_STATE = 'INVALID_STATE',
  CONFLICT = 'CONFLICT',
  INTERNAL = 'INTERNAL',
}

/** HTTP status a code maps to when an error is answered outside GraphQL execution. */
export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case ErrorCode.UNAUTHENTICATED:
      return 401;
    case ErrorCode.FORBIDDEN:
      return 403;
    case ErrorCode.NOT_FOUND:
      return 404;
    case ErrorCode.BAD_USER_INPUT:
      return 400;
    case ErrorCode.NO_CAPACITY:
    case ErrorCode.INVALID_STATE:
    case ErrorCode.CONFLICT:
      return 409;
    case ErrorCode.INTERNAL:
      return 500;
    default: {
      const unhandled: never = code;
      return unhandled;
    }
  }
}

/**
 * An error a user can act on. `field` names the offending input (e.g. `input.end`) so a console can
 * point at it; `details` carries machine-readable context. Messages say what was wrong and what to do.
 */
export class AppError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { field?: string; details?: Record<string, unknown> } = {},
  ) {
    super(message, {
      extensions: {
        code,
        ...(options.field ? { field: options.field } : {}),
        ...(options.details ?? {}),
      },
    });
  }
}

export const badInput = (field: string, message: string, details?: Record<string, unknown>) =>
  new AppError(ErrorCode.BAD_USER_INPUT, message, { field, details });

export const notFound = (what: string, id: string) =>
  new AppError(ErrorCode.NOT_FOUND, `${what} ${id} does not exist or is not visible to you.`, {
    details: { id },
  });

export const forbidden = (message: string) => new AppError(ErrorCode.FORBIDDEN, message);
export const invalidState = (message: string, details?: Record<string, unknown>) =>
  new AppError(ErrorCode.INVALID_STATE, message, { details });
export const conflict = (message: string, field?: string) => new AppError(ErrorCode.CONFLICT, message, { field });
export const noCapacity = (message: string, details?: Record<string, unknown>) => new AppError(ErrorCode.NO_CAPACITY, message, { details });

/** PostgreSQL SQLSTATEs the service reacts to. */
export const PgErrorCode = {
  EXCLUSION_VIOLATION: '23P01',
  UNIQUE_VIOLATION: '23505',
  FOREIGN_KEY_VIOLATION: '23503',
  SERIALIZATION_FAILURE: '40001',
  DEADLOCK_DETECTED: '40P01',
  /** A limit the database enforces beyond the exclusion constraints (a tenant's quota) refused the write. */
  CAPACITY_REFUSED: 'AQ001',
} as const;

export function pgErrorCode(error: unknown): string | undefined {
  const e = error as { code?: unknown; driverError?: { code?: unknown } } | null;
  const code = e?.driverError?.code ?? e?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Refusals the database decides itself, by SQLSTATE: rules enforced in SQL (by triggers) that no check in a
 * service could enforce under concurrency. Such an error's message says what was refused, its hint what to
 * do, and its detail is a JSON object of machine-readable context for `extensions`.
 */
const DATABASE_REFUSALS: ReadonlyMap<string, ErrorCode> = new Map([[PgErrorCode.CAPACITY_REFUSED, ErrorCode.NO_CAPACITY]]);

/** Extensions a refusal's detail may not set: they are the service's to give. */
const RESERVED_EXTENSIONS = new Set(['code', 'field', 'reference']);

/**
 * The error a client sees for a refusal the database raised (see DATABASE_REFUSALS), or null when `error`
 * is not one. Only scalar values of the detail become extensions.
 */
export function databaseRefusal(error: unknown): AppError | null {
  const code = pgErrorCode(error);
  const appCode = code === undefined ? undefined : DATABASE_REFUSALS.get(code);
  if (appCode === undefined) return null;
  const e = error as {
    message?: unknown;
    detail?: unknown;
    hint?: unknown;
    driverError?: { message?: unknown; detail?: unknown; hint?: unknown };
  };
  const source = e.driverError ?? e;
  const text = (value: unknown): string => (typeof value === 'string' ? value.trim() : '');
  const message = [text(source.message), text(source.hint)].filter((part) => part.length > 0).join(' ');
  const details: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text(source.detail) || '{}');
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      for (const [key, value] of Object.entries(parsed)) {
        const scalar = value === null || ['string', 'number', 'boolean'].includes(typeof value);
        if (scalar && !RESERVED_EXTENSIONS.has(key)) details[key] = value;
      }
    }
  } catch {
    // A detail that is not JSON adds nothing; the message still says what was refused.
  }
  return new AppError(appCode, message || 'The database refused this change.', { details });
}
