import { Injectable } from '@nestjs/common';
import { Counter } from 'prom-client';
import { MetricsService } from '../core/metrics/metrics.service';

/** Metering's metrics: the figures a run could not compute from stored data. */
@Injectable()
export class MeteringMetrics {
  readonly unmetered: Counter<'meter'>;

  constructor(metrics: MetricsService) {
    this.unmetered = new Counter({
      name: 'apn_metering_unmetered_total',
      help: 'Figures a metering run could not compute from stored data (e.g. energy from an absurd rated power), by meter; counted on every run until the data is repaired.',
      labelNames: ['meter'] as const,
      registers: [metrics.registry],
    });
  }
}
