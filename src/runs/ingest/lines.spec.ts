import { Readable } from 'node:stream';
import { UploadLine, UploadTooLargeError, readLines } from './lines';

async function collect(chunks: Array<string | Buffer>, limits = { maxBytes: 1 << 20, maxLineBytes: 16 }): Promise<UploadLine[]> {
  const out: UploadLine[] = [];
  for await (const group of readLines(Readable.from(chunks), limits)) out.push(...group);
  return out;
}

describe('upload lines', () => {
  it('splits lines across chunks, drops CR and a BOM, and keeps a last line without LF', async () => {
    const lines = await collect(['\ufeffab', 'c\r\nde', 'f\n\nlast']);
    expect(lines).toEqual([
      { number: 1, text: 'abc' },
      { number: 2, text: 'def' },
      { number: 3, text: '' },
      { number: 4, text: 'last' },
    ]);
  });

  it('never breaks a UTF-8 character split between chunks', async () => {
    const bytes = Buffer.from('日本語\n');
    expect(await collect([bytes.subarray(0, 2), bytes.subarray(2, 5), bytes.subarray(5)])).toEqual([{ number: 1, text: '日本語' }]);
  });

  it('reports an over-long line without keeping its bytes, and goes on', async () => {
    const lines = await collect(['short\n', 'x'.repeat(10), 'x'.repeat(10), 'x\n', 'ok\n']);
    expect(lines).toEqual([
      { number: 1, text: 'short' },
      { number: 2, text: null },
      { number: 3, text: 'ok' },
    ]);
  });

  it('stops past the byte limit, after the lines wholly within it', async () => {
    const out: UploadLine[] = [];
    const reading = (async () => {
      for await (const group of readLines(Readable.from(['aaaa\nbbbb\ncccc\n']), { maxBytes: 12, maxLineBytes: 100 })) out.push(...group);
    })();
    await expect(reading).rejects.toBeInstanceOf(UploadTooLargeError);
    expect(out.map((l) => l.text)).toEqual(['aaaa', 'bbbb']);
  });
});
