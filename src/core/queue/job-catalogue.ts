/**
 * The typed job catalogue: a job's name fixes its queue and its payload type. Job ids are deterministic
 * (`<reservationId>.<job>`) so that a retry or a duplicate enqueue never double-acts. (BullMQ reserves
 * `:` inside custom ids, hence the dot.)
 */
export enum QueueName {
  Reservations = 'reservations',
  Maintenance = 'maintenance',
  Provisioning = 'provisioning',
  Webhooks = 'webhooks',
}

export enum JobName {
  HoldExpiry = 'hold-expiry',
  HoldSweep = 'hold-sweep',
  AuditLink = 'audit-link',
  AuditCheckpoint = 'audit-checkpoint',
  LightpathSetup = 'setup',
  LightpathTeardown = 'teardown',
  Reconcile = 'reconcile',
  MountAttach = 'mount-attach',
  MountProgress = 'mount-progress',
  MountDetach = 'mount-detach',
  WebhookDeliver = 'webhook-deliver',
  MeteringCollect = 'metering-collect',
}

export interface JobPayloads {
  [JobName.HoldExpiry]: { reservationId: string };
  [JobName.HoldSweep]: Record<string, never>;
  [JobName.AuditLink]: Record<string, never>;
  [JobName.AuditCheckpoint]: Record<string, never>;
  [JobName.LightpathSetup]: { reservationId: string };
  [JobName.LightpathTeardown]: { reservationId: string };
  [JobName.Reconcile]: Record<string, never>;
  [JobName.MountAttach]: { mountId: string };
  [JobName.MountProgress]: { mountId: string; poll?: number };
  [JobName.MountDetach]: { mountId: string };
  [JobName.WebhookDeliver]: { deliveryId: string };
  [JobName.MeteringCollect]: Record<string, never>;
}

export const JOB_QUEUE: Readonly<Record<JobName, QueueName>> = {
  [JobName.HoldExpiry]: QueueName.Reservations,
  [JobName.HoldSweep]: QueueName.Reservations,
  [JobName.AuditLink]: QueueName.Maintenance,
  [JobName.AuditCheckpoint]: QueueName.Maintenance,
  [JobName.LightpathSetup]: QueueName.Provisioning,
  [JobName.LightpathTeardown]: QueueName.Provisioning,
  [JobName.Reconcile]: QueueName.Maintenance,
  // Mounts follow their lightpaths, on the same queue and workers.
  [JobName.MountAttach]: QueueName.Provisioning,
  [JobName.MountProgress]: QueueName.Provisioning,
  [JobName.MountDetach]: QueueName.Provisioning,
  // Their own queue: a slow billing endpoint never delays the lifecycle or maintenance jobs.
  [JobName.WebhookDeliver]: QueueName.Webhooks,
  [JobName.MeteringCollect]: QueueName.Maintenance,
};

export interface JobMeta {
  jobId: string;
  /** 1 for the first run. */
  attempt: number;
  /** No retry follows if this run fails: the handler's last chance to leave a clean state. */
  finalAttempt: boolean;
}

export type JobHandler<N extends JobName> = (payload: JobPayloads[N], meta: JobMeta) => Promise<void>;

/**
 * The one format of a job id: the object it acts on, the job's name and, for a job that runs more than once
 * on the same object, what tells the runs apart. Deterministic, so enqueueing the same job twice is harmless.
 */
export function jobIdOf(subjectId: string, job: JobName, suffix?: string): string {
  return suffix ? `${subjectId}.${job}.${suffix}` : `${subjectId}.${job}`;
}

export function reservationJobId(reservationId: string, job: JobName): string {
  return jobIdOf(reservationId, job);
}

export function mountJobId(mountId: string, job: JobName, suffix?: string): string {
  return jobIdOf(mountId, job, suffix);
}
