import type { UploadLine } from '../ingest/lines';
import { PowerSample, parsePowerJson } from '../ingest/power';
import { reject } from '../ingest/records';
import type { BatchOutcome, RunsRepository } from '../runs.repository';
import { Ingest, Tally, UPLOAD_BOUNDS, capExceeded, rounds, tooLong, underRunLock } from './upload';

/** Power samples as NDJSON: one reading of a piece of equipment a line, its site by code or id. */
export class PowerIngest implements Ingest {
  private batch: Array<{ key: string; value: PowerSample; line: number }> = [];
  private readonly equipment = new Set<string>();

  constructor(
    private readonly repository: RunsRepository,
    private readonly cap: number,
    private readonly runId: string,
    private readonly tally: Tally,
    private readonly siteIdOf: (codeOrId: string) => string | null,
  ) {}

  async take(line: UploadLine): Promise<void> {
    if (line.text === null) return this.tally.reject(tooLong(line.number));
    if (line.text.trim() === '') return;
    const parsed = parsePowerJson(line.number, line.text, this.siteIdOf);
    if (!parsed.ok) return this.tally.reject(parsed.rejection);
    this.batch.push({ key: `${parsed.value.equipment}\u0000${parsed.value.time}`, value: parsed.value, line: line.number });
    if (this.batch.length >= UPLOAD_BOUNDS.batchRows) await this.store();
  }

  finish(): Promise<void> {
    return this.store();
  }

  extra(): Record<string, unknown> {
    return { equipment: [...this.equipment].sort() };
  }

  private async store(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    const outcomes = await underRunLock(this.repository, this.runId, async (m, locked) => {
      const outcomes: Array<{ outcome: BatchOutcome; row: PowerSample; line: number }> = [];
      for (const round of rounds(batch)) {
        const result = await this.repository.insertPowerSamples(
          m,
          this.runId,
          round.map((r) => r.value),
        );
        round.forEach((r, i) => outcomes.push({ outcome: result[i], row: r.value, line: r.line }));
      }
      const stored = outcomes.filter((o) => o.outcome === 'STORED').length;
      if (locked.powerSampleCount + stored > this.cap) throw capExceeded('power samples', locked.powerSampleCount, this.cap);
      await this.repository.addPowerSamples(m, this.runId, stored);
      return outcomes;
    });
    this.tally.count(
      outcomes.map((o) => o.outcome),
      (i) =>
        reject(
          outcomes[i].line,
          'watts',
          `${outcomes[i].row.equipment} at that time was stored before with other values; a sample is recorded once`,
        ),
    );
    for (const o of outcomes) if (o.outcome !== 'CONFLICT') this.equipment.add(o.row.equipment);
  }
}
