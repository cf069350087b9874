/**
 * TapiDriver: provisions lightpaths through an ONF Transport API (TAPI) 2.1.3 controller over RESTCONF.
 *
 * One lightpath is one TAPI connectivity-service. Models: tapi-common 2020-04-23, tapi-topology 2020-04-23,
 * tapi-connectivity 2020-06-16, tapi-photonic-media 2020-06-16, tapi-dsr 2020-04-23 (TAPI 2.1.3). In that tree the
 * connectivity constraints (requested-capacity, include-link, ...) are leaves of the connectivity-service itself,
 * and grouped in containers (connectivity-constraint, topology-constraint) in the create RPC's input.
 * Transport: RESTCONF (RFC 8040) with JSON encoding (RFC 7951), media type application/yang-data+json.
 *
 * The controller knows only its own uuids: every service-interface-point, node and link goes by the uuid the
 * topology document maps to it (LightpathSpec.controller). A lightpath with an unmapped item is refused before
 * anything is sent, naming each item; no retry can fix that.
 *
 * RESTCONF root: APN_TAPI_ROOT when set (e.g. /restconf, or /rests for OpenDaylight), else the href of the
 * "restconf" link in {baseUrl}/.well-known/host-meta (RFC 8040 §3.1), read once and kept.
 *
 * Two styles of controller (mode):
 *   data  (TR-547)   create  POST   {root}/data/tapi-common:context/tapi-connectivity:connectivity-context
 *                                   with { "tapi-connectivity:connectivity-service": [ {uuid: <lightpath id>, …} ] }
 *                                   201; 409 when the uuid exists (RFC 8040 §4.4.1), then the driver reads it
 *                    delete  DELETE …/connectivity-service={uuid}; 404, or 409 data-missing, = already gone
 *   rpc   (TransportPCE, ONOS ODTN)
 *                    create  POST   {root}/operations/tapi-connectivity:create-connectivity-service
 *                                   with { "tapi-connectivity:input": {…} }; the controller chooses the uuid and
 *                                   answers { "tapi-connectivity:output": { "service": { uuid, … } } }
 *                    delete  POST   {root}/operations/tapi-connectivity:delete-connectivity-service
 *                                   with { "tapi-connectivity:input": { "service-id-or-name": <uuid> } }
 *   In both, the service's uuid is recorded with the reservation (serviceUuids) and used to read and delete it.
 *   read    GET …/connectivity-service={uuid}   404 = no such service (RFC 8040 §4.3)
 *   list    GET …/tapi-connectivity:connectivity-context?content=all: controllers that keep services as
 *           operational data (TransportPCE) list nothing under content=config.
 *
 * Mapping, LightpathSpec → connectivity-service (built in tapi-model.ts):
 *   id                     → data: uuid, and name[value-name="apn-reservation"]; rpc: the same name on each end
 *                            point (the RPC input has no service name), so a service whose uuid was never
 *                            recorded (a crash right after the create) is still found and never created twice
 *   source / destination   → end-point[local-id="a-end" / "z-end"]/service-interface-point-uuid: the endpoint's
 *                            tapiServiceInterfacePointUuid. layer-protocol-name and layer-protocol-qualifier are
 *                            those of that service-interface-point, read from the controller before the create:
 *                            PHOTONIC_MEDIA (OTSi preferred) or DSR (its first supported qualifier); service-layer
 *                            is that layer, the same at both ends. direction BIDIRECTIONAL, role SYMMETRIC.
 *   frequencyThz           → central-frequency in MHz (the leaf's unit, a uint64 sent as a string per RFC 7951 §6.1)
 *                            with frequency-constraint { DWDM, G_50GHZ }, on both end points: in data mode in
 *                            tapi-photonic-media:otsia-connectivity-service-end-point-spec/otsi-config[local-id="1"]
 *                            (2.1.3 deprecates the OTSi spec in its favour); in rpc mode in
 *                            tapi-photonic-media:otsi-connectivity-service-end-point-spec/otsi-config, because 2.1.3
 *                            augments the create RPC's end point with the OTSi spec only.
 *   channel, linkIds order → name[apn-channel], name[apn-route] (include-link is a leaf-list the server may reorder)
 *   rateGbps               → requested-capacity/total-size { value, unit GBPS } (MBPS when not a whole Gbit/s)
 *   linkIds, nodeIds       → include-link, include-node: the links' tapiLinkUuid and the nodes' tapiNodeUuid
 *   (fixed)                → service-type POINT_TO_POINT_CONNECTIVITY, connectivity-direction BIDIRECTIONAL,
 *                            administrative-state UNLOCKED (data mode; the RPC input has no such leaf)
 *
 * Mapping, connectivity-service → LightpathStatus:
 *   lifecycle-state INSTALLED and operational-state ENABLED → UP; otherwise PARTIAL with connection[] entries,
 *   else DOWN. A setup waits for UP through PLANNED and POTENTIAL_* up to activationTimeoutMs (optical activation
 *   with power balancing takes minutes). A teardown waits after the delete until the service is gone (404),
 *   through PENDING_REMOVAL, up to removalTimeoutMs; until then the channel is not free.
 *
 * Errors → DriverError: no answer, a refused connection or a timeout is retryable; so are 5xx, 429 and 408 (with
 * Retry-After in details.retryAfterMs when sent). 401/403 are not (credentials); 400/422 and other 4xx are not,
 * and carry the error-message of the RESTCONF error body (RFC 8040 §7.1, "ietf-restconf:errors"). A 409 on create
 * with no service behind it is retryable (a lock, a resource still held) unless its error-tag says the request
 * refers to something missing (data-missing, invalid-value). A service already there for this lightpath but
 * joining other end points or on another frequency is not adopted.
 * The driver never retries a failed request itself: it reports `retryable` and the job queue decides when.
 * Its only loops wait for a service to come up or to go away, each bounded by its timeout.
 */
