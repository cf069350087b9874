/**
 * TapiDriver: provisions lightpaths through an ONF Transport API (TAPI) 2.x controller over RESTCONF.
 *
 * One lightpath is one TAPI connectivity-service whose uuid is the lightpath id (the reservation id), so every
 * operation is keyed by a URI the orchestrator already knows and retries stay idempotent without local state.
 *
 * Model: TAPI 2.1.3, YANG revision 2020-04-23. In that tree the connectivity constraints (requested-capacity,
 * include-link, ...) are leaves of the connectivity-service itself, not a nested "connectivity-constraint" container.
 * Transport: RESTCONF (RFC 8040) with JSON encoding (RFC 7951), media type application/yang-data+json.
 *
 * Mapping, LightpathSpec → connectivity-service (built in tapi-model.ts):
 *   id                     → uuid (the list key, hence the URI …/connectivity-service={id})
 *                            and name[value-name="apn-reservation"], so operators can find it by name too
 *   sourceEndpointId       → end-point[local-id="a-end"]/service-interface-point/service-interface-point-uuid
 *   destinationEndpointId  → end-point[local-id="z-end"]/service-interface-point/service-interface-point-uuid
 *                            both end points: layer-protocol-name PHOTONIC_MEDIA, layer-protocol-qualifier
 *                            tapi-photonic-media:PHOTONIC_LAYER_QUALIFIER_OTSi, direction BIDIRECTIONAL, role SYMMETRIC
 *   frequencyThz           → end-point[*]/tapi-photonic-media:otsi-connectivity-service-end-point-spec/otsi-config/
 *                            central-frequency/central-frequency, in MHz (the leaf's unit), with frequency-constraint
 *                            { grid-type DWDM, adjustment-granularity G_50GHZ } (the orchestrator's fixed 50 GHz grid).
 *                            2.1.3 deprecates this container in favour of an OTSiA spec with a keyed otsi-config
 *                            list; the container is the form the 2.1.x trees augment onto the end-point.
 *   channel                → name[value-name="apn-channel"], for people; the frequency is what the controller uses
 *   rateGbps               → requested-capacity/total-size { value, unit GBPS } (MBPS when not a whole Gbit/s)
 *   linkIds                → include-link (link uuids, through linkUuidOf); the order → name[value-name="apn-route"],
 *                            comma-separated, because include-link is a leaf-list the server may reorder
 *   nodeIds                → include-node (node uuids, through nodeUuidOf)
 *   (fixed)                → service-layer PHOTONIC_MEDIA, service-type POINT_TO_POINT_CONNECTIVITY,
 *                            connectivity-direction BIDIRECTIONAL, administrative-state UNLOCKED
 *   uint64 leaves (frequency, capacity) are JSON strings, as RFC 7951 §6.1 requires.
 *
 * Mapping, connectivity-service → LightpathStatus:
 *   operational-state ENABLED                      → UP
 *   otherwise, with connection[] entries           → PARTIAL (the controller has built part of it)
 *   otherwise                                      → DOWN
 *   configuredLinkIds: when UP, the apn-route name (else include-link, if no linkUuidOf maps the ids); otherwise []
 *                      since the service-level view names no hops
 *
 * RESTCONF operations and their answers:
 *   create  POST   {baseUrl}/restconf/data/tapi-common:context/tapi-connectivity:connectivity-context
 *                  201 created; 409 Conflict when the uuid exists (RFC 8040 §4.4.1), then the driver reads it
 *   read    GET    …/connectivity-service={uuid}   404 = no such service (RFC 8040 §4.3)
 *   delete  DELETE …/connectivity-service={uuid}   204 done; 404, or 409 with error-tag data-missing
 *                  (NETCONF's answer, which RFC 8040 §7 maps to 409), = already gone
 *   list    GET    …/tapi-connectivity:connectivity-context?content=config   (content is a query parameter every
 *                  server must support, RFC 8040 §4.8.1; config leaves out the connections and state). Only services
 *                  named apn-reservation=<their uuid> are listed: the controller is shared, and the reconciler
 *                  tears down what is listed and unwanted, so anything another client created must stay off the list.
 *
 * Errors → DriverError: no answer, a refused connection or a timeout is retryable; so are 5xx, 429 and 408 (with
 * Retry-After in details.retryAfterMs when sent). 401/403 are not (credentials); 400/422 and other 4xx are not,
 * and carry the error-message of the RESTCONF error body (RFC 8040 §7.1, "ietf-restconf:errors"). A 409 on create
 * with no service behind it (a lock, a resource still held) is retryable; a service already there under this id
 * but joining other end points or on another frequency is not.
 * The driver never retries a failed request itself: it reports `retryable` and the job queue decides when.
 * The only loop here is setupLightpath polling for ENABLED, bounded by timeoutMs.
 */
