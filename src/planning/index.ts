/**
 * Planning: training-time estimates, scenario comparison and their energy, carbon and cost. Pure
 * TypeScript with no framework imports, so resolvers, workers and scripts can all call it.
 */
export type {
  CompareInput,
  ComparisonResult,
  LinkResult,
  Recommendation,
  ScenarioInput,
  ScenarioResult,
  SitePricingInput,
  WorkloadInput,
} from './estimator';
export { MAX_SCENARIOS, compareScenarios } from './estimator';
export type { CostEstimate, CostItem, EquipmentSet, GpuPricing, SiteEnergy, SiteRates } from './cost';
export { DEFAULT_EQUIPMENT } from './cost';
export type { DistanceClass, EquipmentKind, RefValue, ScenarioKind, StorageDesign } from '../vocabulary/domain';
export { DISTANCE_CLASSES, EQUIPMENT_KINDS, FieldError, PlannerInputError, SCENARIO_KINDS, STORAGE_DESIGNS } from '../vocabulary/domain';
export type { EgressTier, NumericKey, Overrides, ReferenceKey, ReferenceValues } from '../vocabulary/reference';
export { CALIBRATED_KEY, REFERENCE_DEFAULTS, basisList, resolveReference } from '../vocabulary/reference';
export type { Calibration, EpochEstimate, LinkSpec, ModelParameters, ReadPath, StepBoundKind } from '../vocabulary/physics';
