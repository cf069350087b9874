import { microsToIso } from './records';
import { parsePowerJson } from './power';

const sites: Record<string, string> = { 'TAM-GDC': 'site-tam', 'site-tam': 'site-tam' };
const parse = (text: string) => parsePowerJson(4, text, (s) => sites[s] ?? null);

describe('power samples', () => {
  it('reads a sample, the site by code or id and the time to the microsecond', () => {
    const parsed = parse(
      '{"equipment":"tam-h100-n1","kind":"GPU_NODE","site":"TAM-GDC","time":"2026-11-21T09:00:00.000250Z","watts":5230.5}',
    );
    expect(parsed).toMatchObject({
      ok: true,
      value: { line: 4, equipment: 'tam-h100-n1', kind: 'GPU_NODE', siteId: 'site-tam', watts: 5230.5 },
    });
    if (parsed.ok) expect(microsToIso(parsed.value.time)).toBe('2026-11-21T09:00:00.000250Z');
    expect(parse('{"equipment":"sw1","kind":"SWITCH","site":"site-tam","time":1795251600,"watts":0}')).toMatchObject({ ok: true });
  });

  it('refuses bad samples naming the field', () => {
    const base = { equipment: 'n1', kind: 'GPU_NODE', site: 'TAM-GDC', time: '2026-11-21T09:00:00Z', watts: 100 };
    const fieldOf = (patch: Record<string, unknown>) => {
      const r = parse(JSON.stringify({ ...base, ...patch }));
      return r.ok ? null : r.rejection.field;
    };
    expect(fieldOf({ equipment: '' })).toBe('equipment');
    expect(fieldOf({ equipment: 'a\u0001b' })).toBe('equipment');
    expect(fieldOf({ kind: 'TOASTER' })).toBe('kind');
    expect(fieldOf({ site: 'MARS-DC' })).toBe('site');
    expect(fieldOf({ time: '2026-11-21 09:00' })).toBe('time');
    expect(fieldOf({ time: undefined })).toBe('time');
    expect(fieldOf({ watts: -1 })).toBe('watts');
    expect(fieldOf({ watts: 2e6 })).toBe('watts');
    expect(fieldOf({ watts: '100' })).toBe('watts');
    expect(parse('watts=100')).toMatchObject({ ok: false, rejection: { field: null } });
  });
});
