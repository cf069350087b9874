/**
 * One PGlite instance is one PostgreSQL session shared by every socket connection. Two consequences are
 * handled here:
 *  - pglite-socket keeps a transaction's statements together, but outside a transaction it forwards the
 *    messages of an extended-protocol query (Parse, Bind, Describe, Execute, Sync) one at a time, so two
 *    connections' queries could interleave inside the shared session and one could execute the other's
 *    unnamed statement. Each connection now hands over everything up to its Sync (or a simple Query) as one
 *    unit.
 *  - A NOTIFY's NotificationResponse comes back in the reply to whichever connection ran the NOTIFY, never
 *    to the connection that LISTENs (BullMQ's workers wait on one for new jobs). It is now also sent to every
 *    other connection, as a server would; clients that do not listen ignore it.
 */
interface HandlerInternals {
  socket: { writable: boolean; write(data: Buffer, cb?: (err?: Error) => void): boolean } | null;
  active: boolean;
  messageBuffer: Buffer;
  pendingBatch?: Buffer[];
  id: number;
  queryQueue: { enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> };
  handleSslRequest(): boolean;
  handleCancelRequest(): boolean;
}

const NOTIFICATION_RESPONSE = 0x41; // 'A'
const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'
const FLUSH = 0x48; // 'H'
const TERMINATE = 0x58; // 'X'
const PROTOCOL_V3 = 196608;

/** Whole NotificationResponse messages in a chunk of server output (which PGlite emits as whole messages). */
function notificationsIn(out: Uint8Array): Buffer[] {
  const found: Buffer[] = [];
  const buf = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  let offset = 0;
  while (offset + 5 <= buf.length) {
    const length = 1 + buf.readInt32BE(offset + 1);
    if (length < 5 || offset + length > buf.length) break;
    if (buf[offset] === NOTIFICATION_RESPONSE) found.push(Buffer.from(buf.subarray(offset, offset + length)));
    offset += length;
  }
  return found;
}

export function batchExtendedProtocolMessages(handlerClass: { prototype: object }): void {
  const proto = handlerClass.prototype as { handleData(data: Buffer): Promise<number> } & { __apnBatched?: boolean };
  if (proto.__apnBatched) return;
  proto.__apnBatched = true;
  const handlers = new Set<HandlerInternals>();
  proto.handleData = async function handleData(this: HandlerInternals, data: Buffer): Promise<number> {
    if (!this.socket || !this.active) {
      handlers.delete(this);
      return 0;
    }
    handlers.add(this);
    this.messageBuffer = Buffer.concat([this.messageBuffer, data]);
    let written = 0;
    const send = async (message: Buffer) => {
      let writeError: Error | undefined;
      await this.queryQueue.enqueue(this.id, new Uint8Array(message), (out) => {
        if (out.length > 0 && this.socket?.writable && this.active) {
          this.socket.write(Buffer.from(out), (err) => {
            if (err) writeError = err;
          });
        }
        written += out.length;
        for (const notification of notificationsIn(out)) {
          for (const other of handlers) {
            if (other === this) continue;
            if (other.socket?.writable && other.active) other.socket.write(notification);
            else handlers.delete(other);
          }
        }
      });
      if (writeError) throw writeError;
    };
    while (this.messageBuffer.length > 0) {
      if (this.handleSslRequest() || this.handleCancelRequest()) continue;
      if (this.messageBuffer.length < 5) break;
      // A startup message has no type byte: length, then the protocol version.
      const isStartup = this.messageBuffer.length >= 8 && this.messageBuffer.readInt32BE(4) === PROTOCOL_V3;
      const length = isStartup ? this.messageBuffer.readInt32BE(0) : 1 + this.messageBuffer.readInt32BE(1);
      if (this.messageBuffer.length < length) break;
      const message = this.messageBuffer.subarray(0, length);
      this.messageBuffer = this.messageBuffer.subarray(length);
      if (!this.active || !this.socket) break;
      if (isStartup) {
        await send(Buffer.from(message));
        continue;
      }
      const type = message[0];
      (this.pendingBatch ??= []).push(Buffer.from(message));
      if (type === SYNC || type === QUERY || type === FLUSH || type === TERMINATE) {
        const batch = Buffer.concat(this.pendingBatch);
        this.pendingBatch = [];
        await send(batch);
      }
    }
    return written;
  };
}
