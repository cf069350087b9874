/**
 * A set of channel numbers stored as a bitset over 32-bit words.
 *
 * Wavelength continuity means a lightpath needs one channel free on every hop,
 * so the free channels of a path are the AND of the per-hop free sets. Keeping
 * them as words makes that a handful of integer operations per hop, whatever
 * the channel count (96 channels = 3 words; nothing assumes ≤ 32).
 *
 * The set grows on demand; operations between sets of different lengths treat
 * the missing words as empty.
 */
export class ChannelSet implements Iterable<number> {
  private words: Uint32Array;

  constructor(capacity = 0) {
    this.words = new Uint32Array(wordsFor(capacity));
  }

  /** Channels 0..count-1, i.e. every channel a link with `count` channels carries. */
  static full(count: number): ChannelSet {
    const set = new ChannelSet(count);
    set.fillRange(count);
    return set;
  }

  static of(...channels: number[]): ChannelSet {
    const set = new ChannelSet();
    for (const channel of channels) set.add(channel);
    return set;
  }

  /** Number of channels the current storage can hold without growing. */
  get capacity(): number {
    return this.words.length * 32;
  }

  has(channel: number): boolean {
    if (!isChannelNumber(channel)) return false;
    const word = channel >>> 5;
    return word < this.words.length && (this.words[word] & (1 << (channel & 31))) !== 0;
  }

  add(channel: number): this {
    assertChannelNumber(channel);
    const word = channel >>> 5;
    if (word >= this.words.length) this.grow(word + 1);
    this.words[word] |= 1 << (channel & 31);
    return this;
  }

  delete(channel: number): this {
    if (!isChannelNumber(channel)) return this;
    const word = channel >>> 5;
    if (word < this.words.length) this.words[word] &= ~(1 << (channel & 31));
    return this;
  }

  /** In place: this ∪ other. */
  union(other: ChannelSet): this {
    if (other.words.length > this.words.length) this.grow(other.words.length);
    const theirs = other.words;
    for (let i = 0; i < theirs.length; i++) this.words[i] |= theirs[i];
    return this;
  }

  /** In place: this ∩ other. */
  intersect(other: ChannelSet): this {
    const theirs = other.words;
    const mine = this.words;
    const shared = Math.min(mine.length, theirs.length);
    for (let i = 0; i < shared; i++) mine[i] &= theirs[i];
    for (let i = shared; i < mine.length; i++) mine[i] = 0;
    return this;
  }

  /** In place: this \ other. */
  subtract(other: ChannelSet): this {
    const theirs = other.words;
    const mine = this.words;
    const shared = Math.min(mine.length, theirs.length);
    for (let i = 0; i < shared; i++) mine[i] &= ~theirs[i];
    return this;
  }

  /** In place: drops every channel ≥ count (channels a link with `count` channels does not carry). */
  truncate(count: number): this {
    const mine = this.words;
    const limit = Math.max(0, Math.floor(count));
    const fullWords = limit >>> 5;
    const rest = limit & 31;
    if (fullWords < mine.length) {
      mine[fullWords] &= rest === 0 ? 0 : maskBelow(rest);
      for (let i = fullWords + 1; i < mine.length; i++) mine[i] = 0;
    }
    return this;
  }

  clone(): ChannelSet {
    const copy = new ChannelSet();
    copy.words = this.words.slice();
    return copy;
  }

  clear(): this {
    this.words.fill(0);
    return this;
  }

  isEmpty(): boolean {
    const mine = this.words;
    for (let i = 0; i < mine.length; i++) if (mine[i] !== 0) return false;
    return true;
  }

  get size(): number {
    let total = 0;
    const mine = this.words;
    for (let i = 0; i < mine.length; i++) total += popcount(mine[i]);
    return total;
  }

  /** Lowest channel in the set, or null when empty. */
  first(): number | null {
    const mine = this.words;
    for (let i = 0; i < mine.length; i++) {
      const w = mine[i];
      if (w !== 0) return i * 32 + (31 - Math.clz32(w & -w));
    }
    return null;
  }

  /** Highest channel in the set, or null when empty. */
  last(): number | null {
    const mine = this.words;
    for (let i = mine.length - 1; i >= 0; i--) {
      const w = mine[i];
      if (w !== 0) return i * 32 + (31 - Math.clz32(w));
    }
    return null;
  }

  /** The n-th lowest channel (0-based), or null when the set has ≤ n channels. */
  nth(n: number): number | null {
    let remaining = n;
    const mine = this.words;
    for (let i = 0; i < mine.length; i++) {
      let w = mine[i];
      const count = popcount(w);
      if (remaining >= count) {
        remaining -= count;
        continue;
      }
      while (remaining > 0) {
        w &= w - 1;
        remaining--;
      }
      return i * 32 + (31 - Math.clz32(w & -w));
    }
    return null;
  }

  equals(other: ChannelSet): boolean {
    const longer = Math.max(this.words.length, other.words.length);
    for (let i = 0; i < longer; i++) {
      if ((this.words[i] ?? 0) !== (other.words[i] ?? 0)) return false;
    }
    return true;
  }

  toArray(): number[] {
    const out: number[] = [];
    const mine = this.words;
    for (let i = 0; i < mine.length; i++) {
      let w = mine[i];
      while (w !== 0) {
        const low = w & -w;
        out.push(i * 32 + (31 - Math.clz32(low)));
        w ^= low;
      }
    }
    return out;
  }

  [Symbol.iterator](): Iterator<number> {
    return this.toArray()[Symbol.iterator]();
  }

  toString(): string {
    return `ChannelSet{${this.toArray().join(',')}}`;
  }

  private fillRange(count: number): void {
    const fullWords = count >>> 5;
    this.words.fill(0xffffffff, 0, fullWords);
    const rest = count & 31;
    if (rest !== 0) this.words[fullWords] = maskBelow(rest);
  }

  private grow(wordCount: number): void {
    const next = new Uint32Array(wordCount);
    next.set(this.words);
    this.words = next;
  }
}

function wordsFor(channels: number): number {
  return Math.max(0, Math.ceil(channels / 32));
}

/** Bits 0..n-1 set, for 0 < n < 32. */
function maskBelow(n: number): number {
  return ((1 << n) - 1) >>> 0;
}

function popcount(word: number): number {
  let v = word - ((word >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
}

function isChannelNumber(channel: number): boolean {
  return Number.isInteger(channel) && channel >= 0;
}

function assertChannelNumber(channel: number): void {
  if (!isChannelNumber(channel)) {
    throw new RangeError(`channel must be a non-negative integer, got ${channel}`);
  }
}