import { ApnDriver, DriverError, LightpathSpec, LightpathStatus } from '../apn-driver';
import { describeNetworkError, MEDIA_TYPE, normalizeRoot, parseHostMeta, parseJson, parseRetryAfter, restconfErrors } from './restconf';
import {
  CONNECTIVITY_CONTEXT_PATH,
  CREATE_RPC,
  CreateLayers,
  DELETE_RPC,
  ServiceView,
  TapiMode,
  buildCreateBody,
  buildCreateInput,
  buildDeleteInput,
  differencesFrom,
  endPointLayerOf,
  isUp,
  lightpathOf,
  parseCreateOutput,
  parseServiceList,
  parseServiceResponse,
  parseSipLayer,
  serviceResourcePath,
  sipResourcePath,
  toLightpathStatus,
  unmappedItems,
} from './tapi-model';

/** Where the uuid of each lightpath's connectivity-service is kept (with the reservation, in the service). */
export interface TapiServiceUuidStore {
  get(lightpathId: string): Promise<string | null>;
  set(lightpathId: string, serviceUuid: string): Promise<void>;
}

/** A store in memory, for a driver used on its own (tests, the conformance check). */
export class MemoryServiceUuidStore implements TapiServiceUuidStore {
  private readonly uuids = new Map<string, string>();
  async get(lightpathId: string): Promise<string | null> {
    return this.uuids.get(lightpathId) ?? null;
  }
  async set(lightpathId: string, serviceUuid: string): Promise<void> {
    this.uuids.set(lightpathId, serviceUuid);
  }
}

