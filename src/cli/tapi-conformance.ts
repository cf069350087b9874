import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { LightpathSpec } from '../provisioning/drivers/apn-driver';
import {
  CheckResult,
  MappedTopology,
  checkRequests,
  checkRoundTrip,
  layersFromContext,
  sampleLightpath,
} from '../provisioning/drivers/tapi/conformance/conformance';
import {
  contextBody,
  controllerContextFor,
  indexContext,
  withTapiMapping,
} from '../provisioning/drivers/tapi/conformance/controller-context';
import { DEFAULT_YANG_DIR, TapiYangValidator, findTapiModels } from '../provisioning/drivers/tapi/conformance/yanglint';
import { TapiDriver } from '../provisioning/drivers/tapi/tapi-driver';
import { unmappedItems } from '../provisioning/drivers/tapi/tapi-model';
import referenceTopology from '../topology/reference-topology.json';

const USAGE = `npm run tapi:conformance -- [options]

Validates what the TAPI driver sends, and what a controller holds, against the official ONF TAPI 2.1.3 YANG
models with yanglint (apt-get install -y libyang2-tools).

Without --context or --url: the self-check CI runs. A context generated from the reference topology, every
request the driver can send for a photonic and a DSR lightpath, a set of broken requests that must be refused,
and a whole lifecycle in each mode (data, rpc) against the TAPI test server with every request and answer checked.

Before going live, against a controller:
  --context FILE     the controller's context as JSON (the answer to GET {root}/data/tapi-common:context)
  --url URL          or read it from the controller itself (read-only: host-meta, the context, the service list)
  --root PATH        its RESTCONF root, when it does not serve /.well-known/host-meta (e.g. /rests)
  --token TOKEN      bearer token for --url (default: the APN_TAPI_TOKEN environment variable)
  --topology FILE    the topology document with its TAPI mapping (what importTopology is given)
  --from CODE --to CODE
                     the endpoints of the sample lightpath (default: the first pair the mapping allows)
  --yang DIR         the TAPI 2.1.3 YANG modules (default ${DEFAULT_YANG_DIR})

Exit status: 0 when every check passes, 1 when one fails, 2 when the check cannot run.`;

interface Args {
  readonly [name: string]: string | undefined;
}

function parseArgs(argv: string[]): Args | null {
  const args: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i];
    if (name === '--help' || name === '-h') return null;
    if (
      !['--context', '--url', '--root', '--token', '--topology', '--from', '--to', '--yang'].includes(name) ||
      argv[i + 1] === undefined
    ) {
      throw new Error(`unknown or incomplete option ${name}`);
    }
    args[name.slice(2)] = argv[++i];
  }
  return args;
}

function readJson(file: string): Record<string, unknown> {
  return JSON.parse(readFileSync(resolve(file), 'utf8')) as Record<string, unknown>;
}

/** The first endpoint pairs whose every item is mapped and in the context, one per layer. */
function samplesFor(doc: MappedTopology, context: Record<string, unknown>, from?: string, to?: string): LightpathSpec[] {
  if (from && to) return [sampleLightpath(doc, from, to)];
  const index = indexContext(context);
  const mappedEndpoints = (doc.endpoints ?? []).filter(
    (e) => e.tapiServiceInterfacePointUuid && index.sips.has(e.tapiServiceInterfacePointUuid),
  );
  const byLayer = new Map<string, LightpathSpec>();
  for (const a of mappedEndpoints) {
    for (const z of mappedEndpoints) {
      if (a.site === z.site || a.rateGbps !== z.rateGbps) continue;
      let spec: LightpathSpec;
      try {
        spec = sampleLightpath(doc, a.code, z.code);
      } catch {
        continue;
      }
      if (unmappedItems(spec).length > 0) continue;
      const layers = layersFromContext(spec, index);
      if (typeof layers === 'string' || layers.a.layerProtocolName !== layers.z.layerProtocolName) continue;
      if (!byLayer.has(layers.a.layerProtocolName)) byLayer.set(layers.a.layerProtocolName, spec);
    }
  }
  return [...byLayer.values()];
}

/** Every uuid the document maps, checked against the context; unmapped items are only listed. */
function mappingResults(doc: MappedTopology, context: Record<string, unknown>): { results: CheckResult[]; unmapped: string[] } {
  const index = indexContext(context);
  const missing: string[] = [];
  const unmapped: string[] = [];
  for (const e of doc.endpoints ?? []) {
    if (!e.tapiServiceInterfacePointUuid) unmapped.push(`endpoint ${e.code}`);
    else if (!index.sips.has(e.tapiServiceInterfacePointUuid))
      missing.push(`endpoint ${e.code} → service-interface-point ${e.tapiServiceInterfacePointUuid}`);
  }
  for (const n of doc.nodes) {
    if (!n.tapiNodeUuid) unmapped.push(`node ${n.code}`);
    else if (!index.nodes.has(n.tapiNodeUuid)) missing.push(`node ${n.code} → ${n.tapiNodeUuid}`);
  }
  for (const l of doc.links) {
    if (!l.tapiLinkUuid) unmapped.push(`link ${l.code}`);
    else if (!index.links.has(l.tapiLinkUuid)) missing.push(`link ${l.code} → ${l.tapiLinkUuid}`);
  }
  return {
    results: [
      { name: 'every uuid the topology document maps is in the controller context', ok: missing.length === 0, message: missing.join('; ') },
    ],
    unmapped,
  };
}

