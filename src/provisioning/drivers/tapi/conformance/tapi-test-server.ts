/**
 * A TAPI 2.1.3 RESTCONF server for tests, behaving as a controller does rather than as the driver expects:
 *
 * - it serves a controller context (tapi-common:context, e.g. controllerContextFor(referenceTopology)) with
 *   its own uuids, and only those: a request naming a service-interface-point it lacks is refused with
 *   409 data-missing (instance-required, as RFC 7950 §15.5 says for a leafref); an include-link or include-node
 *   it lacks, or an end point whose layer is not its service-interface-point's, with 400 invalid-value;
 * - its RESTCONF root is not /restconf unless told so, and is announced at /.well-known/host-meta (RFC 8040 §3.1);
 * - it offers both styles: POST on the connectivity-context (TR-547; the client chooses the uuid) and the
 *   create / delete-connectivity-service RPCs (the server chooses the uuid);
 * - every create and delete request is validated against the TAPI 2.1.3 models, with yanglint when it is
 *   installed and the models are found, else with the structural check (validatorKind says which);
 * - services move by themselves: created PLANNED and DISABLED, INSTALLED and ENABLED after activationDelayMs;
 *   deleted to PENDING_REMOVAL, gone after removalDelayMs (Infinity: the delete hangs until told otherwise);
 * - services are kept as operational data: a GET with content=config lists none (servicesInConfig changes that);
 * - errors carry RFC 8040 §7.1 bodies.
 *
 * Every exchange is recorded (exchanges), so a test can validate each request and each answer afterwards.
 * It listens on 127.0.0.1 on a free port.
 */
import { randomUUID } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ContextIndex, contextBody, indexContext } from './controller-context';
import { StructuralValidator } from './structural-check';
import { MessageKind, TapiYangValidator, Verdict, findTapiModels } from './yanglint';

export interface TapiTestServerOptions {
  /** The controller's context: { "tapi-common:context": { … } }. */
  readonly context: Record<string, unknown>;
  /** RESTCONF root announced by host-meta. Default /rests (OpenDaylight's). */
  readonly restconfRoot?: string;
  /** Serve /.well-known/host-meta. Default true. */
  readonly serveHostMeta?: boolean;
  /** Time from create to INSTALLED and ENABLED. Default 50 ms; Infinity: never. */
  readonly activationDelayMs?: number;
  /** Time from delete to gone. Default 50 ms; Infinity: deletes hang in PENDING_REMOVAL. */
  readonly removalDelayMs?: number;
  /** Answer 503 (Retry-After: 1) to the first N creates. */
  readonly failCreateTimes?: number;
  /** When set, any request without exactly this Authorization header gets 401. */
  readonly requireAuthorization?: string;
  /** 'auto' (default): yanglint when installed and the models are found, else the structural check. */
  readonly validator?: 'auto' | 'yanglint' | 'structural';
  readonly yangDir?: string;
  /** List services under content=config too, as a server keeping them as configuration would. Default false. */
  readonly servicesInConfig?: boolean;
}

export interface Exchange {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  requestBody: unknown;
  /** What the request body is, when it is one the models define. */
  requestKind?: MessageKind;
  status: number;
  responseBody: unknown;
  /** What the answer is, when it is one the models define (errors are RFC 8040 bodies, not TAPI). */
  answerKind?: MessageKind;
}

export type Lifecycle = 'PLANNED' | 'INSTALLED' | 'PENDING_REMOVAL';

export interface StoredService {
  readonly uuid: string;
  /** The configuration as created. */
  readonly entry: Record<string, unknown>;
  readonly createdBy: 'data' | 'rpc' | 'planted';
  lifecycle: Lifecycle;
  operational: 'ENABLED' | 'DISABLED';
  forced: 'ENABLED' | 'DISABLED' | null;
}

