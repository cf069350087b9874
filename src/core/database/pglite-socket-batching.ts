/**
 * One PGlite instance is one PostgreSQL session shared by every socket connection. pglite-socket keeps a
 * transaction's statements together, but outside a transaction it forwards the messages of an extended-
 * protocol query (Parse, Bind, Describe, Execute, Sync) one at a time, so two connections' queries can
 * interleave inside the shared session and one can execute the other's unnamed statement. This makes each
 * connection hand over everything up to and including its Sync (or a simple Query) as one unit.
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

const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'
const FLUSH = 0x48; // 'H'
const TERMINATE = 0x58; // 'X'
const PROTOCOL_V3 = 196608;

export function batchExtendedProtocolMessages(handlerClass: { prototype: object }): void {
  const proto = handlerClass.prototype as { handleData(data: Buffer): Promise<number> } & { __apnBatched?: boolean };
  if (proto.__apnBatched) return;
  proto.__apnBatched = true;
  proto.handleData = async function handleData(this: HandlerInternals, data: Buffer): Promise<number> {
    if (!this.socket || !this.active) return 0;
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
