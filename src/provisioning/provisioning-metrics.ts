import { Injectable } from '@nestjs/common';
import { Counter, Histogram } from 'prom-client';
import { MetricsService } from '../core/metrics/metrics.service';

/** Provisioning's metrics: how long setups take, and the drift the reconciler repaired. */
@Injectable()
export class ProvisioningMetrics {
  readonly setupDuration: Histogram<'driver'>;
  readonly reconcilerRepairs: Counter<'kind'>;

  constructor(metrics: MetricsService) {
    this.setupDuration = new Histogram({
      name: 'apn_lightpath_setup_seconds',
      help: 'Time from the start of a lightpath setup to ACTIVE, by driver.',
      labelNames: ['driver'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
      registers: [metrics.registry],
    });
    this.reconcilerRepairs = new Counter({
      name: 'apn_reconciler_repairs_total',
      help: 'Drift the reconciler repaired, by kind.',
      labelNames: ['kind'] as const,
      registers: [metrics.registry],
    });
  }
}
