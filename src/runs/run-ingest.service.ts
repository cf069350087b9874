import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { AppError, badInput } from '../core/errors/app-error';
import type { Principal } from '../tenancy/principal';
import { TopologyService } from '../topology/topology.service';
import { UploadTooLargeError, readLines } from './ingest/lines';
import { TrainingRunEntity, TrainingRunState } from './run.entities';
import { RunsRepository } from './runs.repository';
import { RunsService } from './runs.service';
import { LogIngest } from './uploads/log-upload';
import { NfsiostatIngest } from './uploads/nfsiostat-upload';
import { PowerIngest } from './uploads/power-upload';
import { StepIngest } from './uploads/step-upload';
import { Ingest, Tally, UPLOAD_BOUNDS, UploadKind, UploadOptions, UploadStoppedError, UploadSummary, finished } from './uploads/upload';

export { UploadStoppedError };
export type { UploadKind, UploadOptions, UploadSummary };

/**
 * Streams an upload into a run: lines are read as they arrive, parsed, and stored in batches of
 * UPLOAD_BOUNDS.batchRows rows, one statement per batch, each batch in a transaction that holds the run's
 * row (so a run that completes meanwhile takes no more data). Bad lines are refused by number and field;
 * the good lines of the same upload are kept.
 */
@Injectable()
export class RunIngestService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: RunsRepository,
    private readonly runs: RunsService,
    private readonly topology: TopologyService,
  ) {}

  /** The run an upload goes to: visible to the caller, and still RECORDING. */
  async target(principal: Principal, id: string): Promise<TrainingRunEntity> {
    const run = await this.runs.visible(principal, id);
    if (run.state !== TrainingRunState.RECORDING) throw finished(run.id, run.state);
    return run;
  }

  async ingest(
    kind: UploadKind,
    run: TrainingRunEntity,
    body: AsyncIterable<Buffer | string>,
    options: UploadOptions,
  ): Promise<UploadSummary> {
    const tally = new Tally();
    const ingest = await this.ingestFor(kind, run, tally, options);
    const summary = () => tally.summary(ingest.extra());
    // A cap on the upload itself stops the reading; what was read before it is still stored.
    let cap: AppError | null = null;
    try {
      reading: for await (const group of readLines(body, {
        maxBytes: this.config.runUploadMaxBytes,
        maxLineBytes: UPLOAD_BOUNDS.maxLineBytes,
      })) {
        for (const line of group) {
          if (line.number > this.config.runUploadMaxLines) {
            cap = badInput(
              'body',
              `The upload has more than ${this.config.runUploadMaxLines} lines (APN_RUN_UPLOAD_MAX_LINES); the lines up to ${this.config.runUploadMaxLines} were read. Upload the rest separately.`,
            );
            break reading;
          }
          tally.lines = line.number;
          const storing = ingest.take(line);
          if (storing) await storing;
        }
      }
    } catch (error) {
      if (!(error instanceof UploadTooLargeError)) throw stopped(error, tally, summary);
      cap = badInput(
        'body',
        `The upload is larger than ${error.limitBytes} bytes (APN_RUN_UPLOAD_MAX_BYTES); its first ${error.lines} lines were read. Upload the rest separately.`,
      );
    }
    try {
      await ingest.finish();
    } catch (error) {
      throw stopped(error, tally, summary);
    }
    if (cap) throw new UploadStoppedError(cap, summary());
    const after = (await this.repository.findRun(run.id)) as TrainingRunEntity;
    return {
      ...summary(),
      run: {
        steps: Number(after.stepCount),
        ioSamples: Number(after.ioSampleCount),
        powerSamples: Number(after.powerSampleCount),
        logLines: Number(after.logLineCount),
      },
    };
  }

  private async ingestFor(kind: UploadKind, run: TrainingRunEntity, tally: Tally, options: UploadOptions): Promise<Ingest> {
    switch (kind) {
      case 'steps':
        return new StepIngest(this.repository, this.config.runMaxRecords, run.id, tally, options.format);
      case 'nfsiostat':
        return new NfsiostatIngest(this.repository, this.config.runMaxRecords, run.id, tally, options);
      case 'power': {
        const snapshot = await this.topology.snapshot();
        const byCode = new Map([...snapshot.sites.values()].map((s) => [s.code, s.id]));
        const siteIdOf = (codeOrId: string) => byCode.get(codeOrId) ?? (snapshot.sites.has(codeOrId) ? codeOrId : null);
        return new PowerIngest(this.repository, this.config.runMaxRecords, run.id, tally, siteIdOf);
      }
      case 'logs':
        return new LogIngest(this.repository, run.id, tally);
      default: {
        const unknown: never = kind;
        throw new Error(`unknown upload kind ${String(unknown)}`);
      }
    }
  }
}

/** An error after part of an upload was stored carries the counts of what was; others pass as they are. */
function stopped(error: unknown, tally: Tally, summary: () => UploadSummary): unknown {
  return error instanceof AppError && tally.lines > 0 ? new UploadStoppedError(error, summary()) : error;
}
