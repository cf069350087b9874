import { Args, Mutation, Query, Resolver } from '@nestjs/graphql';
import { JSONScalar } from '../core/graphql/scalars';
import type { Principal } from '../tenancy/principal';
import { CurrentPrincipal, Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import type { ComparisonResult } from './estimator';
import { CompareScenariosInput, ReferenceValue, ScenarioComparison } from './planning.models';
import { PlanningService } from './planning.service';

@Resolver()
export class PlanningResolver {
  constructor(private readonly planning: PlanningService) {}

  @Query(() => ScenarioComparison, {
    description:
      'Predicts training time, energy, carbon and cost for each scenario (local, APN in each design, Internet), with the reasons, and recommends one.',
  })
  @Roles(Role.OPERATOR, Role.TENANT, Role.BILLING)
  async compareScenarios(
    @Args('input') input: CompareScenariosInput,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ScenarioComparison> {
    return toModel(await this.planning.compare(input, principal));
  }

  @Query(() => [ReferenceValue], { description: 'The reference values the planner uses, each with its basis.' })
  @Roles(Role.OPERATOR, Role.TENANT, Role.BILLING)
  referenceValues(): Promise<ReferenceValue[]> {
    return this.planning.referenceValues();
  }

  @Mutation(() => [ReferenceValue], {
    description: 'Replaces a reference value (e.g. "pue.green", 1.18) with a contract price or a measurement.',
  })
  @Roles(Role.OPERATOR)
  setReferenceValue(
    @Args('key') key: string,
    @Args('value', { type: () => JSONScalar }) value: unknown,
    @Args('basis', { type: () => String, nullable: true }) basis: string | null,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ReferenceValue[]> {
    return this.planning.setReferenceValue(principal, key, value, basis ?? null);
  }

  @Mutation(() => [ReferenceValue], { description: 'Goes back to the default of a reference value.' })
  @Roles(Role.OPERATOR)
  clearReferenceValue(@Args('key') key: string, @CurrentPrincipal() principal: Principal): Promise<ReferenceValue[]> {
    return this.planning.clearReferenceValue(principal, key);
  }
}

function toModel(result: ComparisonResult): ScenarioComparison {
  return {
    scenarios: result.scenarios.map((s) => ({
      ...s,
      kind: s.kind as ScenarioComparison['scenarios'][number]['kind'],
      design: s.design,
      bound: String(s.bound),
      costItems: s.cost.items,
    })),
    baseline: result.baseline,
    recommended: result.recommended
      ? {
          ...result.recommended,
          kind: result.recommended.kind as ScenarioComparison['scenarios'][number]['kind'],
          design: result.recommended.design,
        }
      : null,
    calibration: {
      syncRoundTripsPerStep: result.calibration.syncRoundTripsPerStep.value,
      syncRoundTripsBasis: result.calibration.syncRoundTripsPerStep.basis,
      gpuSecondsPerStep: result.calibration.gpuSecondsPerStep,
      gpuSecondsPerStepSource: result.calibration.gpuSecondsPerStepSource,
    },
    basis: result.basis.map((b) => ({ key: b.key, value: b.value, basis: b.basis, overridden: b.basis.includes('override') })),
    warnings: result.warnings,
  };
}
