import referenceTopology from '../../../../topology/reference-topology.json';
import { brokenRequests, checkRequests, checkRoundTrip, layersFromContext, sampleLightpath, sampleRequests } from './conformance';
import { controllerContextFor, indexContext, withTapiMapping } from './controller-context';
import { StructuralValidator } from './structural-check';
import { TapiYangValidator, findTapiModels } from './yanglint';

// The official models sit in ../shared beside a checkout (CI has them) and yanglint comes from libyang2-tools
// (CI installs it). A fresh clone without either skips the yanglint half, and says why in the test names.
const models = findTapiModels();
const missing = 'missing' in models ? models.missing : null;
const withYanglint = missing === null ? describe : describe.skip;

const generated = controllerContextFor(referenceTopology);
const mapped = withTapiMapping(referenceTopology, generated.mapping);
const photonic = () => sampleLightpath(mapped, 'OTE-HQ-100G-1', 'ISK-GDC-100G-1', 7);
const dsr = () => sampleLightpath(mapped, 'OTE-HQ-10G-1', 'TAM-GDC-10G-1', 3);

function failures(results: Array<{ name: string; ok: boolean; message: string }>): string[] {
  return results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.message}`);
}

withYanglint(`TAPI 2.1.3 conformance with yanglint${missing ? ` (skipped: ${missing})` : ''}`, () => {
  const validator = missing === null ? new TapiYangValidator(models as Exclude<typeof models, { missing: string }>) : (null as never);

  it('checks against the revisions the driver cites: tapi-connectivity and tapi-photonic-media 2020-06-16', () => {
    expect(validator.models.files.map((f) => f.split('/').at(-1))).toEqual([
      'tapi-common@2020-04-23.yang',
      'tapi-topology@2020-04-23.yang',
      'tapi-path-computation@2020-04-23.yang',
      'tapi-connectivity@2020-06-16.yang',
      'tapi-photonic-media@2020-06-16.yang',
      'tapi-dsr@2020-04-23.yang',
    ]);
  });

  it('accepts the controller context and every request the driver sends, and refuses each broken one', async () => {
    const results = await checkRequests(validator, generated.context, [photonic(), dsr()]);
    expect(failures(results)).toEqual([]);
    // Both layers and every broken request were looked at: the check can fail.
    expect(results.filter((r) => r.name.startsWith('refuses:'))).toHaveLength(11);
    expect(results.some((r) => r.name.includes('(DSR)'))).toBe(true);
    expect(results.some((r) => r.name.includes('(PHOTONIC_MEDIA)'))).toBe(true);
  });

  it.each(['data', 'rpc'] as const)(
    'validates every request and answer of a lifecycle against the test server in %s mode',
    async (mode) => {
      const results = await checkRoundTrip(validator, generated.context, photonic(), mode);
      expect(failures(results)).toEqual([]);
      const kinds = new Set(results.map((r) => /\((\w+-\w+)\)$/.exec(r.name)?.[1]).filter(Boolean));
      expect([...kinds].sort()).toEqual(
        mode === 'data'
          ? ['create-body', 'list-answer', 'service-answer', 'sip-answer']
          : ['create-input', 'create-output', 'delete-input', 'list-answer', 'service-answer', 'sip-answer'],
      );
    },
  );

  it('refuses the requests the driver sent before it knew the controller: our own ids, and a service-interface-point on the wrong layer', async () => {
    const spec = photonic();
    const layers = layersFromContext(spec, indexContext(generated.context));
    if (typeof layers === 'string') throw new Error(layers);
    const ownIds = { ...spec, controller: { ...spec.controller, sourceEndpoint: { code: 'OTE-HQ-100G-1', uuid: spec.id } } };
    const verdict = await validator.validate('create-body', sampleRequests(ownIds, layers).createBody, generated.context);
    expect(verdict.ok).toBe(false);
    expect(verdict.message).toMatch(/leafref/);
  });
});

describe('the structural check (the test server’s stand-in for yanglint)', () => {
  const structural = new StructuralValidator();
  const requests = () => {
    const spec = photonic();
    const layers = layersFromContext(spec, indexContext(generated.context));
    if (typeof layers === 'string') throw new Error(layers);
    return sampleRequests(spec, layers);
  };

  it('accepts the driver’s requests in both modes', () => {
    const valid = requests();
    expect(structural.validate('create-body', valid.createBody, generated.context)).toEqual({ ok: true, message: '' });
    expect(structural.validate('create-input', valid.createInput, generated.context)).toEqual({ ok: true, message: '' });
    expect(structural.validate('delete-input', valid.deleteInput, generated.context)).toEqual({ ok: true, message: '' });
  });

  it.each(brokenRequests(requests()).map((b) => [b.name, b] as const))('refuses: %s', (_name, broken) => {
    const verdict = structural.validate(broken.kind, broken.body, generated.context);
    expect(verdict.ok).toBe(false);
  });
});
