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

/** The validator the options ask for: yanglint with the TAPI models when found, else the structural check. */
function chooseValidator(options: TapiTestServerOptions): { validator: Validator; kind: 'yanglint' | 'structural'; note: string } {
  const models = options.validator === 'structural' ? { missing: 'structural check requested' } : findTapiModels(options.yangDir);
  if (!('missing' in models)) return { validator: new TapiYangValidator(models), kind: 'yanglint', note: '' };
  if (options.validator === 'yanglint') throw new Error(`TAPI test server: ${models.missing}`);
  return { validator: new StructuralValidator(), kind: 'structural', note: models.missing };
}

/** The referenced objects a create names exist in the controller's topology: its include-links and include-nodes. */
function checkRoute(index: ContextIndex, route: Record<string, unknown>): void {
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
}

/** Each end point's layer and qualifier are those its service-interface-point supports. */
function checkEndPointLayers(index: ContextIndex, endPoints: unknown): void {
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
}

/** How the answer to one exchange is written, recording it in the exchange. */
interface Reply {
  json(status: number, body: unknown, answerKind?: MessageKind): void;
  empty(status: number, headers?: Record<string, string>): void;
}

/** The controller behind the HTTP server: its services, their lifecycle on timers, and its RESTCONF resources. */
class FakeController {
  readonly context: Record<string, unknown>;
  readonly services = new Map<string, StoredService>();
  readonly exchanges: Exchange[] = [];
  activationDelayMs: number;
  removalDelayMs: number;
  rejection: string | null = null;
  private createFailuresLeft: number;
  private readonly index: ContextIndex;
  private readonly removals = new Map<string, NodeJS.Timeout>();
  readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly options: TapiTestServerOptions,
    readonly root: string,
    private readonly validator: Validator,
  ) {
    this.context = { 'tapi-common:context': contextBody(options.context) };
    this.index = indexContext(this.context);
    this.activationDelayMs = options.activationDelayMs ?? 50;
    this.removalDelayMs = options.removalDelayMs ?? 50;
    this.createFailuresLeft = options.failCreateTimes ?? 0;
  }

  private later(ms: number, action: () => void): NodeJS.Timeout | null {
    if (!Number.isFinite(ms)) return null;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, ms);
    timer.unref();
    this.timers.add(timer);
    return timer;
  }

  withState(service: StoredService): Record<string, unknown> {
    return {
      ...service.entry,
      uuid: service.uuid,
      'operational-state': service.forced ?? service.operational,
      'lifecycle-state': service.lifecycle,
    };
  }

  private install(uuid: string): void {
    const service = this.services.get(uuid);
    if (!service || service.lifecycle !== 'PLANNED') return;
    service.lifecycle = 'INSTALLED';
    service.operational = 'ENABLED';
  }

  scheduleRemoval(uuid: string): void {
    const previous = this.removals.get(uuid);
    if (previous) clearTimeout(previous);
    this.removals.delete(uuid);
    const timer = this.later(this.removalDelayMs, () => {
      this.removals.delete(uuid);
      this.services.delete(uuid);
    });
    if (timer) this.removals.set(uuid, timer);
  }

  private remove(service: StoredService): void {
    if (service.lifecycle === 'PENDING_REMOVAL') return;
    service.lifecycle = 'PENDING_REMOVAL';
    service.operational = 'DISABLED';
    this.scheduleRemoval(service.uuid);
  }

  private store(uuid: string, entry: Record<string, unknown>, createdBy: StoredService['createdBy']): void {
    this.services.set(uuid, { uuid, entry, createdBy, lifecycle: 'PLANNED', operational: 'DISABLED', forced: null });
    this.later(this.activationDelayMs, () => this.install(uuid));
  }

  /** Validation against the models, then what the models cannot say: the referenced objects and their layers. */
  private async checkCreate(kind: 'create-body' | 'create-input', body: unknown, endPoints: unknown, route: Record<string, unknown>) {
    const verdict = await this.validator.validate(kind, body, this.context);
    if (!verdict.ok) {
      if (/leafref/i.test(verdict.message)) {
        throw new HttpRefusal(409, 'data-missing', verdict.message, 'instance-required');
      }
      throw new HttpRefusal(400, 'invalid-value', verdict.message);
    }
    checkRoute(this.index, route);
    checkEndPointLayers(this.index, endPoints);
    if (this.rejection !== null) throw new HttpRefusal(400, 'invalid-value', this.rejection);
    if (this.createFailuresLeft > 0) {
      this.createFailuresLeft -= 1;
      throw new HttpRefusal(503, 'operation-failed', 'path computation engine busy');
    }
  }

  private serviceList(): Array<Record<string, unknown>> {
    return [...this.services.values()].map((s) => this.withState(s));
  }

  currentContext(): Record<string, unknown> {
    return {
      'tapi-common:context': {
        ...contextBody(this.context),
        'tapi-connectivity:connectivity-context': this.services.size > 0 ? { 'connectivity-service': this.serviceList() } : {},
      },
    };
  }

  /** Answers one request: host-meta and the checks every request passes, then the resource it names. */
  async handle(req: IncomingMessage, res: ServerResponse, exchange: Exchange): Promise<void> {
    const { method, path } = exchange;
    const reply: Reply = {
      json(status, body, answerKind) {
        exchange.status = status;
        exchange.responseBody = body;
        exchange.answerKind = answerKind;
        res.writeHead(status, { 'Content-Type': MEDIA_TYPE }).end(JSON.stringify(body));
      },
      empty(status, headers = {}) {
        exchange.status = status;
        res.writeHead(status, headers).end();
      },
    };
    if (this.options.requireAuthorization !== undefined && req.headers.authorization !== this.options.requireAuthorization) {
      throw new HttpRefusal(401, 'access-denied', 'authentication required');
    }
    if (path === '/.well-known/host-meta' && method === 'GET' && this.options.serveHostMeta !== false) {
      exchange.status = 200;
      res
        .writeHead(200, { 'Content-Type': 'application/xrd+xml' })
        .end(`<XRD xmlns='http://docs.oasis-open.org/ns/xri/xrd-1.0'><Link rel='restconf' href='${this.root}'/></XRD>`);
      return;
    }
    if (!path.startsWith(`${this.root}/`)) throw new HttpRefusal(404, 'invalid-value', `unknown resource ${path}`);
    if (method === 'POST' && !/^application\/(yang-data\+)?json\b/.test(req.headers['content-type'] ?? '')) {
      throw new HttpRefusal(415, 'invalid-value', `expected ${MEDIA_TYPE}`);
    }
    const handled = this.read(exchange, reply) || (await this.write(exchange, reply));
    if (!handled) throw new HttpRefusal(404, 'invalid-value', `unknown resource ${path}`);
  }

  /** GET on the context, a service-interface-point or the connectivity-context; false when the request is none of these. */
  private read(exchange: Exchange, reply: Reply): boolean {
    if (exchange.method !== 'GET') return false;
    const resource = exchange.path.slice(this.root.length);
    if (resource === CONTEXT) {
      reply.json(200, this.currentContext());
      return true;
    }
    if (resource.startsWith(SIP_PREFIX)) {
      const uuid = decodeURIComponent(resource.slice(SIP_PREFIX.length));
      const sip = list(contextBody(this.context)['service-interface-point']).find((s) => s.uuid === uuid);
      if (!sip) throw new HttpRefusal(404, 'invalid-value', `no service-interface-point ${uuid}`);
      reply.json(200, { 'tapi-common:service-interface-point': [sip] }, 'sip-answer');
      return true;
    }
    if (resource === CONNECTIVITY) {
      const content = new URLSearchParams(exchange.query).get('content') ?? 'all';
      const shown = content === 'config' && !this.options.servicesInConfig ? [] : this.serviceList();
      const entries = content === 'config' ? shown.map(configOnly) : shown;
      reply.json(
        200,
        { 'tapi-connectivity:connectivity-context': entries.length > 0 ? { 'connectivity-service': entries } : {} },
        'list-answer',
      );
      return true;
    }
    return false;
  }

  /** Creates and deletes in either style, and a GET of one service; false when the request is none of these. */
  private async write(exchange: Exchange, reply: Reply): Promise<boolean> {
    const { method } = exchange;
    const resource = exchange.path.slice(this.root.length);
    const body = exchange.requestBody;
    if (resource === CONNECTIVITY && method === 'POST') {
      const entry = list(isRecord(body) ? body['tapi-connectivity:connectivity-service'] : undefined)[0];
      const uuid = entry?.uuid;
      if (typeof uuid === 'string' && this.services.has(uuid)) {
        throw new HttpRefusal(409, 'resource-denied', `connectivity-service ${uuid} already exists`);
      }
      await this.checkCreate('create-body', body, entry?.['end-point'], entry ?? {});
      this.store(uuid as string, entry, 'data');
      reply.empty(201, { Location: `${this.root}${SERVICE_PREFIX}${encodeURIComponent(uuid as string)}` });
      return true;
    }
    if (resource.startsWith(SERVICE_PREFIX) && !resource.slice(SERVICE_PREFIX.length).includes('/')) {
      const uuid = decodeURIComponent(resource.slice(SERVICE_PREFIX.length));
      const service = this.services.get(uuid);
      if (!service) throw new HttpRefusal(404, 'invalid-value', `no connectivity-service ${uuid}`);
      if (method === 'GET') reply.json(200, { 'tapi-connectivity:connectivity-service': [this.withState(service)] }, 'service-answer');
      else if (method === 'DELETE') {
        this.remove(service);
        reply.empty(204);
      } else throw new HttpRefusal(405, 'operation-not-supported', `${method} not supported here`);
      return true;
    }
    if (resource === CREATE_RPC && method === 'POST') {
      const input = isRecord(body) && isRecord(body['tapi-connectivity:input']) ? body['tapi-connectivity:input'] : {};
      const topology = isRecord(input['topology-constraint']) ? input['topology-constraint'] : {};
      await this.checkCreate('create-input', body, input['end-point'], topology);
      const uuid = randomUUID();
      const connectivity = isRecord(input['connectivity-constraint']) ? input['connectivity-constraint'] : {};
      this.store(uuid, { uuid, 'end-point': input['end-point'], ...connectivity, ...topology, 'administrative-state': 'UNLOCKED' }, 'rpc');
      reply.json(
        200,
        { 'tapi-connectivity:output': { service: this.withState(this.services.get(uuid) as StoredService) } },
        'create-output',
      );
      return true;
    }
    if (resource === DELETE_RPC && method === 'POST') {
      const verdict = await this.validator.validate('delete-input', body, this.context);
      if (!verdict.ok) throw new HttpRefusal(400, 'invalid-value', verdict.message);
      const input = (body as Record<string, Record<string, unknown>>)['tapi-connectivity:input'];
      const key = String(input['service-id-or-name']);
      const service = this.services.get(key) ?? [...this.services.values()].find((s) => list(s.entry.name).some((n) => n.value === key));
      if (!service) throw new HttpRefusal(400, 'invalid-value', `no connectivity-service ${key}`);
      this.remove(service);
      reply.empty(204);
      return true;
    }
    return false;
  }

  /** The request's body parsed and its kind noted, then handled; a refusal or a failure answered with an RFC 8040 error. */
  serve(req: IncomingMessage, res: ServerResponse): void {
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    const exchange: Exchange = { method: req.method ?? 'GET', path, query, requestBody: undefined, status: 0, responseBody: undefined };
    this.exchanges.push(exchange);
    readBody(req)
      .then((text) => {
        if (text !== '') {
          try {
            exchange.requestBody = JSON.parse(text);
          } catch {
            throw new HttpRefusal(400, 'malformed-message', 'body is not JSON');
          }
        }
        exchange.requestKind = requestKindOf(exchange.method, path.slice(this.root.length));
        return this.handle(req, res, exchange);
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
  }
}

export async function startTapiTestServer(options: TapiTestServerOptions): Promise<TapiTestServer> {
  const { validator, kind: validatorKind, note: validatorNote } = chooseValidator(options);
  const controller = new FakeController(options, options.restconfRoot ?? '/rests', validator);
  const { services, exchanges, context, root } = controller;
  const server: Server = createServer((req, res) => controller.serve(req, res));
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
      controller.activationDelayMs = ms;
    },
    setRemovalDelay(ms) {
      controller.removalDelayMs = ms;
      for (const service of services.values()) if (service.lifecycle === 'PENDING_REMOVAL') controller.scheduleRemoval(service.uuid);
    },
    rejectCreates(message) {
      controller.rejection = message;
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
    currentContext: () => controller.currentContext(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of controller.timers) clearTimeout(timer);
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
