import { z } from 'zod';
import { badInput } from '../core/errors/app-error';
import { SITE_KINDS } from '../vocabulary/domain';
import { LINE_RATES_GBPS } from './topology.entities';

/** The topology document format (see src/topology/reference-topology.json). */
const code = z.string().trim().min(1, 'code must not be empty').max(64, 'code must be at most 64 characters');
/**
 * A TAPI controller's identifier for an item (tapi-common uuid: a string, RFC 4122 by convention but not by
 * the model, so not checked as such). Optional: only the TAPI driver needs them.
 */
const tapiUuid = z
  .string()
  .min(1, 'a TAPI uuid must not be empty')
  .max(200, 'a TAPI uuid must be at most 200 characters')
  .regex(/^[^\s/?#]+$/, 'a TAPI uuid must not contain spaces, "/", "?" or "#"')
  .optional();

const TopologyDocumentSchema = z.object({
  name: z.string().min(1).max(200).default('topology'),
  description: z.string().optional(),
  grid: z.unknown().optional(),
  fiberLatencyUsPerKm: z.number().optional(),
  nodes: z.array(z.object({ code, name: z.string().min(1).max(200), tapiNodeUuid: tapiUuid })).min(1, 'a topology needs at least one node'),
  sites: z
    .array(
      z.object({
        code,
        name: z.string().min(1).max(200),
        kind: z.enum(SITE_KINDS),
        node: code,
        pue: z.number().min(1, 'pue must be at least 1').max(10, 'pue must be at most 10'),
        gridCarbonKgPerKwh: z.number().nonnegative().max(10, 'gridCarbonKgPerKwh must be at most 10'),
        energyPricePerKwh: z.number().nonnegative().max(100, 'energyPricePerKwh must be at most 100'),
        renewableShare: z.number().min(0).max(1).default(0),
      }),
    )
    .default([]),
  links: z
    .array(
      z.object({
        code,
        a: code,
        b: code,
        lengthKm: z
          .number()
          .positive('lengthKm must be positive')
          .max(40_000, 'lengthKm must be at most 40000 (the Earth’s circumference)'),
        channelCount: z
          .number()
          .int('channelCount must be a whole number')
          .positive('channelCount must be positive')
          .max(1024, 'channelCount must be at most 1024 (a flexible grid of 6.25 GHz slots over C and L bands has fewer)'),
        tapiLinkUuid: tapiUuid,
      }),
    )
    .default([]),
  endpoints: z
    .array(
      z.object({
        code,
        site: code,
        rateGbps: z.number().refine((r) => (LINE_RATES_GBPS as readonly number[]).includes(r), {
          message: `rateGbps must be one of ${LINE_RATES_GBPS.join(', ')}`,
        }),
        tapiServiceInterfacePointUuid: tapiUuid,
        /** The transponder can encrypt the optical payload (LINK_ENCRYPTION). Default false. */
        encryption: z.boolean({ message: 'encryption must be true or false' }).optional(),
      }),
    )
    .default([]),
});

export type TopologyDocument = z.infer<typeof TopologyDocumentSchema>;

/**
 * Validates a whole document before anything is written. Errors name the offending item, e.g.
 * `document.links[3] (AOM-HKD).channelCount`.
 */
export function parseTopologyDocument(input: unknown): TopologyDocument {
  const parsed = TopologyDocumentSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = describePath(input, issue.path);
    throw badInput(path, `${path}: ${issue.message}. Nothing was imported.`);
  }
  const doc = parsed.data;
  const fail = (path: string, message: string) => {
    throw badInput(path, `${path}: ${message}. Nothing was imported.`);
  };
  for (const kind of ['nodes', 'sites', 'links', 'endpoints'] as const) {
    const seen = new Set<string>();
    doc[kind].forEach((item, i) => {
      if (seen.has(item.code)) fail(`document.${kind}[${i}] (${item.code})`, `duplicate code ${item.code}`);
      seen.add(item.code);
    });
  }
  // One controller object maps to one item: two ports on one service-interface-point would be lit together.
  const uniqueTapi = <T extends { code: string }>(kind: string, items: T[], field: keyof T & string) => {
    const seen = new Map<string, string>();
    items.forEach((item, i) => {
      const value = item[field] as unknown as string | undefined;
      if (value === undefined) return;
      const other = seen.get(value);
      if (other !== undefined) fail(`document.${kind}[${i}] (${item.code}).${field}`, `${value} is already the ${field} of ${other}`);
      seen.set(value, item.code);
    });
  };
  uniqueTapi('nodes', doc.nodes, 'tapiNodeUuid');
  uniqueTapi('links', doc.links, 'tapiLinkUuid');
  uniqueTapi('endpoints', doc.endpoints, 'tapiServiceInterfacePointUuid');
  const nodes = new Set(doc.nodes.map((n) => n.code));
  const sites = new Set(doc.sites.map((s) => s.code));
  doc.sites.forEach((s, i) => {
    if (!nodes.has(s.node)) fail(`document.sites[${i}] (${s.code}).node`, `unknown node ${s.node}`);
  });
  doc.links.forEach((l, i) => {
    if (!nodes.has(l.a)) fail(`document.links[${i}] (${l.code}).a`, `unknown node ${l.a}`);
    if (!nodes.has(l.b)) fail(`document.links[${i}] (${l.code}).b`, `unknown node ${l.b}`);
    if (l.a === l.b) fail(`document.links[${i}] (${l.code})`, 'a link must join two different nodes');
  });
  doc.endpoints.forEach((e, i) => {
    if (!sites.has(e.site)) fail(`document.endpoints[${i}] (${e.code}).site`, `unknown site ${e.site}`);
  });
  return doc;
}

function describePath(input: unknown, path: PropertyKey[]): string {
  let out = 'document';
  let cursor: unknown = input;
  for (const key of path) {
    out += typeof key === 'number' ? `[${key}]` : `.${String(key)}`;
    cursor = (cursor as Record<PropertyKey, unknown> | undefined)?.[key];
    if (typeof key === 'number' && cursor && typeof cursor === 'object' && 'code' in cursor) {
      out += ` (${String(cursor.code)})`;
    }
  }
  return out;
}
