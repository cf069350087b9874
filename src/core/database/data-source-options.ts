import type { DataSourceOptions } from 'typeorm';
import { AuditEntryEntity } from '../../audit/audit-entry.entity';
import {
  EndpointAllocationEntity,
  LinkAllocationEntity,
  ReservationEntity,
  ReservationTransitionEntity,
} from '../../reservations/reservation.entities';
import { ApiKeyEntity, TenantEntity } from '../../tenancy/tenancy.entities';
import {
  EndpointEntity,
  LinkEntity,
  NodeEntity,
  SiteEntity,
  TopologyRevisionEntity,
} from '../../topology/topology.entities';
import { Foundation1763700000000 } from '../../../migrations/1763700000000-Foundation';
import { AuditChainLinkedAfterCommit1763800000000 } from '../../../migrations/1763800000000-AuditChainLinkedAfterCommit';
import { ApnEmulator1763900000000 } from '../../../migrations/1763900000000-ApnEmulator';
import { EmulatorFaults1764000000000 } from '../../../migrations/1764000000000-EmulatorFaults';
import { ReservationUpdatedNotify1764100000000 } from '../../../migrations/1764100000000-ReservationUpdatedNotify';
import { Storage1764200000000 } from '../../../migrations/1764200000000-Storage';
import { ReferenceOverrides1764250000000 } from '../../../migrations/1764250000000-ReferenceOverrides';
import { Webhooks1764400000000 } from '../../../migrations/1764400000000-Webhooks';
import { EmulatorRetiredLightpaths1764510000000 } from '../../../migrations/1764510000000-EmulatorRetiredLightpaths';
import { ApiKeyRevokedNotify1764500000000 } from '../../../migrations/1764500000000-ApiKeyRevokedNotify';
import { Metering1764300000000 } from '../../../migrations/1764300000000-Metering';
import { TrainingRuns1764700000000 } from '../../../migrations/1764700000000-TrainingRuns';
import { TenantQuotas1764600000000 } from '../../../migrations/1764600000000-TenantQuotas';
import { TapiIdentifiers1764800000000 } from '../../../migrations/1764800000000-TapiIdentifiers';
import { RunEvaluation1764900000000 } from '../../../migrations/1764900000000-RunEvaluation';
import { DataProtection1765000000000 } from '../../../migrations/1765000000000-DataProtection';
import { AuditCheckpoints1765100000000 } from '../../../migrations/1765100000000-AuditCheckpoints';
import { WebhookSecretsSealed1765110000000 } from '../../../migrations/1765110000000-WebhookSecretsSealed';
import { ApiKeyExpiry1765120000000 } from '../../../migrations/1765120000000-ApiKeyExpiry';
import { AuditCheckpointEntity } from '../../audit/audit-checkpoint.entity';
import {
  AttestationEntity,
  MountDataKeyEntity,
  ProtectionMinimumEntity,
  TenantProtectionDefaultEntity,
  TlsCertificateEntity,
} from '../../protection/protection.entities';
import { RateCardEntity, UsageDailyTotalEntity, UsageEventEntity } from '../../metering/metering.entities';
import {
  EmulatorCrossConnectEntity,
  EmulatorFaultEntity,
  EmulatorLitChannelEntity,
  EmulatorRetiredLightpathEntity,
} from '../../provisioning/emulator.entities';

import { ReferenceOverrideEntity } from '../../planning/reference-override.entity';
import { TenantQuotaEntity } from '../../quotas/tenant-quota.entity';
import { WebhookDeliveryEntity, WebhookSubscriptionEntity } from '../../webhooks/webhook.entities';
import {
  TrainingRunEntity,
  TrainingRunIoSampleEntity,
  TrainingRunLogLineEntity,
  TrainingRunPowerSampleEntity,
  TrainingRunPowerTotalEntity,
  TrainingRunStepBucketEntity,
  TrainingRunStepEntity,
} from '../../runs/run.entities';
import {
  DatasetCustodyEntity,
  DatasetEntity,
  EmulatorAttestationKeyEntity,
  EmulatorNfsExportEntity,
  EmulatorStorageCopyEntity,
  GpuAllocationEntity,
  GpuClusterEntity,
  GpuNodeAllocationEntity,
  GpuNodeEntity,
  MountEntity,
  MountTransitionEntity,
  StorageSystemEntity,
} from '../../storage/storage.entities';

export const ENTITIES = [
  NodeEntity,
  SiteEntity,
  LinkEntity,
  EndpointEntity,
  TopologyRevisionEntity,
  TenantEntity,
  ApiKeyEntity,
  ReservationEntity,
  ReservationTransitionEntity,
  LinkAllocationEntity,
  EndpointAllocationEntity,
  AuditEntryEntity,
  AuditCheckpointEntity,
  EmulatorLitChannelEntity,
  EmulatorCrossConnectEntity,
  EmulatorFaultEntity,
  EmulatorRetiredLightpathEntity,
  StorageSystemEntity,
  DatasetEntity,
  GpuClusterEntity,
  GpuNodeEntity,
  GpuAllocationEntity,
  GpuNodeAllocationEntity,
  MountEntity,
  MountTransitionEntity,
  DatasetCustodyEntity,
  EmulatorStorageCopyEntity,
  EmulatorAttestationKeyEntity,
  ProtectionMinimumEntity,
  TenantProtectionDefaultEntity,
  MountDataKeyEntity,
  TlsCertificateEntity,
  AttestationEntity,
  EmulatorNfsExportEntity,
  ReferenceOverrideEntity,
  WebhookSubscriptionEntity,
  WebhookDeliveryEntity,
  UsageEventEntity,
  RateCardEntity,
  UsageDailyTotalEntity,
  TrainingRunEntity,
  TrainingRunStepEntity,
  TrainingRunIoSampleEntity,
  TrainingRunPowerSampleEntity,
  TrainingRunLogLineEntity,
  TenantQuotaEntity,
  TrainingRunStepBucketEntity,
  TrainingRunPowerTotalEntity,
];

/** Migrations in the order they apply; imported as classes so the build needs no globbing. */
export const MIGRATIONS = [
  Foundation1763700000000,
  AuditChainLinkedAfterCommit1763800000000,
  ApnEmulator1763900000000,
  EmulatorFaults1764000000000,
  ReservationUpdatedNotify1764100000000,
  Storage1764200000000,
  ReferenceOverrides1764250000000,
  Metering1764300000000,
  Webhooks1764400000000,
  ApiKeyRevokedNotify1764500000000,
  EmulatorRetiredLightpaths1764510000000,
  TenantQuotas1764600000000,
  TrainingRuns1764700000000,
  TapiIdentifiers1764800000000,
  RunEvaluation1764900000000,
  DataProtection1765000000000,
  AuditCheckpoints1765100000000,
  WebhookSecretsSealed1765110000000,
  ApiKeyExpiry1765120000000,
];

export function dataSourceOptions(url: string, poolSize: number): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsTableName: 'typeorm_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    logging: false,
    poolSize,
    extra: { max: poolSize, connectionTimeoutMillis: 10_000 },
  };
}
