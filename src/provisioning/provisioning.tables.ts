import {
  EmulatorCrossConnectEntity,
  EmulatorFaultEntity,
  EmulatorLitChannelEntity,
  EmulatorRetiredLightpathEntity,
} from './emulator.entities';

/** The entities (tables) provisioning owns, registered with the database by src/persistence.ts. */
export const PROVISIONING_TABLES = [
  EmulatorLitChannelEntity,
  EmulatorCrossConnectEntity,
  EmulatorFaultEntity,
  EmulatorRetiredLightpathEntity,
];
