import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { outsideRequestBudget } from '../core/graphql/request-budget';
import { DatabaseNotifications } from '../core/database/notifications';
import { AppError, ErrorCode } from '../core/errors/app-error';
import { ApiKeysRepository } from './api-keys.repository';
import { AuthService, KEY_CACHE_TTL_MS, secretStanding } from './auth.service';
import type { Principal } from './principal';

/** The WebSocket a subscription runs on, as far as ending it goes. */
export interface SubscriptionSocket {
  close(code: number, reason: string): void;
}

/** Announced by PostgreSQL when a key is revoked or deleted (migration ApiKeyRevokedNotify). */
export const API_KEY_REVOKED_CHANNEL = 'apn_api_key_revoked';
/**
 * How often a process re-reads the keys of its open subscriptions, for a revocation whose notification never
 * reached it (its listening connection was down then). The same bound as a replica's memory of verified keys.
 */
export const SUBSCRIPTION_KEY_RECHECK_MS = KEY_CACHE_TTL_MS;
/** graphql-ws's close code for a connection whose credentials are refused ("Forbidden"). */
export const KEY_REVOKED_CLOSE_CODE = 4403;
export const KEY_REVOKED_CLOSE_REASON = 'API key revoked';
/** The close reason when the secret a subscription authenticated with expired or was rotated out. */
export const KEY_EXPIRED_CLOSE_REASON = 'API key expired';
/** How long a subscription's final error may take to be written before its socket is closed regardless. */
const FINAL_ERROR_GRACE_MS = 1000;

export function keyRevoked(keyId: string): AppError {
  return new AppError(
    ErrorCode.UNAUTHENTICATED,
    `API key ${keyId} has been revoked; this subscription has ended. Connect again with a valid token.`,
    { details: { keyId } },
  );
}

export function keySecretEnded(keyId: string, why: string): AppError {
  return new AppError(ErrorCode.UNAUTHENTICATED, `${why.replace('<key>', `API key ${keyId}`)} This subscription has ended.`, {
    details: { keyId },
  });
}

/**
 * Ties every open subscription to the API key it authenticated with, so that revoking the key ends the
 * subscription on whichever api process holds it. Two paths, so that no single process's memory decides:
 * PostgreSQL announces each revocation on commit (LISTEN/NOTIFY), which ends the key's subscriptions at once;
 * and every SUBSCRIPTION_KEY_RECHECK_MS the process re-reads the keys of its open subscriptions, which ends
 * them even if the announcement was missed. The re-read also ends, within the same interval, a subscription
 * whose secret expired or was rotated out (its overlap ended, or a later rotation replaced it). An ended
 * subscription receives a final UNAUTHENTICATED error, then its socket is closed with code 4403 and the
 * reason "API key revoked" (or "API key expired").
 *
 * The operator bootstrap token is no key and cannot be revoked through the API: its subscriptions are not
 * tracked (replace APN_ADMIN_TOKEN and restart the processes instead).
 */