async function fetchFromController(
  url: string,
  root: string | undefined,
  token: string | undefined,
): Promise<{ context: Record<string, unknown>; services: unknown }> {
  const headers: Record<string, string> = { Accept: 'application/yang-data+json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const driver = new TapiDriver({ baseUrl: url, restconfRoot: root, headers: token ? { Authorization: `Bearer ${token}` } : undefined });
  const base = url.replace(/\/+$/, '') + (await driver.restconfRoot());
  process.stdout.write(`RESTCONF root: ${base}\n`);
  const get = async (path: string) => {
    const response = await fetch(base + path, { headers, signal: AbortSignal.timeout(60_000) });
    if (response.status !== 200)
      throw new Error(`GET ${base + path} answered HTTP ${response.status}: ${(await response.text()).slice(0, 500)}`);
    return (await response.json()) as Record<string, unknown>;
  };
  const context = await get('/data/tapi-common:context?content=all');
  const services = await get('/data/tapi-common:context/tapi-connectivity:connectivity-context?content=all').catch((error: Error) => error);
  return { context, services };
}

function print(results: CheckResult[]): number {
  let failed = 0;
  for (const r of results) {
    if (!r.ok) failed += 1;
    process.stdout.write(
      `${r.ok ? 'ok  ' : 'FAIL'} ${r.name}${r.message && (!r.ok || r.name.startsWith('refuses')) ? `\n       ${r.message.slice(0, 400)}` : ''}\n`,
    );
  }
  return failed;
}

async function main(): Promise<number> {
  let args: Args | null;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (args === null) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const models = findTapiModels(args.yang ? resolve(args.yang) : undefined);
  if ('missing' in models) {
    process.stderr.write(`tapi:conformance cannot run: ${models.missing}\n`);
    return 2;
  }
  const validator = new TapiYangValidator(models);
  process.stdout.write(`yanglint ${models.yanglint}, models: ${models.files.map((f) => f.split('/').at(-1)).join(', ')}\n`);
  const results: CheckResult[] = [];

  if (!args.context && !args.url) {
    const generated = controllerContextFor(referenceTopology);
    const mapped = withTapiMapping(referenceTopology, generated.mapping);
    const photonic = sampleLightpath(mapped, 'OTE-HQ-100G-1', 'ISK-GDC-100G-1', 7);
    const dsr = sampleLightpath(mapped, 'OTE-HQ-10G-1', 'TAM-GDC-10G-1', 3);
    results.push(...(await checkRequests(validator, generated.context, [photonic, dsr])));
    for (const mode of ['data', 'rpc'] as const) results.push(...(await checkRoundTrip(validator, generated.context, photonic, mode)));
  } else {
    let context: Record<string, unknown>;
    let services: unknown;
    try {
      if (args.url) ({ context, services } = await fetchFromController(args.url, args.root, args.token ?? process.env.APN_TAPI_TOKEN));
      else context = readJson(args.context as string);
    } catch (error) {
      process.stderr.write(`tapi:conformance cannot read the controller context: ${(error as Error).message}\n`);
      return 2;
    }
    // A GET of tapi-common:context answers { "tapi-common:context": {…} }; a bare context object is accepted too.
    context = { 'tapi-common:context': contextBody(context) };
    const doc = (args.topology ? readJson(args.topology) : referenceTopology) as unknown as MappedTopology;
    const mapping = mappingResults(doc, context);
    if (mapping.unmapped.length > 0) {
      process.stdout.write(
        `note: ${mapping.unmapped.length} item(s) of the topology have no TAPI uuid and cannot be provisioned: ${mapping.unmapped.slice(0, 20).join(', ')}${mapping.unmapped.length > 20 ? ', …' : ''}\n`,
      );
    }
    results.push(...mapping.results);
    const samples = samplesFor(doc, context, args.from, args.to);
    if (samples.length === 0) {
      results.push({
        name: 'a sample lightpath whose every item is mapped into the context',
        ok: false,
        message: 'none found; map the topology (tapiServiceInterfacePointUuid, tapiNodeUuid, tapiLinkUuid) or give --from and --to',
      });
    }
    results.push(...(await checkRequests(validator, context, samples)));
    if (services !== undefined) {
      results.push(
        services instanceof Error
          ? { name: 'the controller lists its connectivity-services (content=all)', ok: false, message: services.message }
          : {
              name: 'the controller’s connectivity-service list is valid TAPI 2.1.3 data',
              ...(await validator.validate('list-answer', services, context)),
            },
      );
    }
  }

  const failed = print(results);
  process.stdout.write(`tapi:conformance: ${results.length} checks, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`tapi:conformance: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(2);
  },
);
