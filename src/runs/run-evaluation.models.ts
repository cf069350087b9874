import { Field, Float, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { Site } from '../topology/topology.models';
import { TrainingRun } from './run.models';

export enum EnergyBasisEnum {
  MEASURED = 'MEASURED',
  RATED = 'RATED',
}
registerEnumType(EnergyBasisEnum, {
  name: 'EnergyBasis',
  description: 'MEASURED: power samples integrated over the time used (trapezoids); RATED: rated power × that time.',
});

export enum ReportFormat {
  HTML = 'HTML',
  MARKDOWN = 'MARKDOWN',
}
registerEnumType(ReportFormat, { name: 'ReportFormat', description: 'HTML (self-contained, inline SVG charts) or Markdown.' });

export enum VerdictKindEnum {
  KR1_1 = 'KR1_1',
  KR2_1 = 'KR2_1',
  KR3_1 = 'KR3_1',
  SECURITY = 'SECURITY',
  SITE = 'SITE',
}
registerEnumType(VerdictKindEnum, {
  name: 'VerdictKind',
  description:
    'KR1_1: remote DIRECT over Open APN less than 10 % longer than the same-site run; KR2_1 / KR3_1: REPLICATION / CACHE over ' +
    'Open APN against the Internet; SECURITY: the time cost of security measures; SITE: energy at a green against a standard data center.',
});

@ObjectType({ description: 'One phase of the training loop over the recorded steps.' })
export class PhaseSummaryModel {
  @Field(() => Float, { description: 'Σ over the recorded steps, seconds.' }) totalSeconds!: number;
  @Field(() => Float, { nullable: true }) meanSeconds!: number | null;
  @Field(() => Float, { nullable: true, description: 'Per step, read from the run’s histogram (see percentileResolutionPercent).' })
  p50Seconds!: number | null;
  @Field(() => Float, { nullable: true }) p99Seconds!: number | null;
}

@ObjectType({ description: 'Storage access as nfsiostat recorded it, one direction, the totals since mount left out.' })
export class StorageDirectionModel {
  @Field() direction!: string;
  @Field(() => Int) nodes!: number;
  @Field(() => Int) samples!: number;
  @Field(() => Float, { description: '10^6 bytes per second, summed over the client nodes.' }) throughputMBps!: number;
  @Field(() => Float) opsPerSecond!: number;
  @Field(() => Float, { nullable: true, description: 'Mean time per operation (avg exe), weighted by operations.' }) latencyMs!:
    number | null;
  @Field(() => Float, { nullable: true, description: 'Mean RPC round trip (avg RTT), weighted by operations.' }) rttMs!: number | null;
  @Field(() => Float) retrans!: number;
}

@ObjectType({ description: 'Energy of one piece of equipment: measured or rated, never both.' })
export class EquipmentEnergyModel {
  @Field() equipment!: string;
  @Field() kind!: string;
  @Field(() => Site) site!: Site;
  @Field(() => EnergyBasisEnum) basis!: EnergyBasisEnum;
  @Field({ description: 'How the figure was obtained.' }) source!: string;
  @Field(() => Float) seconds!: number;
  @Field(() => Float) averageKw!: number;
  @Field(() => Float, { description: 'At the equipment.' }) itKwh!: number;
  @Field(() => Float, { description: 'With the site’s PUE.' }) kwh!: number;
  @Field(() => Float) co2Kg!: number;
}

@ObjectType()
export class SiteEnergyModel {
  @Field(() => Site) site!: Site;
  @Field(() => Float) pue!: number;
  @Field(() => Float) itKwh!: number;
  @Field(() => Float) kwh!: number;
  @Field(() => Float) co2Kg!: number;
}

@ObjectType()
export class RunCostItem {
  @Field() item!: string;
  @Field(() => Float) usd!: number;
  @Field(() => Float, { nullable: true, description: 'The equipment’s price amortised over the time used.' }) amortisedUsd!: number | null;
  @Field(() => Float, { nullable: true, description: 'Its energy at the site’s price.' }) energyUsd!: number | null;
  @Field() basis!: string;
}

@ObjectType({ description: 'The PoC Reference’s metrics of a run.' })
export class TrainingRunSummary {
  @Field(() => Int) stepsRecorded!: number;
  @Field(() => Int, { description: 'Steps per epoch × epochs.' }) stepsPlanned!: number;
  @Field(() => PhaseSummaryModel) read!: PhaseSummaryModel;
  @Field(() => PhaseSummaryModel) gpu!: PhaseSummaryModel;
  @Field(() => PhaseSummaryModel) save!: PhaseSummaryModel;
  @Field(() => Float, { description: 'Percentiles are read from buckets this wide (in percent): within half of it of the exact step.' })
  percentileResolutionPercent!: number;
  @Field(() => Float, { description: 'Replica copy or cache fill before the steps, counted as Read time.' }) preparationSeconds!: number;
  @Field({ description: 'Where preparationSeconds comes from.' }) preparationBasis!: string;
  @Field(() => Float, { description: 'read.totalSeconds + preparationSeconds.' }) readSecondsWithPreparation!: number;
  @Field(() => Float, { description: 'Σ (Read + GPU + Save) over the recorded steps + preparationSeconds; initialisation excluded.' })
  trainingSeconds!: number;
  @Field(() => Float, { nullable: true, description: 'From the first step’s start to the finish, when known.' }) wallSeconds!:
    number | null;
  @Field(() => Float, {
    description: 'The time equipment is counted for: wallSeconds when known and at least the steps’ sum, else that sum.',
  })
  energySeconds!: number;
  @Field(() => [StorageDirectionModel]) storage!: StorageDirectionModel[];
  @Field(() => [EquipmentEnergyModel]) energy!: EquipmentEnergyModel[];
  @Field(() => [SiteEnergyModel]) sites!: SiteEnergyModel[];
  @Field(() => Float, { description: 'Σ over sites, with PUE.' }) energyKwh!: number;
  @Field(() => Float) co2Kg!: number;
  @Field(() => [RunCostItem]) costs!: RunCostItem[];
  @Field(() => Float) costUsd!: number;
}

@ObjectType({ description: 'The planner’s prediction for the run’s scenario, and its error against the measurement.' })
export class TrainingRunPrediction {
  @Field(() => Float, { description: 'For the recorded steps (the replication or cache fill included).' }) predictedSeconds!: number;
  @Field(() => Float, { description: 'The summary’s trainingSeconds.' }) measuredSeconds!: number;
  @Field(() => Float, { description: '(predicted − measured) / measured × 100.' }) errorPercent!: number;
  @Field({ description: 'What limits reading in the prediction: GPU, LINK, STORAGE or WINDOW.' }) bound!: string;
  @Field({ description: 'Where the prediction’s GPU time per step comes from.' }) gpuSecondsPerStepSource!: string;
  @Field(() => [String]) reasons!: string[];
}

@ObjectType({ description: 'A verdict of the PoC Reference over two runs, naming both and the numbers.' })
export class RunVerdict {
  @Field(() => VerdictKindEnum) kind!: VerdictKindEnum;
  @Field() runId!: string;
  @Field() baselineRunId!: string;
  @Field(() => Float, { description: 'Seconds for time, kWh for energy.' }) value!: number;
  @Field(() => Float) baselineValue!: number;
  @Field(() => Float) changePercent!: number;
  @Field(() => Boolean, { nullable: true, description: 'Null where the PoC Reference sets no threshold (SECURITY, SITE).' }) passed!:
    boolean | null;
  @Field() statement!: string;
}

@ObjectType({ description: 'Runs side by side, and the verdicts they allow.' })
export class RunComparison {
  @Field(() => [TrainingRun]) runs!: TrainingRun[];
  @Field(() => [RunVerdict]) verdicts!: RunVerdict[];
}