@Injectable()
export class ApiKeySessions implements OnModuleDestroy {
  private readonly logger = new Logger(ApiKeySessions.name);
  private readonly byKey = new Map<string, Set<KeySession<unknown>>>();
  private recheckTimer: NodeJS.Timeout | null = null;
  private rechecking: Promise<void> | null = null;

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly notifications: DatabaseNotifications,
    private readonly auth: AuthService,
  ) {}

  /** Wraps a subscription's event stream so that it ends when the principal's key is revoked. */
  async bind<T>(
    principal: Principal | undefined,
    socket: SubscriptionSocket | undefined,
    events: AsyncIterableIterator<T>,
  ): Promise<AsyncIterableIterator<T>> {
    const keyId = principal?.keyId;
    if (!keyId) return events;
    const listening = this.notifications.listen(API_KEY_REVOKED_CHANNEL, this.onRevoked, this.recheckNow);
    const session: KeySession<T> = new KeySession(keyId, principal?.credential?.tokenSha256 ?? null, socket, events, () => {
      this.remove(session);
      void listening.then(
        (release) => release(),
        () => undefined,
      );
    });
    this.add(session);
    try {
      await listening;
      // Read once listening: a revocation committed from now on is announced to this session, and one
      // committed before is seen here (the connection may have been authenticated minutes ago).
      await this.endInvalid([session]);
    } catch (error) {
      await session.return();
      throw error;
    }
    return session;
  }

  onModuleDestroy(): void {
    this.stopRechecking();
  }

  private add(session: KeySession<unknown>): void {
    const sessions = this.byKey.get(session.keyId) ?? new Set();
    sessions.add(session);
    this.byKey.set(session.keyId, sessions);
    // The timer outlives whatever started it: it must not inherit a request's time budget.
    this.recheckTimer ??= outsideRequestBudget(() => setInterval(this.recheckNow, SUBSCRIPTION_KEY_RECHECK_MS).unref());
  }

  private remove(session: KeySession<unknown>): void {
    const sessions = this.byKey.get(session.keyId);
    sessions?.delete(session);
    if (sessions?.size === 0) this.byKey.delete(session.keyId);
    if (this.byKey.size === 0) this.stopRechecking();
  }

  private stopRechecking(): void {
    if (this.recheckTimer) clearInterval(this.recheckTimer);
    this.recheckTimer = null;
  }

  private readonly onRevoked = (keyId: string): void => {
    this.auth.forget(keyId);
    this.end([...(this.byKey.get(keyId) ?? [])], keyRevoked(keyId), KEY_REVOKED_CLOSE_REASON);
  };

  /** Re-reads the keys of the open subscriptions and ends those no longer valid; one read at a time. */
  private readonly recheckNow = (): void => {
    this.rechecking ??= this.recheck()
      .catch((error: unknown) => this.logger.warn({ err: error }, 'could not re-check the keys of open subscriptions; retrying later'))
      .finally(() => {
        this.rechecking = null;
      });
  };

  private async recheck(): Promise<void> {
    await this.endInvalid([...this.byKey.values()].flatMap((sessions) => [...sessions]));
  }

  /** Reads the keys of `sessions` and ends those whose key was revoked or whose secret no longer works. */
  private async endInvalid(sessions: ReadonlyArray<KeySession<unknown>>): Promise<void> {
    if (sessions.length === 0) return;
    const keyIds = [...new Set(sessions.map((s) => s.keyId))];
    const rows = await this.keys.liveCredentials(keyIds);
    const live = new Map(rows.map((r) => [r.id, r]));
    const now = Date.now();
    for (const keyId of keyIds) {
      const row = live.get(keyId);
      const ofKey = sessions.filter((s) => s.keyId === keyId);
      if (!row) {
        this.auth.forget(keyId);
        this.end(ofKey, keyRevoked(keyId), KEY_REVOKED_CLOSE_REASON);
        continue;
      }
      for (const session of ofKey) {
        if (session.tokenSha256 === null) continue;
        const standing = secretStanding(row, Buffer.from(session.tokenSha256, 'hex'), now);
        const why =
          standing === null ? 'The secret of <key> this subscription authenticated with was replaced by a later rotation.' : standing.ended;
        if (why !== null) this.end([session], keySecretEnded(keyId, why), KEY_EXPIRED_CLOSE_REASON);
      }
    }
  }

  /** Ends these subscriptions in this process, then closes their sockets once the error is out. */
  private end(sessions: ReadonlyArray<KeySession<unknown>>, error: AppError, closeReason: string): void {
    if (sessions.length === 0) return;
    const keyId = sessions[0].keyId;
    const sockets = new Map<SubscriptionSocket, Array<Promise<void>>>();
    for (const session of sessions) {
      session.end(error);
      if (session.socket) sockets.set(session.socket, [...(sockets.get(session.socket) ?? []), session.finalErrorTaken]);
    }
    for (const [socket, taken] of sockets) {
      const grace = new Promise<void>((resolve) => setTimeout(resolve, FINAL_ERROR_GRACE_MS).unref());
      // Taking the error and writing it to the socket happen in one turn of the event loop: close after it.
      void Promise.race([Promise.all(taken), grace]).then(() =>
        setImmediate(() => {
          try {
            socket.close(KEY_REVOKED_CLOSE_CODE, closeReason);
          } catch (closeError) {
            this.logger.warn({ err: closeError }, 'could not close the socket of a revoked key');
          }
        }),
      );
    }
    this.logger.log(
      { keyId, subscriptions: sessions.length, reason: closeReason },
      'ended subscriptions of an API key that no longer authenticates them',
    );
  }
}

const DONE = { value: undefined, done: true } as const;

/** A subscription's event stream that can be ended with an error, once, from outside. */
class KeySession<T> implements AsyncIterableIterator<T> {
  private ended: AppError | null = null;
  private done = false;
  /** Fails the read in progress; one per read, so a long subscription accumulates nothing. */
  private interruptRead: ((error: AppError) => void) | null = null;
  private resolveTaken!: () => void;
  /** Resolves when the reader (the GraphQL server) has taken the final error. */
  readonly finalErrorTaken = new Promise<void>((resolve) => (this.resolveTaken = resolve));

  constructor(
    readonly keyId: string,
    /** Which of the key's secrets opened it (SHA-256 of the token), or null when unknown. */
    readonly tokenSha256: string | null,
    readonly socket: SubscriptionSocket | undefined,
    private readonly events: AsyncIterableIterator<T>,
    private readonly onRelease: () => void,
  ) {}

  async next(): Promise<IteratorResult<T>> {
    if (this.done) return DONE;
    if (!this.ended) {
      const interrupted = new Promise<never>((_, reject) => (this.interruptRead = reject));
      try {
        const result = await Promise.race([this.events.next(), interrupted]);
        // An event that arrives with the revocation is not delivered.
        if (!this.ended) return result;
      } catch (error) {
        if (!this.ended) throw error;
      } finally {
        this.interruptRead = null;
      }
    }
    this.done = true;
    this.resolveTaken();
    throw this.ended;
  }

  /** Ends the stream: the pending or next read fails with `error`; the events stop at once. */
  end(error: AppError): void {
    if (this.done || this.ended) return;
    this.ended = error;
    // Interrupted before the events are released, so a pending read takes the error, not the end of the events.
    this.interruptRead?.(error);
    this.onRelease();
    void this.events.return?.();
  }

  async return(): Promise<IteratorResult<T>> {
    if (!this.done) {
      this.done = true;
      this.resolveTaken();
      if (!this.ended) this.onRelease();
      await this.events.return?.();
    }
    return DONE;
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
