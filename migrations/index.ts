import { Foundation1763700000000 } from './1763700000000-Foundation';
import { AuditChainLinkedAfterCommit1763800000000 } from './1763800000000-AuditChainLinkedAfterCommit';
import { ApnEmulator1763900000000 } from './1763900000000-ApnEmulator';
import { EmulatorFaults1764000000000 } from './1764000000000-EmulatorFaults';
import { ReservationUpdatedNotify1764100000000 } from './1764100000000-ReservationUpdatedNotify';
import { Storage1764200000000 } from './1764200000000-Storage';
import { ReferenceOverrides1764250000000 } from './1764250000000-ReferenceOverrides';
import { Metering1764300000000 } from './1764300000000-Metering';
import { Webhooks1764400000000 } from './1764400000000-Webhooks';
import { ApiKeyRevokedNotify1764500000000 } from './1764500000000-ApiKeyRevokedNotify';
import { EmulatorRetiredLightpaths1764510000000 } from './1764510000000-EmulatorRetiredLightpaths';
import { TenantQuotas1764600000000 } from './1764600000000-TenantQuotas';
import { TrainingRuns1764700000000 } from './1764700000000-TrainingRuns';
import { TapiIdentifiers1764800000000 } from './1764800000000-TapiIdentifiers';
import { RunEvaluation1764900000000 } from './1764900000000-RunEvaluation';
import { DataProtection1765000000000 } from './1765000000000-DataProtection';
import { AuditCheckpoints1765100000000 } from './1765100000000-AuditCheckpoints';
import { WebhookSecretsSealed1765110000000 } from './1765110000000-WebhookSecretsSealed';
import { ApiKeyExpiry1765120000000 } from './1765120000000-ApiKeyExpiry';

/** The migrations in the order they apply; imported as classes so the build needs no globbing. */
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
