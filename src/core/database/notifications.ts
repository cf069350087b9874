import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Client, Notification } from 'pg';
import { DataSource } from 'typeorm';

export type NotificationHandler = (payload: string) => void;

interface Registration {
  /** How many callers hold this (channel, handler) pair; it is dropped at zero. */
  holders: number;
  /** Runs after a dropped connection is back: whatever was notified in between was lost. */
  onResume?: () => void;
}

const RECONNECT_DELAY_MS = 1000;
const CHANNEL_NAME = /^[a-z_][a-z0-9_]*$/;

/**
 * PostgreSQL LISTEN for the whole process, on one connection of its own: open while anybody listens,
 * closed when nobody does, and reopened a second after it drops. A NOTIFY reaches every listening process
 * when its transaction commits, and never when it rolls back, so what is announced is what is stored.
 *
 * A handler registered several times (one per subscriber, say) is called once per notification; each
 * `listen` is undone by calling the function it returns.
 */
@Injectable()
export class DatabaseNotifications implements OnModuleDestroy {
  private readonly logger = new Logger(DatabaseNotifications.name);
  private readonly channels = new Map<string, Map<NotificationHandler, Registration>>();
  private client: Client | null = null;
  /** Channels LISTENed on the current connection. */
  private readonly listening = new Set<string>();
  private connecting: Promise<Client> | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly dataSource: DataSource) {}

  /** Delivers `channel`'s payloads to `handler` from the moment the returned promise resolves. */
  async listen(channel: string, handler: NotificationHandler, onResume?: () => void): Promise<() => Promise<void>> {
    if (!CHANNEL_NAME.test(channel)) throw new Error(`not a channel name: ${channel}`);
    // Counted before the connection is awaited, so a concurrent last release keeps the connection.
    const handlers = this.channels.get(channel) ?? new Map<NotificationHandler, Registration>();
    this.channels.set(channel, handlers);
    const registration = handlers.get(handler) ?? { holders: 0, onResume };
    registration.holders += 1;
    handlers.set(handler, registration);
    let released = false;
    const release = async () => {
      if (released) return;
      released = true;
      registration.holders -= 1;
      if (registration.holders === 0 && handlers.get(handler) === registration) handlers.delete(handler);
      if (handlers.size === 0 && this.channels.get(channel) === handlers) this.channels.delete(channel);
      if (this.channels.size === 0) await this.disconnect();
    };
    try {
      const client = await this.connect();
      if (!this.listening.has(channel)) {
        await client.query(`LISTEN ${channel}`);
        if (this.client === client) this.listening.add(channel);
      }
    } catch (error) {
      await release();
      throw error;
    }
    return release;
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    this.channels.clear();
    await this.disconnect();
  }

  private connect(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.open().finally(() => {
      this.connecting = null;
    });
    return this.connecting;
  }

  private async open(): Promise<Client> {
    const { url } = this.dataSource.options as { url?: string };
    const client = new Client({ connectionString: url, application_name: 'apn-notifications' });
    client.on('notification', (message: Notification) => this.dispatch(message));
    client.on('error', (error) => {
      this.logger.warn({ err: error }, 'notification connection failed; reconnecting');
      this.drop(client);
    });
    client.on('end', () => this.drop(client));
    await client.connect();
    const channels = [...this.channels.keys()];
    for (const channel of channels) await client.query(`LISTEN ${channel}`);
    this.client = client;
    this.listening.clear();
    for (const channel of channels) this.listening.add(channel);
    return client;
  }

  private drop(client: Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.listening.clear();
    void client.end().catch(() => undefined);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.channels.size === 0 || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.closed || this.channels.size === 0) return;
      this.connect().then(
        () => {
          this.logger.log('notification connection restored');
          for (const handlers of this.channels.values()) for (const r of handlers.values()) r.onResume?.();
        },
        (error: unknown) => {
          this.logger.warn({ err: error }, 'notification reconnect failed; retrying');
          this.scheduleReconnect();
        },
      );
    }, RECONNECT_DELAY_MS);
  }

  /** Closes the connection once nobody in this process listens (or at shutdown). */
  private async disconnect(): Promise<void> {
    await this.connecting?.catch(() => undefined);
    if (this.channels.size > 0 && !this.closed) return;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    const client = this.client;
    this.client = null;
    this.listening.clear();
    await client?.end().catch(() => undefined);
  }

  private dispatch(message: Notification): void {
    const handlers = this.channels.get(message.channel);
    if (!handlers || message.payload === undefined) return;
    for (const handler of [...handlers.keys()]) {
      try {
        handler(message.payload);
      } catch (error) {
        this.logger.error({ err: error, channel: message.channel }, 'notification handler failed');
      }
    }
  }
}
