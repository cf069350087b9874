import { Injectable, OnModuleInit } from '@nestjs/common';
import { JobName } from '../core/queue/job-catalogue';
import { JobHandlers } from '../core/queue/job-handlers';
import { MountLifecycle } from './mount-lifecycle.service';

/** The mount jobs, on the provisioning queue: attach once the lightpath is up, follow the copy, detach. */
@Injectable()
export class StorageJobs implements OnModuleInit {
  constructor(
    private readonly handlers: JobHandlers,
    private readonly mounts: MountLifecycle,
  ) {}

  onModuleInit(): void {
    this.handlers.register(JobName.MountAttach, ({ mountId }) => this.mounts.runAttach(mountId));
    this.handlers.register(JobName.MountProgress, ({ mountId, poll }) => this.mounts.runProgress(mountId, poll ?? 0));
    this.handlers.register(JobName.MountDetach, ({ mountId }) => this.mounts.runDetach(mountId));
  }
}