export interface TapiDriverOptions {
  /**
   * Where the server lives, e.g. https://tapi.example.net:8443; host-meta and the RESTCONF root are under it.
   * Credentials in it (https://admin:secret@odl.example.net:8181) are sent as HTTP Basic authentication.
   */
  readonly baseUrl: string;
  /** data (POST on the data tree, TR-547) or rpc (the create/delete RPCs). Default data. */
  readonly mode?: TapiMode;
  /** The RESTCONF root path (e.g. /restconf, /rests); unset: discovered from /.well-known/host-meta. */
  readonly restconfRoot?: string;
  /** How long a setup may wait for the service to be INSTALLED and ENABLED. Default 10 minutes. */
  readonly activationTimeoutMs?: number;
  /** How long a teardown may wait for a deleted service to be gone. Default 5 minutes. */
  readonly removalTimeoutMs?: number;
  /** Bound on any single request. Default 30 s. */
  readonly requestTimeoutMs?: number;
  /** First pause between reads while waiting; each pause is half as long again, up to maxPollIntervalMs. */
  readonly pollIntervalMs?: number;
  readonly maxPollIntervalMs?: number;
  /** Added to every request, e.g. { Authorization: 'Bearer …' }. Never copied into errors. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Where the services' uuids are recorded; in memory when not given. */
  readonly serviceUuids?: TapiServiceUuidStore;
  readonly fetchImpl?: typeof fetch;
}

const DEFAULT_ACTIVATION_TIMEOUT_MS = 600_000;
const DEFAULT_REMOVAL_TIMEOUT_MS = 300_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_POLL_INTERVAL_MS = 1_000;
const DEFAULT_MAX_POLL_INTERVAL_MS = 10_000;

interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

interface Found {
  readonly uuid: string;
  readonly view: ServiceView;
}

export class TapiDriver implements ApnDriver {
  readonly name = 'tapi';
  readonly mode: TapiMode;
  private readonly baseUrl: string;
  private readonly activationTimeoutMs: number;
  private readonly removalTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly maxPollIntervalMs: number;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly serviceUuids: TapiServiceUuidStore;
  private readonly fetchImpl: typeof fetch;
  private root: string | undefined;

  constructor(options: TapiDriverOptions) {
    const { baseUrl, basic } = splitCredentials(options.baseUrl);
    this.baseUrl = baseUrl;
    this.mode = options.mode ?? 'data';
    this.root = options.restconfRoot === undefined ? undefined : normalizeRoot(options.restconfRoot);
    this.activationTimeoutMs = options.activationTimeoutMs ?? DEFAULT_ACTIVATION_TIMEOUT_MS;
    this.removalTimeoutMs = options.removalTimeoutMs ?? DEFAULT_REMOVAL_TIMEOUT_MS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.maxPollIntervalMs = Math.max(this.pollIntervalMs, options.maxPollIntervalMs ?? DEFAULT_MAX_POLL_INTERVAL_MS);
    for (const [name, value] of Object.entries({
      activationTimeoutMs: this.activationTimeoutMs,
      removalTimeoutMs: this.removalTimeoutMs,
      requestTimeoutMs: this.requestTimeoutMs,
      pollIntervalMs: this.pollIntervalMs,
    })) {
      if (!(value > 0)) throw new Error(`TapiDriver: ${name} must be positive`);
    }
    // OpenDaylight and ONOS take HTTP Basic credentials; fetch refuses a URL that carries them, so they go as a header.
    this.headers = { ...(basic ? { Authorization: `Basic ${basic}` } : {}), ...(options.headers ?? {}) };
    this.serviceUuids = options.serviceUuids ?? new MemoryServiceUuidStore();
    this.fetchImpl = options.fetchImpl ?? fetch;
  }

  async setupLightpath(spec: LightpathSpec): Promise<LightpathStatus> {
    const unmapped = unmappedItems(spec);
    if (unmapped.length > 0) {
      // Sending our own ids would make the controller refuse the request at best, or match something else.
      throw new DriverError(
        `the topology maps no TAPI controller uuid for ${unmapped.join(', ')}; add tapiServiceInterfacePointUuid ` +
          '(endpoints), tapiNodeUuid (nodes) and tapiLinkUuid (links) to the topology document and import it again',
        false,
        { kind: 'unmapped', unmapped },
      );
    }
    const deadline = Date.now() + this.activationTimeoutMs;
    // Read first: a retried job usually finds the service already there, and a create would only earn a 409
    // (data) or a second service (rpc).
    const existing = await this.findService(spec.id, deadline);
    let uuid: string;
    if (existing) {
      if (existing.view.lifecycleState === 'PENDING_REMOVAL') throw this.beingRemoved(spec.id, existing.uuid);
      this.assertSameService(existing.view, spec);
      uuid = existing.uuid;
      if (isUp(existing.view)) return toLightpathStatus(spec.id, existing.view);
    } else {
      const layers = await this.layersOf(spec, deadline);
      uuid = this.mode === 'data' ? await this.createOnDataTree(spec, layers, deadline) : await this.createByRpc(spec, layers, deadline);
    }
    return this.awaitInstalled(spec.id, uuid, deadline);
  }