import { ApnDriver, DriverError, LightpathSpec, LightpathStatus } from '../apn-driver';
import {
  CONNECTIVITY_CONTEXT_PATH,
  ServiceView,
  buildCreateBody,
  differencesFrom,
  parseOwnServiceUuids,
  parseServiceResponse,
  serviceResourcePath,
  toLightpathStatus,
} from './tapi-model';

export interface TapiDriverOptions {
  /** Where the RESTCONF root "/restconf" lives, e.g. https://tapi.example.net:8443. */
  readonly baseUrl: string;
  /** Bound on each operation; for setupLightpath it covers the create and the wait for ENABLED. */
  readonly timeoutMs?: number;
  /** Added to every request, e.g. { Authorization: 'Bearer …' }. Never copied into errors. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The controller's node uuid for an orchestrator node id; identity when both share ids. */
  readonly nodeUuidOf?: (nodeId: string) => string;
  /** The controller's link uuid for an orchestrator link id; identity when both share ids. */
  readonly linkUuidOf?: (linkId: string) => string;
  /** Pause between reads while waiting for ENABLED. */
  readonly pollIntervalMs?: number;
  readonly fetchImpl?: typeof fetch;
}

const MEDIA_TYPE = 'application/yang-data+json';
const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_POLL_INTERVAL_MS = 1_000;

interface Reply {
  readonly status: number;
  readonly body: unknown;
  readonly headers: Headers;
}

interface RestconfError {
  readonly tag?: string;
  readonly message?: string;
}

export class TapiDriver implements ApnDriver {
  readonly name = 'tapi';
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly nodeUuidOf: (nodeId: string) => string;
  private readonly linkUuidOf: (linkId: string) => string;
  private readonly linkIdsAreControllerIds: boolean;
  private readonly fetchImpl: typeof fetch;

  constructor(options: TapiDriverOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    if (!(this.timeoutMs > 0) || !(this.pollIntervalMs > 0)) {
      throw new Error('TapiDriver: timeoutMs and pollIntervalMs must be positive');
    }
    this.headers = options.headers ?? {};
    this.nodeUuidOf = options.nodeUuidOf ?? ((id) => id);
    this.linkUuidOf = options.linkUuidOf ?? ((id) => id);
    this.linkIdsAreControllerIds = options.linkUuidOf === undefined;
    this.fetchImpl = options.fetchImpl ?? fetch;
  }

  async setupLightpath(spec: LightpathSpec): Promise<LightpathStatus> {
    const deadline = Date.now() + this.timeoutMs;
    // Read first: a retried job usually finds the service already there, and a POST would only earn a 409.
    const existing = await this.readService(spec.id, deadline);
    if (existing) {
      this.assertSameService(existing, spec);
      const status = this.statusOf(spec.id, existing);
      if (status.state === 'UP') return status;
    } else {
      await this.createService(spec, deadline);
    }
    return this.awaitEnabled(spec.id, deadline);
  }

