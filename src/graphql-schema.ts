import { AuditCheckpointResolver } from './audit/audit-checkpoint.resolver';
import { AuditResolver } from './audit/audit.resolver';
import { DateTimeScalar } from './core/graphql/scalars';
import { PlanningResolver } from './planning/planning.resolver';
import { WebhookResolver } from './webhooks/webhook.resolver';
import { MeteringResolver } from './metering/metering.resolver';
import { FaultsResolver } from './provisioning/faults';
import { QuotasResolver } from './quotas/quotas.resolver';
import { QueueDepthResolver } from './operations/queue-depth.resolver';
import { LinkOccupancyResolver } from './reservations/link-occupancy.resolver';
import { ReservationsResolver } from './reservations/reservations.resolver';
import { RunEvaluationResolver } from './runs/run-evaluation.resolver';
import { RunsResolver } from './runs/runs.resolver';
import {
  DatasetResolver,
  GpuAllocationResolver,
  GpuClusterResolver,
  MountResolver,
  StorageResolver,
  StorageSystemResolver,
} from './storage/storage.resolver';
import { MountProtectionResolver, ProtectionResolver } from './storage/protection.resolver';
import { TenancyResolver } from './tenancy/tenancy.resolver';
import { EndpointResolver, LinkResolver, NodeResolver, SiteResolver, TopologyResolver } from './topology/topology.resolver';

/** Every resolver class of the GraphQL API, for printing the schema without starting the service. */
export const GRAPHQL_RESOLVERS = [
  TopologyResolver,
  SiteResolver,
  EndpointResolver,
  LinkResolver,
  NodeResolver,
  TenancyResolver,
  ReservationsResolver,
  AuditResolver,
  AuditCheckpointResolver,
  FaultsResolver,
  StorageResolver,
  StorageSystemResolver,
  DatasetResolver,
  GpuClusterResolver,
  GpuAllocationResolver,
  MountResolver,
  PlanningResolver,
  WebhookResolver,
  MeteringResolver,
  RunsResolver,
  QuotasResolver,
  ProtectionResolver,
  MountProtectionResolver,
  RunEvaluationResolver,
  LinkOccupancyResolver,
  QueueDepthResolver,
];

export const GRAPHQL_SCALARS = [DateTimeScalar];
