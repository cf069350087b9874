import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Connection } from '../core/graphql/pagination';
import { BigIntScalar } from '../core/graphql/scalars';
import { TenantRef } from '../reservations/reservation.models';
import { StorageDesign } from '../vocabulary/domain';
import { Site } from '../topology/topology.models';
import { RunConnectionKind, SecurityMeasure, TrainingRunState } from './run.entities';

registerEnumType(TrainingRunState, {
  name: 'TrainingRunState',
  description:
    'RECORDING while data comes in; COMPLETED when the training finished without error; FAILED (with the reason) when it did not.',
});
registerEnumType(RunConnectionKind, {
  name: 'RunConnectionKind',
  description: 'How the GPUs reached the data: LOCAL (the same site), APN (a lightpath reservation) or INTERNET.',
});
registerEnumType(SecurityMeasure, {
  name: 'SecurityMeasure',
  description:
    'A data-protection measure in force during a run: NFS_KRB5P (Kerberos privacy), NFS_TLS (RPC-with-TLS, RFC 9289), ' +
    'LINK_ENCRYPTION (encrypting transponders), AT_REST_ENCRYPTION (copies at the data center encrypted); NONE alone when none was.',
});

@InputType({ description: 'What was trained: a dataset of yours, or its size.' })
export class TrainingWorkloadInput {
  @Field() modelName!: string;
  @Field(() => ID, { nullable: true, description: 'A dataset of the tenant: its bytes and files give datasetBytes and datasetItems.' })
  datasetId?: string | null;
  @Field(() => BigIntScalar, { nullable: true, description: 'Bytes read per epoch, when no datasetId is given.' })
  datasetBytes?: bigint | null;
  @Field(() => BigIntScalar, { nullable: true, description: 'Items (images, samples) per epoch, when no datasetId is given.' })
  datasetItems?: bigint | null;
  @Field(() => Int) batchSize!: number;
  @Field(() => Int, { description: 'Planned steps per epoch.' }) steps!: number;
  @Field(() => Int, { nullable: true, defaultValue: 1 }) epochs?: number | null;
}

@InputType({ description: 'How the GPUs reached the data.' })
export class TrainingRunConnectionInput {
  @Field(() => RunConnectionKind) kind!: RunConnectionKind;
  @Field(() => ID, { nullable: true, description: 'APN: a reservation of the tenant; its distance, round trip and rate are recorded.' })
  reservationId?: string | null;
  @Field(() => Float, { nullable: true, description: 'INTERNET (required) or LOCAL (optional): the link’s bandwidth.' })
  bandwidthGbps?: number | null;
  @Field(() => Float, { nullable: true, description: 'INTERNET (required) or LOCAL (optional): the round trip between GPUs and storage.' })
  rttMs?: number | null;
}

@InputType()
export class CreateTrainingRunInput {
  @Field(() => ID, { nullable: true, description: 'Operators record a run for a tenant by naming it here.' })
  tenantId?: string | null;
  @Field() label!: string;
  @Field(() => TrainingWorkloadInput) workload!: TrainingWorkloadInput;
  @Field(() => TrainingRunConnectionInput) connection!: TrainingRunConnectionInput;
  @Field(() => StorageDesign, { nullable: true, description: 'Default: the mount’s design, or DIRECT.' })
  design?: StorageDesign | null;
  @Field(() => ID, {
    nullable: true,
    description: 'APN: the tenant’s mount on that reservation; design, dataset and GPU allocation default to its own.',
  })
  mountId?: string | null;
  @Field(() => ID, { nullable: true, description: 'The tenant’s GPU allocation the run used.' })
  gpuAllocationId?: string | null;
  @Field(() => ID, {
    nullable: true,
    description: 'Where the GPUs ran (PUE, prices). Default: the allocation’s cluster site, or the lightpath’s destination.',
  })
  gpuSiteId?: string | null;
  @Field(() => ID, {
    nullable: true,
    description: 'Where the data was read from. Default: the dataset’s storage site, or the lightpath’s source; LOCAL: the GPU site.',
  })
  storageSiteId?: string | null;
  @Field(() => [SecurityMeasure], {
    nullable: true,
    description:
      'The measures in force; [NONE] when none. Left out: the mount’s profile when mountId is given, else [NONE]; given with a mount, they must be its profile’s.',
  })
  securityMeasures?: SecurityMeasure[] | null;
  @Field(() => Float, {
    nullable: true,
    description:
      'REPLICATION or CACHE without a mount (e.g. over the Internet): seconds the copy to the replica or the cache fill took before the steps, ' +
      'counted as Read time. A run over a mount takes it from the mount’s history.',
  })
  preparationSeconds?: number | null;
}

