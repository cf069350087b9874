/**
 * Power samples, one JSON object per line: what a DCGM or Redfish reading reduces to.
 *
 *   {"equipment": "tam-h100-n1", "kind": "GPU_NODE", "site": "TAM-GDC", "time": "2026-11-21T09:00:00Z", "watts": 5230.5}
 *
 * `kind` is GPU_NODE, STORAGE, REPLICA, CACHE or SWITCH; `site` a site's code or id; `time` an ISO-8601
 * date-time with a zone or Unix seconds. Pure: no framework, no database.
 */
import { Micros, Parsed, nameProblem, numberProblem, parseMicros, refused, accepted } from './records';

export const POWER_KINDS = ['GPU_NODE', 'STORAGE', 'REPLICA', 'CACHE', 'SWITCH'] as const;
export type PowerKind = (typeof POWER_KINDS)[number];

export const POWER_BOUNDS = {
  equipmentLength: 200,
  /** One piece of equipment draws at most 1 MW (a whole GPU rack stays under 200 kW). */
  maxWatts: 1_000_000,
} as const;

export interface PowerSample {
  readonly line: number;
  readonly equipment: string;
  readonly kind: PowerKind;
  readonly siteId: string;
  readonly time: Micros;
  readonly watts: number;
}

/** Reads one line; `siteIdOf` finds a site by code or id (null when there is none). */
export function parsePowerJson(line: number, text: string, siteIdOf: (codeOrId: string) => string | null): Parsed<PowerSample> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return refused(
      line,
      null,
      'is not JSON; each line is one sample such as {"equipment":"gpu-n1","kind":"GPU_NODE","site":"TAM-GDC","time":"2026-11-21T09:00:00Z","watts":5230}',
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return refused(line, null, 'is not a JSON object');
  const r = value as Record<string, unknown>;
  const equipmentProblem = nameProblem(r.equipment, POWER_BOUNDS.equipmentLength);
  if (equipmentProblem) return refused(line, 'equipment', equipmentProblem);
  if (typeof r.kind !== 'string' || !(POWER_KINDS as readonly string[]).includes(r.kind)) {
    return refused(line, 'kind', `must be one of ${POWER_KINDS.join(', ')}; got ${JSON.stringify(r.kind)}`);
  }
  if (typeof r.site !== 'string' || r.site.trim() === '')
    return refused(line, 'site', `must be a site's code or id; got ${JSON.stringify(r.site)}`);
  const siteId = siteIdOf(r.site.trim());
  if (siteId === null)
    return refused(line, 'site', `no site has the code or id ${JSON.stringify(r.site.slice(0, 80))}; list them with { sites { id code } }`);
  if (r.time === undefined || r.time === null) return refused(line, 'time', 'is missing');
  const time = parseMicros(r.time);
  if (!time.ok) return refused(line, 'time', time.reason);
  const wattsProblem = numberProblem(r.watts, 0, POWER_BOUNDS.maxWatts, 'watts');
  if (wattsProblem) return refused(line, 'watts', wattsProblem);
  return accepted({
    line,
    equipment: (r.equipment as string).trim(),
    kind: r.kind as PowerKind,
    siteId,
    time: time.micros,
    watts: r.watts as number,
  });
}