  async teardownLightpath(id: string): Promise<void> {
    const deadline = Date.now() + this.removalTimeoutMs;
    let uuid: string;
    if (this.mode === 'data') {
      uuid = id;
      const path = serviceResourcePath(uuid);
      const reply = await this.send('DELETE', path, deadline);
      if (reply.status === 404 || this.isDataMissing(reply)) return;
      if (!isSuccess(reply.status) && !(await this.isBeingRemoved(uuid, deadline))) {
        throw this.httpError(`delete connectivity-service ${uuid}`, 'DELETE', path, reply);
      }
    } else {
      const found = await this.findService(id, deadline);
      if (!found) return;
      uuid = found.uuid;
      if (found.view.lifecycleState !== 'PENDING_REMOVAL') {
        const path = `/operations/${DELETE_RPC}`;
        const reply = await this.send('POST', path, deadline, buildDeleteInput(uuid));
        if (!isSuccess(reply.status)) {
          // Some controllers answer an error for a service already gone or already going: what is there decides.
          const now = await this.readService(uuid, deadline);
          if (!now) return;
          if (now.lifecycleState !== 'PENDING_REMOVAL') {
            throw this.httpError(`delete connectivity-service ${uuid}`, 'POST', path, reply);
          }
        }
      }
    }
    await this.awaitGone(id, uuid, deadline);
  }

  async getLightpath(id: string): Promise<LightpathStatus | null> {
    const found = await this.findService(id, Date.now() + this.requestTimeoutMs);
    return found ? toLightpathStatus(id, found.view) : null;
  }

  async listLightpaths(): Promise<string[]> {
    const ids = new Set<string>();
    for (const view of await this.listServices(Date.now() + this.requestTimeoutMs)) {
      const id = lightpathOf(view, this.mode);
      if (id !== null) ids.add(id);
    }
    return [...ids];
  }

  /** The RESTCONF root this driver uses, discovering it on first use. */
  async restconfRoot(deadline = Date.now() + this.requestTimeoutMs): Promise<string> {
    if (this.root !== undefined) return this.root;
    const path = '/.well-known/host-meta';
    const reply = await this.fetchRaw('GET', this.baseUrl + path, deadline, { Accept: 'application/xrd+xml, application/json;q=0.9' });
    if (reply.status !== 200) {
      if (reply.status === 401 || reply.status === 403) {
        throw new DriverError(
          `TAPI controller at ${this.baseUrl} refused GET ${path} (HTTP ${reply.status}): check the credentials configured for the TAPI driver`,
          false,
          { kind: 'http', status: reply.status },
        );
      }
      if (reply.status >= 500 || reply.status === 429 || reply.status === 408) {
        throw new DriverError(`TAPI controller at ${this.baseUrl} could not answer GET ${path} (HTTP ${reply.status}), try again`, true, {
          kind: 'http',
          status: reply.status,
        });
      }
      throw new DriverError(
        `TAPI controller at ${this.baseUrl} answered GET ${path} with HTTP ${reply.status}, so its RESTCONF root cannot be ` +
          'discovered (RFC 8040 §3.1); set APN_TAPI_ROOT (e.g. /restconf, or /rests for OpenDaylight)',
        false,
        { kind: 'root-discovery', status: reply.status },
      );
    }
    const root = parseHostMeta(reply.text, this.baseUrl);
    if (root === null) {
      throw new DriverError(
        `TAPI controller at ${this.baseUrl} serves ${path} without a link of rel "restconf" on its own origin; set APN_TAPI_ROOT`,
        false,
        { kind: 'root-discovery' },
      );
    }
    this.root = root;
    return root;
  }

