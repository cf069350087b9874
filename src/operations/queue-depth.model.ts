import { Field, Int, ObjectType } from '@nestjs/graphql';

@ObjectType({ description: 'How many jobs a queue holds in each state, read from the queue backend now.' })
export class QueueDepth {
  @Field() queue!: string;
  @Field(() => Int, { description: 'Ready to run, waiting for a worker.' }) waiting!: number;
  @Field(() => Int, { description: 'Running on a worker now.' }) active!: number;
  @Field(() => Int, { description: 'Scheduled for later (setups at a window’s start, teardowns at its end, retries).' }) delayed!: number;
  @Field(() => Int, { description: 'Failed for good and kept for inspection.' }) failed!: number;
}
