import { Module } from '@nestjs/common';
import { QueueDepthResolver } from './queue-depth.resolver';

/** Operators' views of the running service itself. */
@Module({ providers: [QueueDepthResolver] })
export class OperationsModule {}