  /** The controller's connectivity-service for a lightpath, by its recorded uuid or, failing that, by our name on it. */
  private async findService(id: string, deadline: number): Promise<Found | null> {
    if (this.mode === 'data') {
      const view = await this.readService(id, deadline);
      return view ? { uuid: id, view } : null;
    }
    const recorded = await this.serviceUuids.get(id);
    if (recorded !== null) {
      const view = await this.readService(recorded, deadline);
      if (view) return { uuid: recorded, view };
    }
    const tagged = (await this.listServices(deadline)).find((view) => lightpathOf(view, 'rpc') === id);
    if (!tagged?.uuid) return null;
    if (tagged.uuid !== recorded) await this.record(id, tagged.uuid);
    return { uuid: tagged.uuid, view: tagged };
  }

  private async listServices(deadline: number): Promise<ServiceView[]> {
    // content=all (RFC 8040 §4.8.1): services kept as operational data are missing from content=config.
    const path = `${CONNECTIVITY_CONTEXT_PATH}?content=all`;
    const reply = await this.send('GET', path, deadline);
    // Some servers answer 404 for a container with nothing in it.
    if (reply.status === 404) return [];
    if (reply.status !== 200) throw this.httpError('list connectivity-services', 'GET', path, reply);
    return parseServiceList(reply.body);
  }

  private async readService(uuid: string, deadline: number): Promise<ServiceView | null> {
    const path = serviceResourcePath(uuid);
    const reply = await this.send('GET', path, deadline);
    if (reply.status === 404) return null;
    if (reply.status !== 200) throw this.httpError(`read connectivity-service ${uuid}`, 'GET', path, reply);
    const view = parseServiceResponse(reply.body);
    if (!view) {
      // A 200 that is not a connectivity-service is usually a baseUrl or root pointing at something else.
      throw new DriverError(
        `TAPI controller answered GET ${path} with something that is not a connectivity-service; check APN_TAPI_URL and APN_TAPI_ROOT`,
        false,
        { method: 'GET', url: this.baseUrl + path, status: reply.status },
      );
    }
    return view;
  }

  /** Each end point's layer, from the controller's own service-interface-points. */
  private async layersOf(spec: LightpathSpec, deadline: number): Promise<CreateLayers> {
    const ends = [spec.controller.sourceEndpoint, spec.controller.destinationEndpoint];
    const [a, z] = await Promise.all(
      ends.map(async (end) => {
        const uuid = end.uuid as string;
        const path = sipResourcePath(uuid);
        const reply = await this.send('GET', path, deadline);
        if (reply.status === 404) {
          throw new DriverError(
            `the TAPI controller has no service-interface-point ${uuid}, which the topology maps to endpoint ${end.code}; ` +
              'correct its tapiServiceInterfacePointUuid',
            false,
            { kind: 'unknown-service-interface-point', endpoint: end.code, uuid },
          );
        }
        if (reply.status !== 200) throw this.httpError(`read service-interface-point ${uuid}`, 'GET', path, reply);
        const layer = endPointLayerOf(parseSipLayer(reply.body) ?? { layerProtocolName: undefined, qualifiers: [] });
        if (typeof layer === 'string') {
          throw new DriverError(`service-interface-point ${uuid} (endpoint ${end.code}) ${layer}`, false, { endpoint: end.code, uuid });
        }
        return layer;
      }),
    );
    if (a.layerProtocolName !== z.layerProtocolName) {
      throw new DriverError(
        `endpoints ${ends[0].code} and ${ends[1].code} are on different layers at the controller ` +
          `(${a.layerProtocolName} and ${z.layerProtocolName}); a lightpath joins two points of one layer`,
        false,
        { layers: [a.layerProtocolName, z.layerProtocolName] },
      );
    }
    return { a, z };
  }

