import { microsToIso, parseMicros } from './records';
import { StepCsvReader, StepEntry, needsPreviousEnd, parseStepJson, placeStep, splitCsvLine, stepEnd } from './step-log';

const entry = (line: number, text: string): StepEntry => {
  const parsed = parseStepJson(line, text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.rejection));
  return parsed.value;
};
const micros = (iso: string) => {
  const p = parseMicros(iso);
  if (!p.ok) throw new Error(p.reason);
  return p.micros;
};
const rejectionOf = (text: string) => {
  const parsed = parseStepJson(3, text);
  return parsed.ok ? null : parsed.rejection;
};

describe('step log lines', () => {
  it('reads durations in seconds, save defaulting to 0, and ignores keys it does not know', () => {
    const e = entry(1, '{"step":1,"epoch":0,"read":0.012,"gpu":0.071,"loss":0.3}');
    const placed = placeStep(e, null);
    expect(placed).toEqual({
      ok: true,
      value: expect.objectContaining({ step: 1, epoch: 0, readSeconds: 0.012, gpuSeconds: 0.071, saveSeconds: 0, startAt: null }),
    });
    expect(needsPreviousEnd(e)).toBe(false);
  });

  it('turns timestamps into durations to the microsecond: read from start, gpu from readEnd, save from gpuEnd', () => {
    const e = entry(
      1,
      JSON.stringify({
        step: 7,
        start: '2026-11-21T09:00:00.000001Z',
        readEnd: '2026-11-21T09:00:00.012346Z',
        gpuEnd: '2026-11-21T09:00:00.083346Z',
        saveEnd: '2026-11-21T09:00:00.583346+00:00',
      }),
    );
    const placed = placeStep(e, null);
    if (!placed.ok) throw new Error('refused');
    expect(placed.value).toMatchObject({ step: 7, readSeconds: 0.012345, gpuSeconds: 0.071, saveSeconds: 0.5 });
    expect(microsToIso(stepEnd(placed.value)!)).toBe('2026-11-21T09:00:00.583346Z');
  });

  it('accepts Unix seconds as timestamps', () => {
    const placed = placeStep(entry(1, '{"step":1,"start":1764700000.5,"readEnd":1764700000.625,"gpuEnd":1764700001}'), null);
    expect(placed).toMatchObject({ ok: true, value: { readSeconds: 0.125, gpuSeconds: 0.375, saveSeconds: 0 } });
  });

  it('starts a step without start where step − 1 ended, and refuses it when that end is unknown', () => {
    const first = placeStep(
      entry(
        1,
        '{"step":1,"start":"2026-11-21T09:00:00Z","readEnd":"2026-11-21T09:00:00.010Z","gpuEnd":"2026-11-21T09:00:00.080Z","saveEnd":"2026-11-21T09:00:00.100Z"}',
      ),
      null,
    );
    if (!first.ok) throw new Error('refused');
    const second = entry(2, '{"step":2,"readEnd":"2026-11-21T09:00:00.130Z","gpuEnd":"2026-11-21T09:00:00.200Z"}');
    expect(needsPreviousEnd(second)).toBe(true);
    expect(placeStep(second, stepEnd(first.value))).toMatchObject({
      ok: true,
      value: { readSeconds: 0.03, gpuSeconds: 0.07, startAt: micros('2026-11-21T09:00:00.100Z') },
    });
    expect(placeStep(second, null)).toEqual({
      ok: false,
      rejection: { line: 2, field: 'start', reason: expect.stringMatching(/step 2 has no start.*upload step 1/) },
    });
    expect(placeStep(second, micros('2026-11-21T09:00:00.140Z'))).toMatchObject({ ok: false, rejection: { field: 'readEnd' } });
  });

  it('refuses bad lines naming the field', () => {
    expect(rejectionOf('{"step":1,"read":0.1')).toMatchObject({ line: 3, field: null, reason: expect.stringMatching(/not JSON/) });
    expect(rejectionOf('[1,2]')).toMatchObject({ field: null });
    expect(rejectionOf('{"read":0.1,"gpu":0.2}')).toMatchObject({ field: 'step', reason: expect.stringMatching(/missing/) });
    expect(rejectionOf('{"step":-1,"read":0.1,"gpu":0.2}')).toMatchObject({ field: 'step' });
    expect(rejectionOf('{"step":1.5,"read":0.1,"gpu":0.2}')).toMatchObject({ field: 'step' });
    expect(rejectionOf('{"step":"1","read":0.1,"gpu":0.2}')).toMatchObject({ field: 'step' });
    expect(rejectionOf('{"step":1,"epoch":-2,"read":0.1,"gpu":0.2}')).toMatchObject({ field: 'epoch' });
    expect(rejectionOf('{"step":1,"read":0.1}')).toMatchObject({ field: 'gpu' });
    expect(rejectionOf('{"step":1,"read":-0.1,"gpu":0.2}')).toMatchObject({ field: 'read' });
    expect(rejectionOf('{"step":1,"read":0.1,"gpu":90000}')).toMatchObject({ field: 'gpu', reason: expect.stringMatching(/86400/) });
    expect(rejectionOf('{"step":1}')).toMatchObject({ field: 'read', reason: expect.stringMatching(/give read and gpu/) });
    expect(rejectionOf('{"step":1,"read":0.1,"gpu":0.2,"readEnd":"2026-11-21T09:00:00Z"}')).toMatchObject({
      field: 'read',
      reason: expect.stringMatching(/not both/),
    });
    expect(rejectionOf('{"step":1,"readEnd":"2026-11-21T09:00:00"}')).toMatchObject({
      field: 'readEnd',
      reason: expect.stringMatching(/time zone/),
    });
    expect(rejectionOf('{"step":1,"readEnd":"2027-02-30T09:00:00Z","gpuEnd":"2027-02-30T09:00:01Z"}')).toMatchObject({
      field: 'readEnd',
      reason: expect.stringMatching(/not a day/),
    });
    expect(
      rejectionOf('{"step":1,"start":"2026-11-21T09:00:01Z","readEnd":"2026-11-21T09:00:00Z","gpuEnd":"2026-11-21T09:00:02Z"}'),
    ).toBeNull();
    expect(rejectionOf('{"step":1,"readEnd":"2026-11-21T09:00:01Z","gpuEnd":"2026-11-21T09:00:00Z"}')).toMatchObject({ field: 'gpuEnd' });
  });
});