export interface TapiTestServer {
  readonly url: string;
  readonly root: string;
  readonly validatorKind: 'yanglint' | 'structural';
  /** Why the structural check is used, when it is. */
  readonly validatorNote: string;
  readonly context: Record<string, unknown>;
  readonly services: ReadonlyMap<string, StoredService>;
  readonly exchanges: Exchange[];
  /** Exchanges whose request body is a create (either style). */
  creates(): Exchange[];
  setActivationDelay(ms: number): void;
  /** Applies to deletes from now on and to services already PENDING_REMOVAL. */
  setRemovalDelay(ms: number): void;
  /** Refuse every create with 400 invalid-value and this message (null: accept again). */
  rejectCreates(message: string | null): void;
  /** Puts a service in place as if some client had created it long ago: INSTALLED and ENABLED. */
  plant(entry: Record<string, unknown>): void;
  /** Pins a service's operational-state (null lifts the pin). */
  forceOperationalState(uuid: string, state: 'ENABLED' | 'DISABLED' | null): void;
  /** The whole context as the server holds it now, services included. */
  currentContext(): Record<string, unknown>;
  close(): Promise<void>;
}

const MEDIA_TYPE = 'application/yang-data+json';
const CONTEXT = '/data/tapi-common:context';
const CONNECTIVITY = `${CONTEXT}/tapi-connectivity:connectivity-context`;
const SERVICE_PREFIX = `${CONNECTIVITY}/connectivity-service=`;
const SIP_PREFIX = `${CONTEXT}/service-interface-point=`;
const CREATE_RPC = '/operations/tapi-connectivity:create-connectivity-service';
const DELETE_RPC = '/operations/tapi-connectivity:delete-connectivity-service';

interface Validator {
  validate(kind: MessageKind, message: unknown, context: Record<string, unknown>): Promise<Verdict> | Verdict;
}

