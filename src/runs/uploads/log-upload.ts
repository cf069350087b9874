import type { UploadLine } from '../ingest/lines';
import { LogLevelName, logLevelOf } from '../ingest/log-levels';
import { reject } from '../ingest/records';
import type { LogLineRow, RunsRepository } from '../runs.repository';
import { Ingest, Tally, UPLOAD_BOUNDS, tooLong, underRunLock } from './upload';

/** The trainer's log: its lines kept in order (the first and last of them), counted by level. */
export class LogIngest implements Ingest {
  private batch: Array<{ level: LogLevelName | null; text: string }> = [];
  private readonly levels = { ERROR: 0, WARN: 0, INFO: 0, DEBUG: 0, OTHER: 0 };

  constructor(
    private readonly repository: RunsRepository,
    private readonly runId: string,
    private readonly tally: Tally,
  ) {}

  async take(line: UploadLine): Promise<void> {
    if (line.text === null) return this.tally.reject(tooLong(line.number));
    if (line.text.trim() === '') return;
    if (line.text.includes('\u0000'))
      return this.tally.reject(reject(line.number, 'text', 'contains a NUL character, which text cannot hold'));
    this.batch.push({ level: logLevelOf(line.text), text: line.text });
    if (this.batch.length >= UPLOAD_BOUNDS.batchRows) await this.store();
  }

  finish(): Promise<void> {
    return this.store();
  }

  extra(): Record<string, unknown> {
    return { levels: { ...this.levels } };
  }

  private async store(): Promise<void> {
    const batch = this.batch;
    this.batch = [];
    if (batch.length === 0) return;
    const levels = { ERROR: 0, WARN: 0, INFO: 0, DEBUG: 0 };
    for (const l of batch) if (l.level) levels[l.level] += 1;
    await underRunLock(this.repository, this.runId, async (m, locked) => {
      const lines: LogLineRow[] = batch.map((l, i) => ({ seq: locked.logLineCount + i + 1, level: l.level, text: l.text }));
      await this.repository.appendLogLines(m, this.runId, lines, levels);
    });
    this.tally.accepted += batch.length;
    for (const key of Object.keys(levels) as Array<keyof typeof levels>) this.levels[key] += levels[key];
    this.levels.OTHER += batch.length - levels.ERROR - levels.WARN - levels.INFO - levels.DEBUG;
  }
}
