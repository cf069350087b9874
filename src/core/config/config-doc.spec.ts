import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configurationMarkdown, describeVariables } from './config-doc';
import { loadConfig } from './config';

describe('the configuration reference', () => {
  it('documents every variable the service reads, with the default it really applies', () => {
    const variables = describeVariables();
    expect(variables.map((v) => v.name)).toEqual(expect.arrayContaining(['DATABASE_URL', 'REDIS_URL', 'APN_MAX_DURATION_S', 'APN_CA_KEY']));
    for (const v of variables) expect(v.description.length).toBeGreaterThan(10);
    const byName = new Map(variables.map((v) => [v.name, v]));
    const config = loadConfig({});
    expect(byName.get('PORT')!.default).toBe(String(config.port));
    expect(byName.get('APN_MAX_DURATION_S')!.default).toBe(String(config.maxDurationSeconds));
    expect(byName.get('APN_MAX_DURATION_S')!.allowed).toBe('60 – 315,360,000');
    expect(byName.get('APN_TAPI_MODE')!.allowed).toBe('data, rpc');
  });

  it('is the page committed as docs/configuration.md (npm run config:doc writes it)', () => {
    const committed = readFileSync(join(__dirname, '../../../docs/configuration.md'), 'utf8');
    expect(committed).toBe(configurationMarkdown());
  });
});
