/**
 * A small TAPI 2.x RESTCONF server for tests: just the connectivity-service create / read / delete that
 * TapiDriver uses, with RFC 8040 status codes and error bodies. It listens on 127.0.0.1 on a free port.
 *
 * It deliberately does not import the driver's model: its paths and member names are written out here, so a
 * driver that drifts from the RESTCONF/TAPI shape fails against it instead of agreeing with itself.
 *
 * Behaviour:
 * - POST …/tapi-connectivity:connectivity-context with { "tapi-connectivity:connectivity-service": [ {…} ] }
 *   → 201 + Location; 409 if the uuid exists (RFC 8040 §4.4.1, error-tag resource-denied); 400 if the body is
 *   not one service with a uuid and two end points that name a service-interface-point; 415 for a non-JSON type.
 * - GET …/connectivity-service={uuid} → 200 with the stored service plus operational-state, lifecycle-state and
 *   connection[]; 404 (error-tag invalid-value, RFC 8040 §4.3) if unknown.
 * - DELETE …/connectivity-service={uuid} → 204; 404 if unknown.
 * - GET …/tapi-connectivity:connectivity-context[?content=config] → 200 with every service (config leaves only
 *   when content=config, RFC 8040 §4.8.1).
 * - operational-state is DISABLED until activationDelayMs after the create, then ENABLED with one connection.
 */
import { randomUUID } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TapiFixtureOptions {
  /** Time from create to ENABLED; Infinity keeps services DISABLED for ever. Default 0. */
  readonly activationDelayMs?: number;
  /** Answer 503 (with Retry-After: 1) to the first N creates. */
  readonly failCreateTimes?: number;
  /** Reject every create with this status and a RESTCONF error body. */
  readonly rejectCreateWith?: 400;
  /** When set, any request without exactly this Authorization header gets 401. */
  readonly requireAuthorization?: string;
}

export interface TapiFixture {
  /** Base URL, e.g. http://127.0.0.1:40123 (RESTCONF root under /restconf). */
  readonly url: string;
  /** Stored services by uuid: the list entry as the client posted it. */
  readonly services: Map<string, unknown>;
  readonly requests: Array<{ method: string; path: string }>;
  /**
   * Pins a service's operational-state regardless of the activation delay (null lifts the pin); a DISABLED pin
   * on an activated service keeps its connection, which is how a half-failed lightpath looks.
   */
  forceOperationalState(uuid: string, state: 'ENABLED' | 'DISABLED' | null): void;
  close(): Promise<void>;
}

export const TAPI_FIXTURE_REJECT_MESSAGE = 'service-interface-point not found in tapi-common:context';

const CONTEXT = '/restconf/data/tapi-common:context/tapi-connectivity:connectivity-context';
const SERVICE_PREFIX = `${CONTEXT}/connectivity-service=`;
const MEMBER = 'tapi-connectivity:connectivity-service';
const MEDIA_TYPE = 'application/yang-data+json';

interface Stored {
  readonly entry: Record<string, unknown>;
  readonly createdAt: number;
  readonly connectionUuid: string;
  forced: 'ENABLED' | 'DISABLED' | null;
}