  async teardownLightpath(id: string): Promise<void> {
    const path = serviceResourcePath(id);
    const reply = await this.send('DELETE', path, Date.now() + this.timeoutMs);
    if (reply.status === 200 || reply.status === 202 || reply.status === 204) return;
    if (reply.status === 404) return;
    if (reply.status === 409 && restconfErrors(reply.body).some((e) => e.tag === 'data-missing')) return;
    throw this.httpError(`delete connectivity-service ${id}`, 'DELETE', path, reply);
  }

  async getLightpath(id: string): Promise<LightpathStatus | null> {
    const view = await this.readService(id, Date.now() + this.timeoutMs);
    return view ? this.statusOf(id, view) : null;
  }

  async listLightpaths(): Promise<string[]> {
    const path = `${CONNECTIVITY_CONTEXT_PATH}?content=config`;
    const reply = await this.send('GET', path, Date.now() + this.timeoutMs);
    // Some servers answer 404 for a container with nothing in it.
    if (reply.status === 404) return [];
    if (reply.status !== 200) throw this.httpError('list connectivity-services', 'GET', path, reply);
    return parseOwnServiceUuids(reply.body);
  }

  private statusOf(id: string, view: ServiceView): LightpathStatus {
    return toLightpathStatus(id, view, this.linkIdsAreControllerIds);
  }

  private async readService(id: string, deadline: number): Promise<ServiceView | null> {
    const path = serviceResourcePath(id);
    const reply = await this.send('GET', path, deadline);
    if (reply.status === 404) return null;
    if (reply.status !== 200) throw this.httpError(`read connectivity-service ${id}`, 'GET', path, reply);
    const view = parseServiceResponse(reply.body);
    if (!view) {
      // A 200 that is not a connectivity-service is usually a baseUrl pointing at something else: no retry fixes it.
      throw new DriverError(
        `TAPI controller answered GET ${path} with something that is not a connectivity-service; check baseUrl`,
        false,
        { method: 'GET', url: this.baseUrl + path, status: reply.status },
      );
    }
    return view;
  }

  private async createService(spec: LightpathSpec, deadline: number): Promise<void> {
    const body = buildCreateBody(spec, { nodeUuidOf: this.nodeUuidOf, linkUuidOf: this.linkUuidOf });
    const reply = await this.send('POST', CONNECTIVITY_CONTEXT_PATH, deadline, body);
    if (reply.status === 201 || reply.status === 200 || reply.status === 204) return;
    if (reply.status === 409) {
      // RFC 8040 §4.4.1: POST on an existing resource fails with 409. RESTCONF also answers 409 for lock-denied
      // and in-use, so the tag is not trusted: whether the service now exists decides.
      const existing = await this.readService(spec.id, deadline);
      if (existing) {
        this.assertSameService(existing, spec);
        return;
      }
      // A conflict without the service is a lock or a resource still held (e.g. by a teardown in progress),
      // which clears by itself.
      throw this.httpError(`create connectivity-service ${spec.id}`, 'POST', CONNECTIVITY_CONTEXT_PATH, reply, true);
    }
    throw this.httpError(`create connectivity-service ${spec.id}`, 'POST', CONNECTIVITY_CONTEXT_PATH, reply);
  }

  private async awaitEnabled(id: string, deadline: number): Promise<LightpathStatus> {
    let last: LightpathStatus | undefined;
    for (;;) {
      if (Date.now() >= deadline) throw this.setupTimeout(id, last);
      let view: ServiceView | null;
      try {
        view = await this.readService(id, deadline);
      } catch (error) {
        if (error instanceof DriverError && error.details.kind === 'timeout') throw this.setupTimeout(id, last);
        throw error;
      }
      if (!view) {
        // The controller dropped the service it accepted (e.g. it could not route it and rolled back).
        throw new DriverError(
          `connectivity-service ${id} disappeared from the TAPI controller while activating`,
          true,
          { id },
        );
      }
      last = this.statusOf(id, view);
      if (last.state === 'UP') return last;
      await sleep(Math.min(this.pollIntervalMs, Math.max(0, deadline - Date.now())));
    }
  }

