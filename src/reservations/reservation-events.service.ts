import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Client, Notification } from 'pg';
import { DataSource } from 'typeorm';
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
const RECONNECT_DELAY_MS = 1000;

type Filter = (update: ReservationUpdate) => boolean;

/**
 * Fans out reservation transitions to GraphQL subscribers in this process. Transitions are announced by
 * PostgreSQL itself (a trigger NOTIFYs on commit), so a subscriber hears of every transition whichever
 * process made it: api, worker, or another replica, and never of one that was rolled back.
 *
 * One LISTEN connection per process, opened when the first subscriber arrives and kept while any remain;
 * if it drops, it is reopened after a second (transitions committed in between are not replayed: clients
 * re-read the reservation on reconnect, as with any live feed).
 */
@Injectable()
export class ReservationEvents implements OnModuleDestroy {
  private readonly logger = new Logger(ReservationEvents.name);
  private readonly subscribers = new Set<Subscriber>();
  private client: Client | null = null;
  private connecting: Promise<void> | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly dataSource: DataSource) {}

  /** An iterator of the transitions that pass `filter`, from the moment the returned promise resolves. */
  async subscribe(filter: Filter): Promise<AsyncIterableIterator<ReservationUpdate>> {
    const subscriber = new Subscriber(filter, () => {
      this.subscribers.delete(subscriber);
      if (this.subscribers.size === 0) void this.unlisten();
    });
    // Counted before the connection is awaited, so a concurrent last unsubscribe keeps the connection.
    this.subscribers.add(subscriber);
    try {
      await this.listen();
    } catch (error) {
      void subscriber.return();
      throw error;
    }
    return subscriber;
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    for (const s of [...this.subscribers]) void s.return();
    await this.unlisten();
  }

  private listen(): Promise<void> {
    if (this.client) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const { url } = this.dataSource.options as { url?: string };
    const client = new Client({ connectionString: url, application_name: 'apn-reservation-events' });
    client.on('notification', (message: Notification) => this.dispatch(message));
    client.on('error', (error) => {
      this.logger.warn({ err: error }, 'reservation events connection failed; reconnecting');
      this.dropClient(client);
    });
    client.on('end', () => this.dropClient(client));
    await client.connect();
    await client.query(`LISTEN ${RESERVATION_UPDATED_CHANNEL}`);
    this.client = client;
  }

  private dropClient(client: Client): void {
    if (this.client !== client) return;
    this.client = null;
    void client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.subscribers.size === 0 || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.closed || this.subscribers.size === 0) return;
      this.listen().then(
        () => this.logger.log('reservation events connection restored'),
        (error: unknown) => {
          this.logger.warn({ err: error }, 'reservation events reconnect failed; retrying');
          this.scheduleReconnect();
        },
      );
    }, RECONNECT_DELAY_MS);
  }

  /** Closes the LISTEN connection once nobody in this process is subscribed (or at shutdown). */
  private async unlisten(): Promise<void> {
    await this.connecting?.catch(() => undefined);
    if (this.subscribers.size > 0 && !this.closed) return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private dispatch(message: Notification): void {
    if (message.channel !== RESERVATION_UPDATED_CHANNEL || !message.payload) return;
    let update: ReservationUpdate;
    try {
      update = JSON.parse(message.payload) as ReservationUpdate;
    } catch {
      this.logger.warn({ payload: message.payload }, 'unreadable reservation event ignored');
      return;
    }
    for (const s of this.subscribers) s.offer(update);
  }
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
