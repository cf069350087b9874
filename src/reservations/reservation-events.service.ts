import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { DatabaseNotifications } from '../core/database/notifications';
import { ReservationState } from './reservation-state';

/** What a transition announces (see the migration ReservationUpdatedNotify): enough to filter and reload. */
export interface ReservationUpdate {
  reservationId: string;
  tenantId: string;
  state: ReservationState;
  previousState: ReservationState | null;
  at: string;
  reason: string;
}

export const RESERVATION_UPDATED_CHANNEL = 'apn_reservation_updated';
/** A subscriber that falls this far behind loses its oldest events rather than the process's memory. */
const MAX_QUEUED_PER_SUBSCRIBER = 1000;

type Filter = (update: ReservationUpdate) => boolean;

/**
 * Fans out reservation transitions to GraphQL subscribers in this process. Transitions are announced by
 * PostgreSQL itself (a trigger NOTIFYs on commit), so a subscriber hears of every transition whichever
 * process made it: api, worker, or another replica, and never of one that was rolled back.
 *
 * The process listens (DatabaseNotifications) while any subscriber remains; if the connection drops, it
 * is reopened after a second (transitions committed in between are not replayed: clients re-read the
 * reservation on reconnect, as with any live feed).
 */
@Injectable()
export class ReservationEvents implements OnModuleDestroy {
  private readonly logger = new Logger(ReservationEvents.name);
  private readonly subscribers = new Set<Subscriber>();

  constructor(private readonly notifications: DatabaseNotifications) {}

  /** An iterator of the transitions that pass `filter`, from the moment the returned promise resolves. */
  async subscribe(filter: Filter): Promise<AsyncIterableIterator<ReservationUpdate>> {
    const listening = this.notifications.listen(RESERVATION_UPDATED_CHANNEL, this.dispatch);
    const subscriber = new Subscriber(filter, () => {
      this.subscribers.delete(subscriber);
      void listening.then(
        (release) => release(),
        () => undefined,
      );
    });
    this.subscribers.add(subscriber);
    try {
      await listening;
    } catch (error) {
      void subscriber.return();
      throw error;
    }
    return subscriber;
  }

  onModuleDestroy(): void {
    for (const s of [...this.subscribers]) void s.return();
  }

  private readonly dispatch = (payload: string): void => {
    let update: ReservationUpdate;
    try {
      update = JSON.parse(payload) as ReservationUpdate;
    } catch {
      this.logger.warn({ payload }, 'unreadable reservation event ignored');
      return;
    }
    for (const s of this.subscribers) s.offer(update);
  };
}

/** A bounded queue read as an async iterator; `return()` (client unsubscribed) releases it. */
class Subscriber implements AsyncIterableIterator<ReservationUpdate> {
  private readonly queue: ReservationUpdate[] = [];
  private waiting: ((result: IteratorResult<ReservationUpdate>) => void) | null = null;
  private done = false;

  constructor(
    private readonly filter: Filter,
    private readonly onClose: () => void,
  ) {}

  offer(update: ReservationUpdate): void {
    if (this.done || !this.filter(update)) return;
    if (this.waiting) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve({ value: update, done: false });
      return;
    }
    if (this.queue.length >= MAX_QUEUED_PER_SUBSCRIBER) this.queue.shift();
    this.queue.push(update);
  }

  next(): Promise<IteratorResult<ReservationUpdate>> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve({ value: queued, done: false });
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  return(): Promise<IteratorResult<ReservationUpdate>> {
    if (!this.done) {
      this.done = true;
      this.queue.length = 0;
      this.waiting?.({ value: undefined, done: true });
      this.waiting = null;
      this.onClose();
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ReservationUpdate> {
    return this;
  }
}
