import { databaseRefusal, ErrorCode } from './app-error';

/** The shape node-postgres gives a server error, and TypeORM's wrapping of it. */
const pgError = (fields: Record<string, unknown>) => Object.assign(new Error(String(fields.message)), fields);

describe('databaseRefusal', () => {
  const refused = {
    code: 'AQ001',
    message: 'Quota MAX_CONCURRENT_HOLDS: this tenant may have 2 reservations HELD at once; this request would make 3.',
    hint: 'Commit or cancel a hold first.',
    detail: JSON.stringify({ quota: 'MAX_CONCURRENT_HOLDS', limit: 2, requested: 3, used: 2 }),
  };

  it('turns a refusal the database raised into NO_CAPACITY with its detail as extensions and its hint in the message', () => {
    for (const error of [pgError(refused), Object.assign(new Error('query failed'), { driverError: pgError(refused) })]) {
      const e = databaseRefusal(error);
      expect(e?.message).toBe(`${refused.message} ${refused.hint}`);
      expect(e?.extensions).toEqual({ code: ErrorCode.NO_CAPACITY, quota: 'MAX_CONCURRENT_HOLDS', limit: 2, requested: 3, used: 2 });
    }
  });

  it('keeps the code the service gives and only scalar details', () => {
    const e = databaseRefusal(
      pgError({ ...refused, detail: JSON.stringify({ code: 'INTERNAL', field: 'x', nested: { a: 1 }, list: [1], month: '2026-12' }) }),
    );
    expect(e?.extensions).toEqual({ code: ErrorCode.NO_CAPACITY, month: '2026-12' });
  });

  it('still answers with the message when the detail is not JSON', () => {
    expect(databaseRefusal(pgError({ ...refused, detail: 'not json' }))?.extensions).toEqual({ code: ErrorCode.NO_CAPACITY });
  });

  it('leaves every other error alone', () => {
    expect(databaseRefusal(pgError({ code: '23P01', message: 'conflicting key value violates exclusion constraint' }))).toBeNull();
    expect(databaseRefusal(new Error('boom'))).toBeNull();
    expect(databaseRefusal(null)).toBeNull();
  });
});