  private async createOnDataTree(spec: LightpathSpec, layers: CreateLayers, deadline: number): Promise<string> {
    const body = buildCreateBody(spec, layers);
    const reply = await this.send('POST', CONNECTIVITY_CONTEXT_PATH, deadline, body);
    if (reply.status === 409) {
      // RFC 8040 §4.4.1: POST on an existing resource fails with 409. RESTCONF also answers 409 for lock-denied,
      // in-use and data-missing, so the tag is not trusted: whether the service now exists decides.
      const existing = await this.readService(spec.id, deadline);
      if (existing) {
        this.assertSameService(existing, spec);
        await this.record(spec.id, spec.id);
        return spec.id;
      }
      // Without the service, a conflict is a lock or a resource still held (e.g. by a teardown in progress),
      // which clears by itself, unless the request names something the controller does not have.
      const missing = this.isDataMissing(reply) || restconfErrors(reply.body).some((e) => e.tag === 'invalid-value');
      throw this.httpError(`create connectivity-service ${spec.id}`, 'POST', CONNECTIVITY_CONTEXT_PATH, reply, !missing);
    }
    if (!isSuccess(reply.status)) {
      throw this.httpError(`create connectivity-service ${spec.id}`, 'POST', CONNECTIVITY_CONTEXT_PATH, reply);
    }
    await this.record(spec.id, spec.id);
    return spec.id;
  }

  private async createByRpc(spec: LightpathSpec, layers: CreateLayers, deadline: number): Promise<string> {
    const path = `/operations/${CREATE_RPC}`;
    const reply = await this.send('POST', path, deadline, buildCreateInput(spec, layers));
    if (!isSuccess(reply.status)) {
      throw this.httpError(
        `create the connectivity-service of lightpath ${spec.id}`,
        'POST',
        path,
        reply,
        reply.status === 409 && !this.isDataMissing(reply),
      );
    }
    let uuid = parseCreateOutput(reply.body);
    if (uuid === null) {
      // An answer without the service: find it by the names we put on its end points.
      const tagged = (await this.listServices(deadline)).find((view) => lightpathOf(view, 'rpc') === spec.id);
      if (!tagged?.uuid) {
        throw new DriverError(
          `TAPI controller accepted the create-connectivity-service of lightpath ${spec.id} (HTTP ${reply.status}) ` +
            'but neither answered its uuid nor lists it; try again',
          true,
          { kind: 'http', status: reply.status },
        );
      }
      uuid = tagged.uuid;
    }
    await this.record(spec.id, uuid);
    return uuid;
  }

  private async record(lightpathId: string, serviceUuid: string): Promise<void> {
    try {
      await this.serviceUuids.set(lightpathId, serviceUuid);
    } catch (error) {
      // The service exists; the next attempt finds it by its name and records it then.
      throw new DriverError(
        `could not record connectivity-service ${serviceUuid} of lightpath ${lightpathId}: ${(error as Error).message}`,
        true,
      );
    }
  }

  private async awaitInstalled(id: string, uuid: string, deadline: number): Promise<LightpathStatus> {
    let last: ServiceView | undefined;
    for (let pause = this.pollIntervalMs; ; pause = Math.min(this.maxPollIntervalMs, pause * 1.5)) {
      if (Date.now() >= deadline) throw this.activationTimeout(id, uuid, last);
      let view: ServiceView | null;
      try {
        view = await this.readService(uuid, deadline);
      } catch (error) {
        // A slow or failing read is not the end of a wait that has time left.
        if (error instanceof DriverError && error.retryable && Date.now() < deadline) {
          await sleep(Math.min(pause, Math.max(0, deadline - Date.now())));
          continue;
        }
        if (error instanceof DriverError && error.details.kind === 'timeout') throw this.activationTimeout(id, uuid, last);
        throw error;
      }
      if (!view) {
        // The controller dropped the service it accepted (e.g. it could not route it and rolled back).
        throw new DriverError(
          `connectivity-service ${uuid} of lightpath ${id} disappeared from the TAPI controller while activating`,
          true,
          {
            id,
            uuid,
          },
        );
      }
      if (view.lifecycleState === 'PENDING_REMOVAL') throw this.beingRemoved(id, uuid);
      last = view;
      if (isUp(view)) return toLightpathStatus(id, view);
      await sleep(Math.min(pause, Math.max(0, deadline - Date.now())));
    }
  }