describe('step log as CSV', () => {
  it('reads columns by the header, in any order and case, with quoted cells and empty cells absent', () => {
    const csv = new StepCsvReader();
    expect(csv.readHeader(1, 'Epoch,STEP,read_s_ignored,read,gpu,save,loss')).toBeNull();
    expect(csv.readRow(2, '0,1,x,0.012,0.071,,0.5')).toMatchObject({
      ok: true,
      value: { step: 1, epoch: 0, durations: { read: 0.012, gpu: 0.071, save: 0 } },
    });
    const timestamps = new StepCsvReader();
    expect(timestamps.readHeader(1, 'step,start,read_end,gpu_end,save_end')).toBeNull();
    const row = timestamps.readRow(2, '4,"2026-11-21T09:00:00Z",2026-11-21T09:00:00.5Z,1795251601,');
    expect(row).toMatchObject({ ok: true, value: { step: 4, saveEnd: null } });
    if (row.ok) expect(placeStep(row.value, null)).toMatchObject({ ok: true, value: { readSeconds: 0.5, gpuSeconds: 0.5 } });
  });

  it('refuses a header without a step column, and rows that do not fit it', () => {
    expect(new StepCsvReader().readHeader(1, 'read,gpu')).toMatchObject({ line: 1, field: null });
    const csv = new StepCsvReader();
    csv.readHeader(1, 'step,read,gpu');
    expect(csv.readRow(5, '1,0.1')).toMatchObject({
      ok: false,
      rejection: { line: 5, field: null, reason: expect.stringMatching(/2 cells; the header has 3/) },
    });
    expect(csv.readRow(6, 'one,0.1,0.2')).toMatchObject({ ok: false, rejection: { line: 6, field: 'step' } });
    expect(csv.readRow(7, '1,"0.1,0.2')).toMatchObject({ ok: false, rejection: { field: null } });
  });

  it('splits RFC 4180 cells', () => {
    expect(splitCsvLine('a, b ,"c,d","e""f",')).toEqual(['a', 'b', 'c,d', 'e"f', '']);
    expect(splitCsvLine('"a"b')).toBeNull();
  });
});
