/**
 * The southbound boundary: what the control plane asks of the optical network. Implementations are
 * selected by APN_DRIVER. Every operation is idempotent, keyed by the lightpath id (the reservation id), so
 * a retried or duplicated job never double-acts.
 */
/**
 * One item of a lightpath as a controller knows it: our code for it, and the controller's own identifier when
 * the topology document maps one (tapiServiceInterfacePointUuid, tapiNodeUuid, tapiLinkUuid), else null.
 */
export interface ControllerRef {
  readonly code: string;
  readonly uuid: string | null;
}

export interface LightpathSpec {
  /** The reservation id; the network knows the lightpath by it. */
  readonly id: string;
  /** Node ids from source to destination, one more than the links. */
  readonly nodeIds: readonly string[];
  /** Link ids in order from source to destination. */
  readonly linkIds: readonly string[];
  /** Channel on the 50 GHz grid, the same on every hop (wavelength continuity). */
  readonly channel: number;
  readonly frequencyThz: number;
  readonly rateGbps: number;
  readonly sourceEndpointId: string;
  readonly destinationEndpointId: string;
  /** The same items in the controller's terms; nodes and links in the order of nodeIds and linkIds. */
  readonly controller: {
    readonly sourceEndpoint: ControllerRef;
    readonly destinationEndpoint: ControllerRef;
    readonly nodes: readonly ControllerRef[];
    readonly links: readonly ControllerRef[];
  };
}

export type LightpathOperState = 'UP' | 'DOWN' | 'PARTIAL';

export interface LightpathStatus {
  readonly id: string;
  readonly state: LightpathOperState;
  /** Hops (link ids) currently configured for this lightpath. */
  readonly configuredLinkIds: readonly string[];
}

/** A failure the driver reports; `retryable` false means no retry can fix it (e.g. a link is down). */
export class DriverError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'DriverError';
  }
}

export interface ApnDriver {
  readonly name: string;
  /** Configures every hop; resolves when the lightpath carries light end to end. Setting up a lightpath that is already up succeeds. */
  setupLightpath(spec: LightpathSpec): Promise<LightpathStatus>;
  /** Removes every hop of the lightpath; tearing down one that does not exist succeeds. */
  teardownLightpath(id: string): Promise<void>;
  /** What the network holds for this lightpath, or null if nothing. */
  getLightpath(id: string): Promise<LightpathStatus | null>;
  /** Ids of every lightpath the network holds, for the reconciler to find ones no reservation wants. */
  listLightpaths(): Promise<string[]>;
}

export const APN_DRIVER = Symbol('APN_DRIVER');
