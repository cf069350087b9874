/**
 * Lines of an uploaded body, read from the request stream as it arrives: nothing holds more than the chunk
 * in hand and the line being assembled. Lines end at LF (a CR before it is dropped); bytes are decoded as
 * UTF-8 per line, so a character split between two chunks is never broken.
 */

export interface UploadLine {
  /** 1-based line number in the upload. */
  readonly number: number;
  /** The line without its terminator, or null when it was longer than the line limit (its bytes are dropped). */
  readonly text: string | null;
}

/** The upload carried more bytes than allowed; `lines` complete lines were read before the limit. */
export class UploadTooLargeError extends Error {
  constructor(
    readonly limitBytes: number,
    readonly lines: number,
  ) {
    super(`the upload is larger than ${limitBytes} bytes`);
  }
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Yields the lines of `source` in groups (one group per chunk received), stopping with UploadTooLargeError
 * once more than `maxBytes` arrived. A line longer than `maxLineBytes` is yielded with `text: null`, and its
 * bytes are not kept while it lasts.
 */
export async function* readLines(
  source: AsyncIterable<Buffer | string>,
  limits: { maxBytes: number; maxLineBytes: number },
): AsyncGenerator<UploadLine[]> {
  let received = 0;
  let number = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  const finishLine = (tail: Buffer, out: UploadLine[]) => {
    number += 1;
    if (overlong || pendingBytes + tail.length > limits.maxLineBytes + 1) {
      out.push({ number, text: null });
    } else {
      let bytes = pendingBytes === 0 ? tail : Buffer.concat([...pending, tail], pendingBytes + tail.length);
      if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
      if (bytes.length > limits.maxLineBytes) out.push({ number, text: null });
      else {
        let text = bytes.toString('utf8');
        if (number === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
        out.push({ number, text });
      }
    }
    pending = [];
    pendingBytes = 0;
    overlong = false;
  };
  for await (const piece of source) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
    received += chunk.length;
    if (received > limits.maxBytes) {
      // The lines wholly within the limit still count; the one the limit cuts through does not.
      const allowed = chunk.subarray(0, chunk.length - (received - limits.maxBytes));
      const out: UploadLine[] = [];
      let start = 0;
      for (let end = allowed.indexOf(LF, start); end >= 0; end = allowed.indexOf(LF, start)) {
        finishLine(allowed.subarray(start, end), out);
        start = end + 1;
      }
      if (out.length > 0) yield out;
      throw new UploadTooLargeError(limits.maxBytes, number);
    }
    const out: UploadLine[] = [];
    let start = 0;
    for (let end = chunk.indexOf(LF, start); end >= 0; end = chunk.indexOf(LF, start)) {
      finishLine(chunk.subarray(start, end), out);
      start = end + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      if (overlong || pendingBytes + rest.length > limits.maxLineBytes + 1) {
        // Too long already: count its bytes, keep none of them.
        overlong = true;
        pending = [];
        pendingBytes += rest.length;
      } else {
        // Copied: the stream may reuse its buffer.
        pending.push(Buffer.from(rest));
        pendingBytes += rest.length;
      }
    }
    if (out.length > 0) yield out;
  }
  if (pendingBytes > 0 || overlong) {
    const out: UploadLine[] = [];
    finishLine(Buffer.alloc(0), out);
    yield out;
  }
}