  private async awaitGone(id: string, uuid: string, deadline: number): Promise<void> {
    let last: ServiceView | undefined;
    for (let pause = this.pollIntervalMs; ; pause = Math.min(this.maxPollIntervalMs, pause * 1.5)) {
      if (Date.now() >= deadline) throw this.removalTimeout(id, uuid, last);
      let view: ServiceView | null;
      try {
        view = await this.readService(uuid, deadline);
      } catch (error) {
        if (error instanceof DriverError && error.retryable && Date.now() < deadline) {
          await sleep(Math.min(pause, Math.max(0, deadline - Date.now())));
          continue;
        }
        if (error instanceof DriverError && error.details.kind === 'timeout') throw this.removalTimeout(id, uuid, last);
        throw error;
      }
      if (!view) return;
      last = view;
      await sleep(Math.min(pause, Math.max(0, deadline - Date.now())));
    }
  }

  private async isBeingRemoved(uuid: string, deadline: number): Promise<boolean> {
    const view = await this.readService(uuid, deadline);
    return view?.lifecycleState === 'PENDING_REMOVAL';
  }

  private isDataMissing(reply: Reply): boolean {
    return reply.status === 409 && restconfErrors(reply.body).some((e) => e.tag === 'data-missing');
  }

  private activationTimeout(id: string, uuid: string, last: ServiceView | undefined): DriverError {
    // Retryable: the service stays on the controller, so the next attempt resumes waiting rather than re-creating.
    return new DriverError(
      `connectivity-service ${uuid} of lightpath ${id} was not INSTALLED and ENABLED within ${Math.round(this.activationTimeoutMs / 1000)} s` +
        (last ? ` (last seen ${describeState(last)})` : ''),
      true,
      {
        kind: 'activation-timeout',
        id,
        uuid,
        timeoutMs: this.activationTimeoutMs,
        lastState: last ? toLightpathStatus(id, last).state : null,
        lifecycleState: last?.lifecycleState ?? null,
        operationalState: last?.operationalState ?? null,
      },
    );
  }

  private removalTimeout(id: string, uuid: string, last: ServiceView | undefined): DriverError {
    return new DriverError(
      `connectivity-service ${uuid} of lightpath ${id} was still on the TAPI controller ${Math.round(this.removalTimeoutMs / 1000)} s ` +
        `after its delete${last ? ` (${describeState(last)})` : ''}; its channel stays booked until the controller removes it`,
      true,
      { kind: 'removal-timeout', id, uuid, timeoutMs: this.removalTimeoutMs, lifecycleState: last?.lifecycleState ?? null },
    );
  }

  private beingRemoved(id: string, uuid: string): DriverError {
    return new DriverError(
      `connectivity-service ${uuid} of lightpath ${id} is being removed from the TAPI controller (PENDING_REMOVAL)`,
      true,
      {
        kind: 'pending-removal',
        id,
        uuid,
      },
    );
  }

  private assertSameService(view: ServiceView, spec: LightpathSpec): void {
    const differences = differencesFrom(view, spec);
    if (differences.length > 0) {
      // Same lightpath, different service: re-using it would carry light to the wrong place, and waiting changes nothing.
      throw new DriverError(
        `connectivity-service ${view.uuid ?? spec.id} of lightpath ${spec.id} already exists on the TAPI controller with ` +
          `${differences.join('; ')}; tear it down before setting it up again`,
        false,
        { id: spec.id, differences },
      );
    }
  }