export async function startTapiFixture(options: TapiFixtureOptions = {}): Promise<TapiFixture> {
  const activationDelayMs = options.activationDelayMs ?? 0;
  let createFailuresLeft = options.failCreateTimes ?? 0;
  const stored = new Map<string, Stored>();
  const services = new Map<string, unknown>();
  const requests: Array<{ method: string; path: string }> = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = req.method ?? 'GET';
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    requests.push({ method, path });
    const text = await readBody(req);

    if (options.requireAuthorization !== undefined && req.headers.authorization !== options.requireAuthorization) {
      return sendError(res, 401, 'protocol', 'access-denied', 'authentication required');
    }

    if (path === CONTEXT && method === 'GET') {
      const configOnly = new URLSearchParams(query).get('content') === 'config';
      const list = [...stored.values()].map((service) => (configOnly ? service.entry : withState(service)));
      return sendJson(res, 200, { 'tapi-connectivity:connectivity-context': { 'connectivity-service': list } });
    }

    if (path === CONTEXT && method === 'POST') {
      if (options.rejectCreateWith !== undefined) {
        return sendError(res, options.rejectCreateWith, 'application', 'invalid-value', TAPI_FIXTURE_REJECT_MESSAGE);
      }
      if (createFailuresLeft > 0) {
        createFailuresLeft -= 1;
        res.setHeader('Retry-After', '1');
        return sendError(res, 503, 'application', 'operation-failed', 'path computation engine busy');
      }
      if (!/^application\/(yang-data\+)?json\b/.test(req.headers['content-type'] ?? '')) {
        return sendError(res, 415, 'protocol', 'invalid-value', 'expected application/yang-data+json');
      }
      const entry = parseService(text);
      if (typeof entry === 'string') return sendError(res, 400, 'protocol', 'malformed-message', entry);
      const uuid = entry.uuid as string;
      if (stored.has(uuid)) {
        return sendError(res, 409, 'application', 'resource-denied', `connectivity-service ${uuid} already exists`);
      }
      stored.set(uuid, { entry, createdAt: Date.now(), connectionUuid: randomUUID(), forced: null });
      services.set(uuid, entry);
      res.writeHead(201, { Location: `${SERVICE_PREFIX}${encodeURIComponent(uuid)}` }).end();
      return;
    }

    if (path.startsWith(SERVICE_PREFIX) && !path.slice(SERVICE_PREFIX.length).includes('/')) {
      const uuid = decodeURIComponent(path.slice(SERVICE_PREFIX.length));
      const service = stored.get(uuid);
      if (method === 'GET') {
        if (!service) return sendError(res, 404, 'protocol', 'invalid-value', `no connectivity-service ${uuid}`);
        return sendJson(res, 200, { [MEMBER]: [withState(service)] });
      }
      if (method === 'DELETE') {
        if (!service) return sendError(res, 404, 'protocol', 'invalid-value', `no connectivity-service ${uuid}`);
        stored.delete(uuid);
        services.delete(uuid);
        res.writeHead(204).end();
        return;
      }
      return sendError(res, 405, 'protocol', 'operation-not-supported', `${method} not supported here`);
    }

    return sendError(res, 404, 'protocol', 'invalid-value', `unknown resource ${path}`);
  };

  const withState = (service: Stored): Record<string, unknown> => {
    const activated = Date.now() - service.createdAt >= activationDelayMs;
    const state = service.forced ?? (activated ? 'ENABLED' : 'DISABLED');
    const hasConnection = activated || service.forced === 'ENABLED';
    return {
      ...service.entry,
      'operational-state': state,
      'lifecycle-state': state === 'ENABLED' ? 'INSTALLED' : 'PLANNED',
      connection: hasConnection ? [{ 'connection-uuid': service.connectionUuid }] : [],
    };
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, 'application', 'operation-failed', String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    services,
    requests,
    forceOperationalState(uuid, state) {
      const service = stored.get(uuid);
      if (!service) throw new Error(`tapi fixture: no connectivity-service ${uuid}`);
      service.forced = state;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        // fetch keeps connections alive; without this close() would wait for them to idle out.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** The one list entry of a create body, or why the body is not acceptable. */
function parseService(text: string): Record<string, unknown> | string {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return 'body is not JSON';
  }
  const list = (body as Record<string, unknown> | null)?.[MEMBER];
  if (!Array.isArray(list) || list.length !== 1) return `expected "${MEMBER}" with exactly one entry`;
  const entry = list[0] as Record<string, unknown> | null;
  if (typeof entry?.uuid !== 'string' || entry.uuid === '') return 'connectivity-service needs a uuid';
  const endPoints = entry['end-point'];
  if (!Array.isArray(endPoints) || endPoints.length !== 2) return 'connectivity-service needs two end-point entries';
  for (const ep of endPoints as Array<Record<string, unknown> | null>) {
    const sip = ep?.['service-interface-point'] as Record<string, unknown> | undefined;
    if (typeof ep?.['local-id'] !== 'string' || typeof sip?.['service-interface-point-uuid'] !== 'string') {
      return 'each end-point needs a local-id and a service-interface-point-uuid';
    }
  }
  return entry;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': MEDIA_TYPE }).end(JSON.stringify(body));
}

/** An RFC 8040 §7.1 error body. */
function sendError(res: ServerResponse, status: number, type: string, tag: string, message: string): void {
  sendJson(res, status, {
    'ietf-restconf:errors': { error: [{ 'error-type': type, 'error-tag': tag, 'error-message': message }] },
  });
}
