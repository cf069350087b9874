import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { BigIntScalar, JSONScalar } from '../core/graphql/scalars';
import { StorageDesign } from '../vocabulary/domain';

export enum ScenarioKindEnum {
  LOCAL = 'LOCAL',
  APN = 'APN',
  INTERNET = 'INTERNET',
}
registerEnumType(ScenarioKindEnum, {
  name: 'ScenarioKind',
  description: 'Where the GPUs read from: the same site, an APN lightpath, or an Internet link.',
});

export enum GpuPricingEnum {
  AMORTISED = 'AMORTISED',
  HOURLY = 'HOURLY',
}
registerEnumType(GpuPricingEnum, {
  name: 'GpuPricing',
  description: 'GPU cost as capex amortised over time held, or at the hourly cloud price.',
});

@InputType()
export class PlannerWorkloadInput {
  @Field(() => BigIntScalar, { description: 'Bytes read per epoch.' }) datasetBytes!: bigint;
  @Field(() => Int) steps!: number;
  @Field(() => Int, { defaultValue: 1 }) epochs!: number;
  @Field(() => Float, { nullable: true, description: 'GPU time per step; or give localEpochSeconds.' }) gpuSecondsPerStep?: number;
  @Field(() => Float, { nullable: true, description: 'A measured epoch with storage at the GPU site.' }) localEpochSeconds?: number;
}

@InputType()
export class PlannerScenarioInput {
  @Field() label!: string;
  @Field(() => ScenarioKindEnum) kind!: ScenarioKindEnum;
  @Field(() => StorageDesign, { nullable: true, description: 'Default DIRECT.' }) design?: StorageDesign;
  @Field(() => Float, { nullable: true, description: 'Default 100 for APN.' }) bandwidthGbps?: number;
  @Field(() => Float, { nullable: true, description: 'Default: from distanceKm at 4.9 µs/km each way.' }) rttMs?: number;
  @Field(() => Float, { nullable: true }) distanceKm?: number;
  @Field(() => ID, { nullable: true, description: 'The GPU site: its PUE, carbon intensity and energy price.' }) gpuSiteId?: string;
}

@InputType()
export class CompareScenariosInput {
  @Field(() => PlannerWorkloadInput) workload!: PlannerWorkloadInput;
  @Field(() => [PlannerScenarioInput]) scenarios!: PlannerScenarioInput[];
  @Field({ nullable: true, description: 'CONFIDENTIAL data may not rest at the GPU site: DIRECT only.' }) confidential?: boolean;
  @Field(() => ID, { nullable: true, description: 'The office site holding the data.' }) storageSiteId?: string;
  @Field(() => GpuPricingEnum, { nullable: true }) gpuPricing?: GpuPricingEnum;
  @Field(() => ID, {
    nullable: true,
    description:
      'A completed remote DIRECT training run of yours: the model is fitted to it and its same-site counterpart (GPU time per step and ' +
      'synchronous round trips per step) instead of the PoC. The warnings say which runs were used.',
  })
  calibrationRunId?: string;
  @Field(() => ID, {
    nullable: true,
    description: 'The same-site (LOCAL DIRECT) run to pair with calibrationRunId; default: the newest completed one of the same workload.',
  })
  calibrationBaselineRunId?: string;
}

@ObjectType()
export class PlannerLink {
  @Field(() => Float) bandwidthGbps!: number;
  @Field(() => Float) rttMs!: number;
  @Field(() => Float, { nullable: true }) distanceKm!: number | null;
  @Field(() => String, { nullable: true }) distanceClass!: string | null;
  @Field(() => Int) mtuBytes!: number;
  @Field(() => Float) goodputGbps!: number;
}

@ObjectType()
export class CostLine {
  @Field() item!: string;
  @Field(() => Float) usd!: number;
  @Field() basis!: string;
}

@ObjectType({ description: 'One scenario’s predicted time, energy, carbon and cost, and why.' })
export class ScenarioEstimate {
  @Field() label!: string;
  @Field(() => ScenarioKindEnum) kind!: ScenarioKindEnum;
  @Field(() => StorageDesign) design!: StorageDesign;
  @Field({ description: 'False when the data’s classification rules the design out.' }) allowed!: boolean;
  @Field(() => Float) epochSeconds!: number;
  @Field(() => Float) firstEpochSeconds!: number;
  @Field(() => Float) replicationSeconds!: number;
  @Field(() => Float) totalSeconds!: number;
  @Field(() => Float) slowdownPercent!: number;
  @Field({ description: 'KR1.1: less than 10% slower than training at the storage site.' }) meetsKr11!: boolean;
  @Field({ description: 'What limits reading: GPU, LINK, STORAGE or WINDOW.' }) bound!: string;
  @Field(() => Float) energyKwh!: number;
  @Field(() => Float) co2Kg!: number;
  @Field(() => Float) costUsd!: number;
  @Field(() => PlannerLink) link!: PlannerLink;
  @Field(() => [CostLine]) costItems!: CostLine[];
  @Field(() => [String]) reasons!: string[];
}

@ObjectType()
export class PlannerRecommendation {
  @Field() label!: string;
  @Field(() => ScenarioKindEnum) kind!: ScenarioKindEnum;
  @Field(() => StorageDesign) design!: StorageDesign;
  @Field(() => Float) totalSeconds!: number;
  @Field(() => Float) costUsd!: number;
  @Field(() => [String]) reasons!: string[];
}

@ObjectType({ description: 'A reference figure the planner uses, with where it comes from.' })
export class ReferenceValue {
  @Field() key!: string;
  @Field(() => JSONScalar) value!: unknown;
  @Field({ description: 'cited, guess, derived, calibrated, or operator override.' }) basis!: string;
  @Field({ description: 'True when an operator override replaces the default.' }) overridden!: boolean;
}

@ObjectType()
export class PlannerBaseline {
  @Field(() => String, { nullable: true }) label!: string | null;
  @Field(() => Float) epochSeconds!: number;
  @Field(() => Float) totalSeconds!: number;
  @Field() source!: string;
}

@ObjectType()
export class PlannerCalibration {
  @Field(() => Float) syncRoundTripsPerStep!: number;
  @Field() syncRoundTripsBasis!: string;
  @Field(() => Float) gpuSecondsPerStep!: number;
  @Field() gpuSecondsPerStepSource!: string;
}

@ObjectType()
export class ScenarioComparison {
  @Field(() => [ScenarioEstimate]) scenarios!: ScenarioEstimate[];
  @Field(() => PlannerBaseline) baseline!: PlannerBaseline;
  @Field(() => PlannerRecommendation, { nullable: true }) recommended!: PlannerRecommendation | null;
  @Field(() => PlannerCalibration) calibration!: PlannerCalibration;
  @Field(() => [ReferenceValue], { description: 'Every reference value used, with its basis.' }) basis!: ReferenceValue[];
  @Field(() => [String]) warnings!: string[];
}
