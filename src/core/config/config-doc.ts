import { z } from 'zod';
import { ENV_SCHEMA } from './config';

export interface VariableDoc {
  readonly name: string;
  readonly default: string;
  readonly allowed: string;
  readonly description: string;
}

/** What the configuration schema says of each variable: its default, the values it takes, and why it exists. */
export function describeVariables(): VariableDoc[] {
  return Object.entries(ENV_SCHEMA.shape).map(([name, schema]) => {
    let current: z.core.$ZodType = schema;
    let defaultValue = '';
    let description = '';
    let allowed = 'text';
    for (;;) {
      const meta = z.globalRegistry.get(current) as { description?: string; range?: [number, number] } | undefined;
      if (meta?.description && !description) description = meta.description;
      if (meta?.range) allowed = `${meta.range[0].toLocaleString('en-US')} – ${meta.range[1].toLocaleString('en-US')}`;
      const def = current._zod.def as {
        type: string;
        innerType?: z.core.$ZodType;
        defaultValue?: unknown;
        entries?: Record<string, string>;
      };
      if (def.type === 'default') {
        defaultValue = String(def.defaultValue);
        current = def.innerType!;
      } else if (def.type === 'optional') {
        current = def.innerType!;
      } else {
        if (def.type === 'enum' && def.entries) allowed = Object.values(def.entries).join(', ');
        break;
      }
    }
    if (!description) throw new Error(`${name} has no description in the configuration schema`);
    return { name, default: defaultValue, allowed, description };
  });
}

/** docs/configuration.md, as `npm run config:doc` writes it. */
export function configurationMarkdown(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const rows = describeVariables().map(
    (v) => `| \`${v.name}\` | ${v.default === '' ? '—' : `\`${cell(v.default)}\``} | ${cell(v.allowed)} | ${cell(v.description)} |`,
  );
  return [
    '# Configuration',
    '',
    'Every setting is an environment variable, read once at start and validated: a bad value stops the process',
    'with a message naming the variable. Blank values count as unset. This page is generated from the',
    'configuration schema (`src/core/config/config.ts`) by `npm run config:doc`; CI fails when it is out of date.',
    '',
    '| Variable | Default | Values | What it does |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