class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    readonly tag: string,
    message: string,
    readonly appTag?: string,
  ) {
    super(message);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function list(value: unknown): Array<Record<string, unknown>> {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

export async function startTapiTestServer(options: TapiTestServerOptions): Promise<TapiTestServer> {
  const root = options.restconfRoot ?? '/rests';
  const context = { 'tapi-common:context': contextBody(options.context) };
  const index: ContextIndex = indexContext(context);
  let activationDelayMs = options.activationDelayMs ?? 50;
  let removalDelayMs = options.removalDelayMs ?? 50;
  let createFailuresLeft = options.failCreateTimes ?? 0;
  let rejection: string | null = null;
  const services = new Map<string, StoredService>();
  const removals = new Map<string, NodeJS.Timeout>();
  const timers = new Set<NodeJS.Timeout>();
  const exchanges: Exchange[] = [];

  let validator: Validator;
  let validatorKind: 'yanglint' | 'structural';
  let validatorNote = '';
  const models = options.validator === 'structural' ? { missing: 'structural check requested' } : findTapiModels(options.yangDir);
  if ('missing' in models) {
    if (options.validator === 'yanglint') throw new Error(`TAPI test server: ${models.missing}`);
    validator = new StructuralValidator();
    validatorKind = 'structural';
    validatorNote = models.missing;
  } else {
    validator = new TapiYangValidator(models);
    validatorKind = 'yanglint';
  }

  const later = (ms: number, action: () => void): NodeJS.Timeout | null => {
    if (!Number.isFinite(ms)) return null;
    const timer = setTimeout(() => {
      timers.delete(timer);
      action();
    }, ms);
    timer.unref();
    timers.add(timer);
    return timer;
  };

  const withState = (service: StoredService): Record<string, unknown> => ({
    ...service.entry,
    uuid: service.uuid,
    'operational-state': service.forced ?? service.operational,
    'lifecycle-state': service.lifecycle,
  });

  const install = (uuid: string) => {
    const service = services.get(uuid);
    if (!service || service.lifecycle !== 'PLANNED') return;
    service.lifecycle = 'INSTALLED';
    service.operational = 'ENABLED';
  };

  const scheduleRemoval = (uuid: string) => {
    const previous = removals.get(uuid);
    if (previous) clearTimeout(previous);
    removals.delete(uuid);
    const timer = later(removalDelayMs, () => {
      removals.delete(uuid);
      services.delete(uuid);
    });
    if (timer) removals.set(uuid, timer);
  };

  const remove = (service: StoredService) => {
    if (service.lifecycle === 'PENDING_REMOVAL') return;
    service.lifecycle = 'PENDING_REMOVAL';
    service.operational = 'DISABLED';
    scheduleRemoval(service.uuid);
  };

  const store = (uuid: string, entry: Record<string, unknown>, createdBy: StoredService['createdBy']) => {
    services.set(uuid, { uuid, entry, createdBy, lifecycle: 'PLANNED', operational: 'DISABLED', forced: null });
    later(activationDelayMs, () => install(uuid));
  };

  /** Validation against the models, then what the models cannot say: the referenced objects and their layers. */
  const checkCreate = async (kind: 'create-body' | 'create-input', body: unknown, endPoints: unknown, route: Record<string, unknown>) => {
    const verdict = await validator.validate(kind, body, context);
    if (!verdict.ok) {
      if (/leafref/i.test(verdict.message)) {
        throw new HttpRefusal(409, 'data-missing', verdict.message, 'instance-required');
      }
      throw new HttpRefusal(400, 'invalid-value', verdict.message);
    }
    for (const [key, known, what] of [
      ['include-link', index.links, 'link'],
      ['include-node', index.nodes, 'node'],
    ] as const) {
      for (const uuid of Array.isArray(route[key]) ? (route[key] as unknown[]) : []) {
        if (typeof uuid !== 'string' || !known.has(uuid)) {
          throw new HttpRefusal(400, 'invalid-value', `${key} ${String(uuid)} is not a ${what} of this controller's topology`);
        }
      }
    }
    for (const ep of list(endPoints)) {
      const sipUuid = (ep['service-interface-point'] as Record<string, unknown> | undefined)?.['service-interface-point-uuid'];
      if (typeof sipUuid !== 'string') continue;
      const sip = index.sips.get(sipUuid);
      if (!sip) continue;
      if (ep['layer-protocol-name'] !== undefined && ep['layer-protocol-name'] !== sip.layerProtocolName) {
        throw new HttpRefusal(
          400,
          'invalid-value',
          `end-point ${shown(ep['local-id'])}: service-interface-point ${sipUuid} is on layer ${sip.layerProtocolName}, not ${shown(ep['layer-protocol-name'])}`,
        );
      }
      const qualifier = ep['layer-protocol-qualifier'];
      if (qualifier !== undefined && (typeof qualifier !== 'string' || !sip.qualifiers.includes(qualifier))) {
        throw new HttpRefusal(
          400,
          'invalid-value',
          `end-point ${shown(ep['local-id'])}: service-interface-point ${sipUuid} supports ${sip.qualifiers.join(', ')}, not ${shown(qualifier)}`,
        );
      }
    }
    if (rejection !== null) throw new HttpRefusal(400, 'invalid-value', rejection);
    if (createFailuresLeft > 0) {
      createFailuresLeft -= 1;
      throw new HttpRefusal(503, 'operation-failed', 'path computation engine busy');
    }
  };

  const serviceList = () => [...services.values()].map(withState);

  const handle = async (req: IncomingMessage, res: ServerResponse, exchange: Exchange): Promise<void> => {
    const method = exchange.method;
    const path = exchange.path;
    const content = new URLSearchParams(exchange.query).get('content') ?? 'all';
    const json = (status: number, body: unknown, answerKind?: MessageKind) => {
      exchange.status = status;
      exchange.responseBody = body;
      exchange.answerKind = answerKind;
      res.writeHead(status, { 'Content-Type': MEDIA_TYPE }).end(JSON.stringify(body));
    };
    const empty = (status: number, headers: Record<string, string> = {}) => {
      exchange.status = status;
      res.writeHead(status, headers).end();
    };

    if (options.requireAuthorization !== undefined && req.headers.authorization !== options.requireAuthorization) {
      throw new HttpRefusal(401, 'access-denied', 'authentication required');
    }
    if (path === '/.well-known/host-meta' && method === 'GET' && options.serveHostMeta !== false) {
      exchange.status = 200;
      res
        .writeHead(200, { 'Content-Type': 'application/xrd+xml' })
        .end(`<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'><Link rel='restconf' href='${root}'/></XRD>`);
      return;
    }
    if (!path.startsWith(`${root}/`)) throw new HttpRefusal(404, 'invalid-value', `unknown resource ${path}`);
    const resource = path.slice(root.length);
    if (method === 'POST' && !/^application\/(yang-data\+)?json\b/.test(req.headers['content-type'] ?? '')) {
      throw new HttpRefusal(415, 'invalid-value', `expected ${MEDIA_TYPE}`);
    }

    if (resource === CONTEXT && method === 'GET') {
      return json(200, currentContext());
    }
    if (resource.startsWith(SIP_PREFIX) && method === 'GET') {
      const uuid = decodeURIComponent(resource.slice(SIP_PREFIX.length));
      const sip = list(contextBody(context)['service-interface-point']).find((s) => s.uuid === uuid);
      if (!sip) throw new HttpRefusal(404, 'invalid-value', `no service-interface-point ${uuid}`);
      return json(200, { 'tapi-common:service-interface-point': [sip] }, 'sip-answer');
    }
    if (resource === CONNECTIVITY && method === 'GET') {
      const shown = content === 'config' && !options.servicesInConfig ? [] : serviceList();
      const entries = content === 'config' ? shown.map(configOnly) : shown;
      return json(
        200,
        { 'tapi-connectivity:connectivity-context': entries.length > 0 ? { 'connectivity-service': entries } : {} },
        'list-answer',
      );
    }
    if (resource === CONNECTIVITY && method === 'POST') {
      const body = exchange.requestBody;
      const entry = list(isRecord(body) ? body['tapi-connectivity:connectivity-service'] : undefined)[0];
      const uuid = entry?.uuid;
      if (typeof uuid === 'string' && services.has(uuid)) {
        throw new HttpRefusal(409, 'resource-denied', `connectivity-service ${uuid} already exists`);
      }
      await checkCreate('create-body', body, entry?.['end-point'], entry ?? {});
      store(uuid as string, entry, 'data');
      return empty(201, { Location: `${root}${SERVICE_PREFIX}${encodeURIComponent(uuid as string)}` });
    }
    if (resource.startsWith(SERVICE_PREFIX) && !resource.slice(SERVICE_PREFIX.length).includes('/')) {
      const uuid = decodeURIComponent(resource.slice(SERVICE_PREFIX.length));
      const service = services.get(uuid);
      if (!service) throw new HttpRefusal(404, 'invalid-value', `no connectivity-service ${uuid}`);
      if (method === 'GET') return json(200, { 'tapi-connectivity:connectivity-service': [withState(service)] }, 'service-answer');
      if (method === 'DELETE') {
        remove(service);
        return empty(204);
      }
      throw new HttpRefusal(405, 'operation-not-supported', `${method} not supported here`);
    }
    if (resource === CREATE_RPC && method === 'POST') {
      const body = exchange.requestBody;
      const input = isRecord(body) && isRecord(body['tapi-connectivity:input']) ? body['tapi-connectivity:input'] : {};
      const topology = isRecord(input['topology-constraint']) ? input['topology-constraint'] : {};
      await checkCreate('create-input', body, input['end-point'], topology);
      const uuid = randomUUID();
      const connectivity = isRecord(input['connectivity-constraint']) ? input['connectivity-constraint'] : {};
      store(uuid, { uuid, 'end-point': input['end-point'], ...connectivity, ...topology, 'administrative-state': 'UNLOCKED' }, 'rpc');
      return json(200, { 'tapi-connectivity:output': { service: withState(services.get(uuid) as StoredService) } }, 'create-output');
    }
    if (resource === DELETE_RPC && method === 'POST') {
      const verdict = await validator.validate('delete-input', exchange.requestBody, context);
      if (!verdict.ok) throw new HttpRefusal(400, 'invalid-value', verdict.message);
      const input = (exchange.requestBody as Record<string, Record<string, unknown>>)['tapi-connectivity:input'];
      const key = String(input['service-id-or-name']);
      const service = services.get(key) ?? [...services.values()].find((s) => list(s.entry.name).some((n) => n.value === key));
      if (!service) throw new HttpRefusal(400, 'invalid-value', `no connectivity-service ${key}`);
      remove(service);
      return empty(204);
    }
    throw new HttpRefusal(404, 'invalid-value', `unknown resource ${path}`);
  };

  const currentContext = (): Record<string, unknown> => ({
    'tapi-common:context': {
      ...contextBody(context),
      'tapi-connectivity:connectivity-context': services.size > 0 ? { 'connectivity-service': serviceList() } : {},
    },
  });

  const server: Server = createServer((req, res) => {
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    const exchange: Exchange = { method: req.method ?? 'GET', path, query, requestBody: undefined, status: 0, responseBody: undefined };
    exchanges.push(exchange);
    readBody(req)
      .then((text) => {
        if (text !== '') {
          try {
            exchange.requestBody = JSON.parse(text);
          } catch {
            throw new HttpRefusal(400, 'malformed-message', 'body is not JSON');
          }
        }
        exchange.requestKind = requestKindOf(exchange.method, path.slice(root.length));
        return handle(req, res, exchange);
      })
      .catch((error: unknown) => {
        if (res.headersSent) return;
        const refusal = error instanceof HttpRefusal ? error : new HttpRefusal(500, 'operation-failed', String(error));
        if (refusal.status === 503) res.setHeader('Retry-After', '1');
        const entry: Record<string, string> = {
          'error-type': refusal.status >= 500 || refusal.status === 409 || refusal.status === 400 ? 'application' : 'protocol',
          'error-tag': refusal.tag,
          'error-message': refusal.message,
        };
        if (refusal.appTag) entry['error-app-tag'] = refusal.appTag;
        const body = { 'ietf-restconf:errors': { error: [entry] } };
        exchange.status = refusal.status;
        exchange.responseBody = body;
        res.writeHead(refusal.status, { 'Content-Type': MEDIA_TYPE }).end(JSON.stringify(body));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    root,
    validatorKind,
    validatorNote,
    context,
    services,
    exchanges,
    creates: () => exchanges.filter((e) => e.requestKind === 'create-body' || e.requestKind === 'create-input'),
    setActivationDelay(ms) {
      activationDelayMs = ms;
    },
    setRemovalDelay(ms) {
      removalDelayMs = ms;
      for (const service of services.values()) if (service.lifecycle === 'PENDING_REMOVAL') scheduleRemoval(service.uuid);
    },
    rejectCreates(message) {
      rejection = message;
    },
    plant(entry) {
      const uuid = String(entry.uuid);
      services.set(uuid, { uuid, entry, createdBy: 'planted', lifecycle: 'INSTALLED', operational: 'ENABLED', forced: null });
    },
    forceOperationalState(uuid, state) {
      const service = services.get(uuid);
      if (!service) throw new Error(`TAPI test server: no connectivity-service ${uuid}`);
      service.forced = state;
    },
    currentContext,
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        // fetch keeps connections alive; without this close() would wait for them to idle out.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function requestKindOf(method: string, resource: string): MessageKind | undefined {
  if (method !== 'POST') return undefined;
  if (resource === CONNECTIVITY) return 'create-body';
  if (resource === CREATE_RPC) return 'create-input';
  if (resource === DELETE_RPC) return 'delete-input';
  return undefined;
}

/** A service's configuration as content=config shows it: no state leaves. */
function configOnly(entry: Record<string, unknown>): Record<string, unknown> {
  const { ['operational-state']: _o, ['lifecycle-state']: _l, ...config } = entry;
  return config;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A JSON member as it reads in an error message: a string as itself, anything else as JSON. */
function shown(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
