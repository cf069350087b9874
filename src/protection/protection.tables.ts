import {
  AttestationEntity,
  MountDataKeyEntity,
  ProtectionMinimumEntity,
  TenantProtectionDefaultEntity,
  TlsCertificateEntity,
} from './protection.entities';

/** The entities (tables) protection owns, registered with the database by src/persistence.ts. */
export const PROTECTION_TABLES = [
  ProtectionMinimumEntity,
  TenantProtectionDefaultEntity,
  MountDataKeyEntity,
  TlsCertificateEntity,
  AttestationEntity,
];