@ObjectType({ description: 'What was trained.' })
export class TrainingWorkload {
  @Field() modelName!: string;
  @Field(() => ID, { nullable: true }) datasetId!: string | null;
  @Field(() => BigIntScalar, { description: 'Bytes read per epoch.' }) datasetBytes!: bigint;
  @Field(() => BigIntScalar) datasetItems!: bigint;
  @Field(() => Int) batchSize!: number;
  @Field(() => Int, { description: 'Planned steps per epoch.' }) steps!: number;
  @Field(() => Int) epochs!: number;
}

@ObjectType({ description: 'How the GPUs reached the data, as it was when the run was recorded.' })
export class TrainingRunLink {
  @Field(() => RunConnectionKind) kind!: RunConnectionKind;
  @Field(() => ID, { nullable: true }) reservationId!: string | null;
  @Field(() => Float, { nullable: true, description: 'APN: the lightpath’s length.' }) distanceKm!: number | null;
  @Field(() => Float, { nullable: true, description: 'APN: 4.9 µs per km each way; INTERNET and LOCAL: as given.' }) rttMs!: number | null;
  @Field(() => Float, { nullable: true, description: 'APN: the lightpath’s rate.' }) bandwidthGbps!: number | null;
}

@ObjectType({ description: 'Log lines counted by level; OTHER has no recognisable level.' })
export class TrainingRunLogCounts {
  @Field(() => Float) error!: number;
  @Field(() => Float) warn!: number;
  @Field(() => Float) info!: number;
  @Field(() => Float) debug!: number;
  @Field(() => Float) other!: number;
}

@ObjectType({ description: 'What the run received so far.' })
export class TrainingRunIngested {
  @Field(() => Int, { description: 'Steps stored (a repeated step counts once).' }) steps!: number;
  @Field(() => Int, { description: 'nfsiostat samples (one per report, mount point and direction).' }) ioSamples!: number;
  @Field(() => Int) powerSamples!: number;
  @Field(() => Float, { description: 'Log lines received.' }) logLines!: number;
  @Field(() => Int, { description: 'Log lines kept: the first and the last, up to 5,000 each.' }) logLinesKept!: number;
  @Field(() => TrainingRunLogCounts) logLevels!: TrainingRunLogCounts;
}

@ObjectType({ description: 'One measured training run: what was trained, how, and what its tools reported.' })
export class TrainingRun {
  @Field(() => ID) id!: string;
  @Field(() => TenantRef) tenant!: TenantRef;
  @Field() label!: string;
  @Field(() => TrainingRunState) state!: TrainingRunState;
  @Field(() => String, { nullable: true, description: 'Why the run FAILED.' }) failureReason!: string | null;
  @Field(() => TrainingWorkload) workload!: TrainingWorkload;
  @Field(() => TrainingRunLink) connection!: TrainingRunLink;
  @Field(() => StorageDesign) design!: StorageDesign;
  @Field(() => ID, { nullable: true }) mountId!: string | null;
  @Field(() => ID, { nullable: true }) gpuAllocationId!: string | null;
  @Field(() => Site) gpuSite!: Site;
  @Field(() => Site) storageSite!: Site;
  @Field(() => [SecurityMeasure]) securityMeasures!: SecurityMeasure[];
  @Field(() => Date, { nullable: true, description: 'The first step’s start (or an explicit start given at completion).' })
  startedAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'When it completed or failed: as given, or the last step’s end.' })
  finishedAt!: Date | null;
  @Field(() => TrainingRunIngested) ingested!: TrainingRunIngested;
  @Field(() => Float, { nullable: true, description: 'The preparation time given with the run (REPLICATION or CACHE without a mount).' })
  preparationSeconds!: number | null;
  @Field() createdAt!: Date;
}

@ObjectType()
export class TrainingRunConnection extends Connection(TrainingRun, 'TrainingRun') {}
