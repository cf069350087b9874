import type { UploadLine } from '../ingest/lines';
import { NfsiostatReader } from '../ingest/nfsiostat';
import { reject } from '../ingest/records';
import type { BatchOutcome, IoSampleRow, RunsRepository } from '../runs.repository';
import { Ingest, Tally, UPLOAD_BOUNDS, UploadOptions, capExceeded, rounds, tooLong, underRunLock } from './upload';

/** nfsiostat output: its reports of each mount point, read and write, as I/O samples of the client node. */
export class NfsiostatIngest implements Ingest {
  private readonly reader: NfsiostatReader;
  private batch: Array<{ key: string; value: IoSampleRow; line: number }> = [];

  constructor(
    private readonly repository: RunsRepository,
    private readonly cap: number,
    private readonly runId: string,
    private readonly tally: Tally,
    private readonly options: UploadOptions,
  ) {
    this.reader = new NfsiostatReader(options.firstReport);
  }

  async take(line: UploadLine): Promise<void> {
    if (line.text === null) return this.tally.reject(tooLong(line.number));
    this.collect(this.reader.read(line.number, line.text));
    if (this.batch.length >= UPLOAD_BOUNDS.batchRows) await this.store();
  }

  async finish(): Promise<void> {
    this.collect(this.reader.finish());
    await this.store();
  }

  extra(): Record<string, unknown> {
    return { node: this.options.node, mountPoints: this.reader.mountPoints, skippedLines: this.reader.skipped };
  }

  private collect(items: ReturnType<NfsiostatReader['read']>): void {
    const { node, startedAt, intervalSeconds } = this.options;
    for (const item of items) {
      if ('rejection' in item) {
        this.tally.reject(item.rejection);
        continue;
      }
      const s = item.sample;
      const at = startedAt !== null && intervalSeconds !== null ? startedAt + BigInt(Math.round(s.report * intervalSeconds * 1e6)) : null;
      const row: IoSampleRow = { ...s, node, at, intervalSeconds: s.report === 0 ? null : intervalSeconds };
      this.batch.push({ key: `${s.mountPoint}\u0000${s.report}\u0000${s.direction}`, value: row, line: s.line });
    }
  }

  private async store(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    const outcomes = await underRunLock(this.repository, this.runId, async (m, locked) => {
      const outcomes: Array<{ outcome: BatchOutcome; row: IoSampleRow; line: number }> = [];
      for (const round of rounds(batch)) {
        const result = await this.repository.insertIoSamples(
          m,
          this.runId,
          round.map((r) => r.value),
        );
        round.forEach((r, i) => outcomes.push({ outcome: result[i], row: r.value, line: r.line }));
      }
      const stored = outcomes.filter((o) => o.outcome === 'STORED').length;
      if (locked.ioSampleCount + stored > this.cap) throw capExceeded('I/O samples', locked.ioSampleCount, this.cap);
      await this.repository.addIoSamples(m, this.runId, stored);
      return outcomes;
    });
    this.tally.count(
      outcomes.map((o) => o.outcome),
      (i) => {
        const r = outcomes[i].row;
        return reject(
          outcomes[i].line,
          r.direction.toLowerCase(),
          `report ${r.report} of ${r.mountPoint}${r.node ? ` on ${r.node}` : ''} was stored before with other values; upload another node's output with ?node=, or a later part with ?firstReport=`,
        );
      },
    );
  }
}