  private async send(method: string, path: string, deadline: number, body?: unknown): Promise<Reply> {
    const root = await this.restconfRoot(deadline);
    const headers: Record<string, string> = { Accept: MEDIA_TYPE };
    if (body !== undefined) headers['Content-Type'] = MEDIA_TYPE;
    const raw = await this.fetchRaw(method, this.baseUrl + root + path, deadline, headers, body);
    return { status: raw.status, body: parseJson(raw.text), headers: raw.headers };
  }

  private async fetchRaw(
    method: string,
    url: string,
    deadline: number,
    headers: Record<string, string>,
    body?: unknown,
  ): Promise<{ status: number; text: string; headers: Headers }> {
    const path = url.slice(this.baseUrl.length);
    const remaining = Math.min(this.requestTimeoutMs, deadline - Date.now());
    if (remaining <= 0) throw this.requestTimeout(method, path);
    try {
      const response = await this.fetchImpl(url, {
        method,
        headers: { ...headers, ...this.headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        // One signal covers connecting, the headers and the body, so a stalled server cannot outlast the deadline.
        signal: AbortSignal.timeout(Math.max(1, Math.ceil(remaining))),
      });
      return { status: response.status, text: await response.text(), headers: response.headers };
    } catch (error) {
      // AbortSignal.timeout rejects with a DOMException named TimeoutError; checked by name, not by class.
      const name = (error as { name?: unknown } | null)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') throw this.requestTimeout(method, path);
      const cause = describeNetworkError(error);
      throw new DriverError(`TAPI controller at ${this.baseUrl} unreachable for ${method} ${path}: ${cause}`, true, {
        kind: 'network',
        method,
        url,
        cause,
      });
    }
  }

  private requestTimeout(method: string, path: string): DriverError {
    return new DriverError(`TAPI controller at ${this.baseUrl} did not answer ${method} ${path} in time`, true, {
      kind: 'timeout',
      method,
      url: this.baseUrl + path,
      timeoutMs: this.requestTimeoutMs,
    });
  }

  private httpError(action: string, method: string, path: string, reply: Reply, retryable?: boolean): DriverError {
    const errors = restconfErrors(reply.body);
    const serverMessage =
      errors
        .map((e) => e.message)
        .filter((m): m is string => !!m)
        .join('; ') || undefined;
    const details: Record<string, unknown> = {
      kind: 'http',
      method,
      url: this.baseUrl + (this.root ?? '') + path,
      status: reply.status,
      errorTags: errors.map((e) => e.tag).filter((t): t is string => !!t),
      serverMessage,
    };
    const said = serverMessage ? `: ${serverMessage}` : '';
    const status = reply.status;
    if (status === 401 || status === 403) {
      return new DriverError(
        `TAPI controller refused to ${action} (HTTP ${status}): check the credentials (headers such as ` +
          `Authorization) configured for the TAPI driver${said}`,
        false,
        details,
      );
    }
    if (retryable || status >= 500 || status === 429 || status === 408) {
      const retryAfterMs = parseRetryAfter(reply.headers.get('retry-after'));
      if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
      return new DriverError(`TAPI controller could not ${action} (HTTP ${status}), try again${said}`, true, details);
    }
    // 400, 422 and the rest of 4xx: the request itself is wrong for this controller; sending it again changes nothing.
    return new DriverError(`TAPI controller rejected the request to ${action} (HTTP ${status})${said}`, false, details);
  }
}

/** https://user:secret@host/ → the URL without them, and user:secret in base64 for an Authorization: Basic header. */
function splitCredentials(raw: string): { baseUrl: string; basic: string | null } {
  const url = new URL(raw);
  let basic: string | null = null;
  if (url.username !== '' || url.password !== '') {
    basic = Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64');
    url.username = '';
    url.password = '';
  }
  return { baseUrl: url.toString().replace(/\/+$/, ''), basic };
}

function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

function describeState(view: ServiceView): string {
  return `lifecycle-state ${view.lifecycleState ?? '(none)'}, operational-state ${view.operationalState ?? '(none)'}`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
