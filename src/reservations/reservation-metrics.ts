import { Injectable, OnModuleInit } from '@nestjs/common';
import { Gauge } from 'prom-client';
import { MetricsService } from '../core/metrics/metrics.service';
import { ReservationState } from './reservation-state';
import { ReservationsRepository } from './reservations.repository';

/** `apn_reservations{state}`: reservations by state, read from the database at scrape time (the same on every replica). */
@Injectable()
export class ReservationMetrics implements OnModuleInit {
  constructor(
    private readonly metrics: MetricsService,
    private readonly reservations: ReservationsRepository,
  ) {}

  onModuleInit(): void {
    const gauge = new Gauge({
      name: 'apn_reservations',
      help: 'Reservations by state.',
      labelNames: ['state'] as const,
      registers: [this.metrics.registry],
      collect: async () => {
        const counts = await this.reservations.countByState();
        for (const state of Object.values(ReservationState)) gauge.set({ state }, counts.get(state) ?? 0);
      },
    });
  }
}
