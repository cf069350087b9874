import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { JobQueue } from '../queue/job-queue.service';

const CHECK_TIMEOUT_MS = 2000;

export interface DependencyCheck {
  status: 'up' | 'down';
  latencyMs: number;
  error?: string;
}

export interface HealthReport {
  status: 'ok' | 'unavailable';
  checks: { database: DependencyCheck; queue: DependencyCheck };
}

async function check(probe: () => Promise<unknown>): Promise<DependencyCheck> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      probe(),
      new Promise(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS)),
      ),
    ]);
    return { status: 'up', latencyMs: Date.now() - started };
  } catch (error) {
    return { status: 'down', latencyMs: Date.now() - started, error: (error as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Liveness and readiness in one, for every role: ok when the database and the queue backend both answer
 * within the timeout. The api serves it at GET /health, the worker on its APN_METRICS_PORT.
 */
@Injectable()
export class HealthService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly jobs: JobQueue,
  ) {}

  async report(): Promise<HealthReport> {
    const [database, queue] = await Promise.all([check(() => this.dataSource.query('SELECT 1')), check(() => this.jobs.ping())]);
    const ok = database.status === 'up' && queue.status === 'up';
    return { status: ok ? 'ok' : 'unavailable', checks: { database, queue } };
  }
}
