import { DEFAULT_EQUIPMENT, UsagePlan, holdings, wavelengthsFor } from './cost';

const plan = (patch: Partial<UsagePlan>): UsagePlan => ({
  kind: 'APN',
  design: 'DIRECT',
  totalSeconds: 1000,
  officeSeconds: 1000,
  bytesOverLink: 0,
  bandwidthGbps: 100,
  distanceClass: 'METRO',
  ...patch,
});
const held = (p: UsagePlan) =>
  holdings(p, DEFAULT_EQUIPMENT)
    .map((h) => `${h.site} ${h.kind} ${h.seconds}`)
    .sort();

describe('holdings', () => {
  it('keeps everything at one site for LOCAL', () => {
    expect(held(plan({ kind: 'LOCAL', distanceClass: null }))).toEqual([
      'GPU GPU_SERVER 1000',
      'GPU STORAGE_NFS_ARRAY 1000',
      'GPU SWITCH_100G 1000',
    ]);
  });

  it('holds the office and the lightpath only while the office is read', () => {
    expect(held(plan({ design: 'REPLICATION', officeSeconds: 300 }))).toEqual([
      'GPU APN_TRANSPONDER 300',
      'GPU CACHE_OR_REPLICA_NODE 1000',
      'GPU GPU_SERVER 1000',
      'GPU SWITCH_100G 1000',
      'STORAGE APN_TRANSPONDER 300',
      'STORAGE STORAGE_NFS_ARRAY 300',
      'STORAGE SWITCH_100G 300',
    ]);
  });

  it('has no transponders on the Internet, and drops pieces counted zero', () => {
    const list = holdings(plan({ kind: 'INTERNET', distanceClass: null }), { ...DEFAULT_EQUIPMENT, switchesPerSite: 0 });
    expect(list.map((h) => h.kind).sort()).toEqual(['GPU_SERVER', 'STORAGE_NFS_ARRAY']);
  });
});

describe('wavelengthsFor', () => {
  it('books the smallest priced rate that carries the bandwidth, or several of the largest', () => {
    expect(wavelengthsFor(10)).toEqual({ rateGbps: 10, wavelengths: 1 });
    expect(wavelengthsFor(25)).toEqual({ rateGbps: 100, wavelengths: 1 });
    expect(wavelengthsFor(400)).toEqual({ rateGbps: 400, wavelengths: 1 });
    expect(wavelengthsFor(1000)).toEqual({ rateGbps: 400, wavelengths: 3 });
  });
});
