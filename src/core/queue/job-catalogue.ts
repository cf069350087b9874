/**
 * The typed job catalogue: a job's name fixes its queue and its payload type. Job ids are deterministic
 * (`<reservationId>.<job>`) so that a retry or a duplicate enqueue never double-acts. (BullMQ reserves
 * `:` inside custom ids, hence the dot.)
 */
export enum QueueName {
  Reservations = 'reservations',
  Maintenance = 'maintenance',
}

export enum JobName {
  HoldExpiry = 'hold-expiry',
  HoldSweep = 'hold-sweep',
  AuditLink = 'audit-link',
}

export interface JobPayloads {
  [JobName.HoldExpiry]: { reservationId: string };
  [JobName.HoldSweep]: Record<string, never>;
  [JobName.AuditLink]: Record<string, never>;
}

export const JOB_QUEUE: Readonly<Record<JobName, QueueName>> = {
  [JobName.HoldExpiry]: QueueName.Reservations,
  [JobName.HoldSweep]: QueueName.Reservations,
  [JobName.AuditLink]: QueueName.Maintenance,
};

export type JobHandler<N extends JobName> = (payload: JobPayloads[N], meta: { jobId: string; attempt: number }) => Promise<void>;

export function reservationJobId(reservationId: string, job: JobName): string {
  return `${reservationId}.${job}`;
}