  private setupTimeout(id: string, last: LightpathStatus | undefined): DriverError {
    // Retryable: the service stays on the controller, so the next attempt resumes waiting rather than re-creating.
    return new DriverError(
      `connectivity-service ${id} did not reach operational-state ENABLED within ${this.timeoutMs} ms` +
        (last ? ` (last seen ${last.state})` : ''),
      true,
      { kind: 'timeout', id, timeoutMs: this.timeoutMs, lastState: last?.state ?? null },
    );
  }

  private assertSameService(view: ServiceView, spec: LightpathSpec): void {
    const differences = differencesFrom(view, spec);
    if (differences.length > 0) {
      // Same id, different lightpath: re-using it would carry light to the wrong place, and waiting changes nothing.
      throw new DriverError(
        `connectivity-service ${spec.id} already exists on the TAPI controller with ${differences.join('; ')}; ` +
          'tear it down before setting it up again',
        false,
        { id: spec.id, differences },
      );
    }
  }

  private async send(method: string, path: string, deadline: number, body?: unknown): Promise<Reply> {
    const url = this.baseUrl + path;
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw this.requestTimeout(method, path);
    const headers: Record<string, string> = { Accept: MEDIA_TYPE };
    if (body !== undefined) headers['Content-Type'] = MEDIA_TYPE;
    Object.assign(headers, this.headers);
    const fetchImpl = this.fetchImpl;
    try {
      const response = await fetchImpl(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        // One signal covers connecting, the headers and the body, so a stalled server cannot outlast the deadline.
        signal: AbortSignal.timeout(Math.max(1, Math.ceil(remaining))),
      });
      const text = await response.text();
      return { status: response.status, body: parseJson(text), headers: response.headers };
    } catch (error) {
      // AbortSignal.timeout rejects with a DOMException named TimeoutError; checked by name, not by class.
      const name = (error as { name?: unknown } | null)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw this.requestTimeout(method, path);
      }
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
      timeoutMs: this.timeoutMs,
    });
  }

  private httpError(action: string, method: string, path: string, reply: Reply, retryable?: boolean): DriverError {
    const errors = restconfErrors(reply.body);
    const serverMessage = errors.map((e) => e.message).filter((m): m is string => !!m).join('; ') || undefined;
    const details: Record<string, unknown> = {
      kind: 'http',
      method,
      url: this.baseUrl + path,
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The error list of an RFC 8040 §7.1 body: { "ietf-restconf:errors": { "error": [ {error-tag, error-message} ] } }. */
function restconfErrors(body: unknown): RestconfError[] {
  if (typeof body !== 'object' || body === null) return [];
  const object = body as Record<string, unknown>;
  const container = object['ietf-restconf:errors'] ?? object.errors;
  if (typeof container !== 'object' || container === null) return [];
  const list = (container as Record<string, unknown>).error;
  const entries = Array.isArray(list) ? list : [list];
  return entries
    .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
    .map((e) => ({
      tag: typeof e['error-tag'] === 'string' ? e['error-tag'] : undefined,
      message: typeof e['error-message'] === 'string' ? e['error-message'] : undefined,
    }));
}

/** Retry-After is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/**
 * undici reports "fetch failed" and hides the reason (ECONNREFUSED, ENOTFOUND, ...) in `cause`. Read by shape, not
 * instanceof: fetch's errors can come from another realm (as under Jest), where Error is a different class.
 */
function describeNetworkError(error: unknown): string {
  const outer = error as { message?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  const cause = outer?.cause;
  if (cause && typeof cause === 'object') {
    const message = typeof cause.message === 'string' ? cause.message : '';
    if (typeof cause.code === 'string') return message ? `${cause.code} (${message})` : cause.code;
    if (message) return message;
  }
  return typeof outer?.message === 'string' ? outer.message : String(error);
}
