import { spawnSync } from 'node:child_process';
import {
  X509Certificate,
  createDecipheriv,
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import request from 'supertest';
import { RESERVE, createTenantWithKey, endpointIds, gql, gqlOk, startTestService, waitFor, type TestService } from './support/service';

/**
 * Data protection as a property of every mount, end to end over GraphQL and HTTP: profiles and the
 * combinations refused, encrypting transponders, rendered Kerberos and TLS, the mount CA's certificates
 * checked by openssl and revoked through its CRL, encrypted copies and crypto-erase, deletion proven by
 * signed attestations, and the PoC report's security considerations.
 */

const GB = 10n ** 9n;
const KEK = randomBytes(32);
const PROTECTION = `protection { inMotion atRest postQuantum measures { measure standing statement }
  dataKey { kekId fingerprint createdAt destroyedAt }
  certificates { serial role hop subjectName address notBefore notAfter certificatePem revokedAt } }`;
const MOUNT = `id state design protocol reason ${PROTECTION}`;
const CUSTODY = `clean records { mountId kind clean accessEndedAt encrypted keyDestroyedAt purgedAt
  places { kind subjectId name attestedAt } attestations { subjectKind subjectId claim attestedAt valid refusal via payload } }`;

/** canonical JSON as docs/attestations.md defines it: keys sorted at every level, no whitespace. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** What a GPU node's agent sends after wiping: written here from the documented protocol alone. */
function nodeWiped(
  key: KeyObject,
  fields: { mountId: string; datasetId: string; nodeId: string; at: Date },
): { payload: string; signature: string } {
  const payload = canonical({
    type: 'apn-orchestrator.attestation/v1',
    claim: 'NODE_WIPED',
    mountId: fields.mountId,
    datasetId: fields.datasetId,
    subject: { kind: 'GPU_NODE', id: fields.nodeId },
    at: fields.at.toISOString(),
    evidence: { mountPoint: '/mnt/apn/patient-scans', unmounted: true, pageCacheDropped: true, scratchWiped: true },
  });
  return { payload, signature: sign(null, Buffer.from(payload), key).toString('base64') };
}

function opensslVerify(files: Record<string, string | Buffer>, args: string[]): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'apn-protect-'));
  try {
    for (const [name, body] of Object.entries(files)) writeFileSync(join(dir, name), body);
    const r = spawnSync(
      'openssl',
      args.map((a) => (a in files ? join(dir, a) : a)),
      { encoding: 'utf8' },
    );
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('data protection', () => {
  let t: TestService;
  let ep: Record<string, string>;
  let sites: Record<string, string>;
  let tenant: { tenantId: string; token: string };
  let other: { tenantId: string; token: string };
  const ids: Record<string, string> = {};

  const op = (query: string, variables: Record<string, unknown> = {}) => gqlOk(t.url, t.adminToken, query, variables);
  const asTenant = (query: string, variables: Record<string, unknown> = {}) => gqlOk(t.url, tenant.token, query, variables);
  const count = async (sql: string, params: unknown[] = []) => (await t.sql.query(sql, params)).rows[0].n as number;
  const countMounts = () => count('SELECT count(*)::int AS n FROM mounts');
  const refusals = () => count(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'protection.refused'`);

  const book = async (src: string, dst: string, startInMs: number, lengthMs: number, extra: Record<string, unknown> = {}) => {
    const start = Date.now() + startInMs;
    return (
      await asTenant(RESERVE.replace('rateGbps start end', 'rateGbps start end linkEncryption'), {
        input: {
          sourceEndpointId: ep[src],
          destinationEndpointId: ep[dst],
          rateGbps: 100,
          autoCommit: true,
          start: new Date(start).toISOString(),
          end: new Date(start + lengthMs).toISOString(),
          ...extra,
        },
      })
    ).reserveLightpath as { id: string; start: string; end: string; linkEncryption: boolean };
  };
  const allocate = async (cluster: string, nodeCount: number, start: string | Date, end: string | Date) =>
    (
      await op('mutation($i: AllocateGpusInput!) { allocateGpus(input: $i) { id start end nodes { id name address } } }', {
        i: {
          tenantId: tenant.tenantId,
          clusterId: ids[cluster],
          nodeCount,
          start: new Date(start).toISOString(),
          end: new Date(end).toISOString(),
        },
      })
    ).allocateGpus as { id: string; start: string; end: string; nodes: Array<{ id: string; name: string; address: string }> };
  const attach = (input: Record<string, unknown>, token = tenant.token) =>
    gql(t.url, token, `mutation($i: AttachStorageInput!) { attachStorage(input: $i) { ${MOUNT} } }`, { i: input });
  const mountOf = async (id: string, fields = MOUNT) => (await asTenant(`query($id: ID!) { mount(id: $id) { ${fields} } }`, { id })).mount;
  const settle = (id: string, states: string[], what: string) =>
    waitFor(
      async () => {
        const m = await mountOf(id);
        return states.includes(m.state) ? m : null;
      },
      30_000,
      what,
    );
  const custody = async (datasetId: string) =>
    (await asTenant(`query($d: ID!) { datasetCustody(datasetId: $d) { ${CUSTODY} } }`, { d: datasetId })).datasetCustody;
  const recordOf = async (datasetId: string, mountId: string) =>
    (await custody(datasetId)).records.find((r: { mountId: string }) => r.mountId === mountId);
  const detach = (id: string) => asTenant('mutation($id: ID!) { detachStorage(id: $id) { state } }', { id });

  beforeAll(async () => {
    t = await startTestService({
      APN_MIN_DURATION_S: '1',
      APN_EMULATOR_HOP_MS: '10',
      APN_STORAGE_SPEEDUP: '1000',
      APN_RECONCILE_INTERVAL_S: '1',
      APN_JOB_ATTEMPTS: '3',
      APN_JOB_BACKOFF_MS: '100',
      APN_KEY_ENCRYPTION_KEY: KEK.toString('base64'),
      APN_TLS_CERT_MAX_LIFETIME_S: '86400',
      // Logged at info, so that the test can show that no key reaches the logs.
      LOG_LEVEL: 'info',
    });
    ep = await endpointIds(t);
    sites = Object.fromEntries((await op('{ sites { id code } }')).sites.map((s: { id: string; code: string }) => [s.code, s.id]));
    tenant = await createTenantWithKey(t, 'Clinic Group');
    other = await createTenantWithKey(t, 'Bystander');
    const storage = (code: string, site: string, kind: string, host = `${code.toLowerCase()}.example.net`) =>
      op('mutation($i: CreateStorageSystemInput!) { createStorageSystem(input: $i) { id } }', {
        i: {
          code,
          name: code,
          kind,
          siteId: sites[site],
          host,
          capacityBytes: String(20_000n * GB),
          throughputGbps: 200,
          rdma: true,
          idmapDomain: 'clinic.example.jp',
        },
      }).then((r) => r.createStorageSystem.id as string);
    ids.office = await storage('OTE-NFS', 'OTE-HQ', 'OFFICE_NFS');
    ids.replica = await storage('TAM-REPLICA', 'TAM-GDC', 'DC_REPLICA', '10.40.0.200');
    const cluster = (code: string, site: string, base: string, count = 3) =>
      op('mutation($i: CreateGpuClusterInput!) { createGpuCluster(input: $i) { id } }', {
        i: {
          code,
          name: code,
          siteId: sites[site],
          rdma: true,
          nodes: Array.from({ length: count }, (_, k) => ({
            name: `${code.toLowerCase()}-n${k + 1}`,
            address: `${base}.${k + 1}`,
            gpus: 8,
            ratedPowerKw: 10.2,
          })),
        },
      }).then((r) => r.createGpuCluster.id as string);
    ids.TAM = await cluster('TAM-H100', 'TAM-GDC', '10.40.0');
    const dataset = (name: string, sensitivity: string, path: string) =>
      op('mutation($i: CreateDatasetInput!) { createDataset(input: $i) { id } }', {
        i: {
          tenantId: tenant.tenantId,
          storageSystemId: ids.office,
          name,
          exportPath: path,
          bytes: String(100n * GB),
          fileCount: '5000',
          sensitivity,
        },
      }).then((r) => r.createDataset.id as string);
    ids.internal = await dataset('kits19', 'INTERNAL', '/export/kits19');
    ids.secret = await dataset('patient-scans', 'CONFIDENTIAL', '/export/patients');
  });
  afterAll(async () => {
    if (process.env.SHOW_SERVICE_OUTPUT) writeFileSync(process.env.SHOW_SERVICE_OUTPUT, t?.output() ?? '');
    await t?.stop();
  });

  it('records which transponders encrypt, and books a lightpath that needs them only between such endpoints', async () => {
    const document = JSON.parse(readFileSync(resolve(__dirname, '../src/topology/reference-topology.json'), 'utf8'));
    for (const e of document.endpoints) if (['OTE-HQ-100G-1', 'TAM-GDC-100G-1'].includes(e.code)) e.encryption = true;
    await op('mutation($d: JSON!) { importTopology(document: $d) { revision } }', { d: document });
    const endpoints = (await op('{ endpoints { code encryption } }')).endpoints as Array<{ code: string; encryption: boolean }>;
    expect(
      endpoints
        .filter((e) => e.encryption)
        .map((e) => e.code)
        .sort(),
    ).toEqual(['OTE-HQ-100G-1', 'TAM-GDC-100G-1']);

    const bad = await gql(t.url, t.adminToken, 'mutation($d: JSON!) { importTopology(document: $d) { revision } }', {
      d: {
        ...document,
        endpoints: document.endpoints.map((e: Record<string, unknown>, i: number) => (i === 0 ? { ...e, encryption: 'yes' } : e)),
      },
    });
    expect(bad.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(bad.errors![0].message).toMatch(/encryption must be true or false/);

    const before = await count('SELECT count(*)::int AS n FROM reservations');
    const plain = await gql(t.url, tenant.token, RESERVE, {
      input: {
        sourceEndpointId: ep['OTE-HQ-100G-2'],
        destinationEndpointId: ep['TAM-GDC-100G-1'],
        rateGbps: 100,
        start: new Date(Date.now() + 86_400_000).toISOString(),
        end: new Date(Date.now() + 90_000_000).toISOString(),
        requireLinkEncryption: true,
      },
    });
    expect(plain.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.sourceEndpointId' });
    expect(plain.errors![0].message).toMatch(/OTE-HQ-100G-2 cannot encrypt/);
    expect(await count('SELECT count(*)::int AS n FROM reservations')).toBe(before);
    const encrypted = await book('OTE-HQ-100G-1', 'TAM-GDC-100G-1', 86_400_000, 3_600_000, { requireLinkEncryption: true });
    expect(encrypted.linkEncryption).toBe(true);
    ids.encryptedLightpath = encrypted.id;
  });

  it('refuses profiles that cannot work or fall below the minimum, naming the field, changing nothing, and audits each refusal', async () => {
    const lightpath = await book('OTE-HQ-100G-2', 'TAM-GDC-100G-2', 2 * 86_400_000, 3_600_000);
    expect(lightpath.linkEncryption).toBe(false);
    const allocation = await allocate('TAM', 1, lightpath.start, lightpath.end);
    const base = { reservationId: lightpath.id, datasetId: ids.internal, gpuAllocationId: allocation.id, design: 'DIRECT' };
    const mounts = await countMounts();
    const audited = await refusals();
    const cases: Array<[Record<string, unknown>, string, string, RegExp]> = [
      [
        { protection: { inMotion: ['LINK_ENCRYPTION'] } },
        'BAD_USER_INPUT',
        'input.protection.inMotion',
        /OTE-HQ-100G-2 and TAM-GDC-100G-2 cannot/,
      ],
      [
        { protocol: 'NFS_RDMA', protection: { inMotion: ['NFS_TLS'] } },
        'BAD_USER_INPUT',
        'input.protection.inMotion',
        /RFC 9289\) is defined for TCP only/,
      ],
      [{ protection: { inMotion: ['NONE', 'NFS_KRB5P'] } }, 'BAD_USER_INPUT', 'input.protection.inMotion', /NONE/],
      [{ protection: { atRest: 'ENCRYPTED' } }, 'BAD_USER_INPUT', 'input.protection.atRest', /DIRECT mount stores no copy/],
    ];
    for (const [extra, code, field, message] of cases) {
      const r = await attach({ ...base, ...extra });
      expect(r.errors![0].extensions).toMatchObject({ code, field });
      expect(r.errors![0].message).toMatch(message);
    }
    // A window longer than a certificate may live (APN_TLS_CERT_MAX_LIFETIME_S is a day here).
    const longLightpath = await book('OTE-HQ-100G-3', 'TAM-GDC-100G-2', 3 * 86_400_000, 2 * 86_400_000);
    const longAllocation = await allocate('TAM', 1, longLightpath.start, longLightpath.end);
    const tooLong = await attach({
      ...base,
      reservationId: longLightpath.id,
      gpuAllocationId: longAllocation.id,
      protection: { inMotion: ['NFS_TLS'] },
    });
    expect(tooLong.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.protection.inMotion' });
    expect(tooLong.errors![0].message).toMatch(/APN_TLS_CERT_MAX_LIFETIME_S/);

    // The operator's minimum for CONFIDENTIAL data: end-to-end RPC encryption, and encrypted copies.
    const minimum = await op(
      'mutation($i: SetProtectionMinimumInput!) { setProtectionMinimum(input: $i) { sensitivity inMotionAnyOf atRest } }',
      {
        i: { sensitivity: 'CONFIDENTIAL', inMotionAnyOf: ['NFS_TLS', 'NFS_KRB5P'], atRest: 'ENCRYPTED' },
      },
    );
    expect(minimum.setProtectionMinimum).toEqual({
      sensitivity: 'CONFIDENTIAL',
      inMotionAnyOf: ['NFS_KRB5P', 'NFS_TLS'],
      atRest: 'ENCRYPTED',
    });
    const below = await attach({ ...base, datasetId: ids.secret });
    expect(below.errors![0].extensions).toMatchObject({
      code: 'FORBIDDEN',
      field: 'input.protection.inMotion',
      policy: 'PROTECTION_MINIMUM',
    });
    expect(below.errors![0].message).toMatch(/CONFIDENTIAL data must travel under at least one of NFS_KRB5P, NFS_TLS/);
    const badMinimum = await gql(
      t.url,
      t.adminToken,
      'mutation($i: SetProtectionMinimumInput!) { setProtectionMinimum(input: $i) { sensitivity } }',
      {
        i: { sensitivity: 'INTERNAL', inMotionAnyOf: ['NONE'], atRest: 'NONE' },
      },
    );
    expect(badMinimum.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.inMotionAnyOf' });
    const notMine = await gql(
      t.url,
      tenant.token,
      'mutation($i: SetTenantProtectionDefaultInput!) { setTenantProtectionDefault(input: $i) { atRest } }',
      {
        i: { tenantId: other.tenantId, inMotion: ['NFS_TLS'], atRest: 'NONE' },
      },
    );
    expect(notMine.errors![0].extensions).toMatchObject({ code: 'FORBIDDEN', field: 'input.tenantId' });

    expect(await countMounts()).toBe(mounts);
    const refused = await t.sql.query(`SELECT data FROM audit_log WHERE action = 'protection.refused' ORDER BY seq NULLS LAST, id`);
    expect(await refusals()).toBe(audited + cases.length + 4);
    expect(refused.rows.map((r) => r.data.field)).toEqual(
      expect.arrayContaining(['input.protection.inMotion', 'input.protection.atRest', 'input.inMotionAnyOf', 'input.tenantId']),
    );

    // Up to the minimum, the mount is made; its profile states its post-quantum standing honestly.
    const krb5p = await attach({ ...base, datasetId: ids.secret, protection: { inMotion: ['NFS_KRB5P'] } });
    expect(krb5p.errors).toBeUndefined();
    expect(krb5p.data!.attachStorage.protection).toMatchObject({ inMotion: ['NFS_KRB5P'], atRest: 'NONE', postQuantum: 'SYMMETRIC' });
    expect(krb5p.data!.attachStorage.protection.measures[0].statement).toMatch(/symmetric AES-256/);
    await op('mutation($i: SetProtectionMinimumInput!) { setProtectionMinimum(input: $i) { sensitivity } }', {
      i: { sensitivity: 'CONFIDENTIAL', inMotionAnyOf: [], atRest: 'NONE' },
    });
  });

  it('takes what a request leaves out from the tenant’s default profile', async () => {
    const set = await asTenant(
      'mutation($i: SetTenantProtectionDefaultInput!) { setTenantProtectionDefault(input: $i) { inMotion atRest } }',
      {
        i: { inMotion: ['NFS_TLS'], atRest: 'ENCRYPTED' },
      },
    );
    expect(set.setTenantProtectionDefault).toEqual({ inMotion: ['NFS_TLS'], atRest: 'ENCRYPTED' });
    try {
      const lightpath = await book('OTE-HQ-100G-2', 'TAM-GDC-100G-2', 5 * 86_400_000, 3_600_000);
      const allocation = await allocate('TAM', 1, lightpath.start, lightpath.end);
      const copy = (
        await attach({ reservationId: lightpath.id, datasetId: ids.internal, gpuAllocationId: allocation.id, design: 'REPLICATION' })
      ).data!.attachStorage;
      expect(copy.protection).toMatchObject({ inMotion: ['NFS_TLS'], atRest: 'ENCRYPTED', postQuantum: 'CLASSICAL' });
      expect(copy.protection.measures.find((m: { measure: string }) => m.measure === 'NFS_TLS').statement).toMatch(/classical ECDHE/);
      // DIRECT stores no copy: the default's ENCRYPTED does not apply to it.
      const allocation2 = await allocate('TAM', 1, lightpath.start, lightpath.end);
      const direct = (
        await attach({
          reservationId: lightpath.id,
          datasetId: ids.secret,
          gpuAllocationId: allocation2.id,
          design: 'DIRECT',
          protection: { inMotion: ['NFS_KRB5P', 'NFS_TLS'] },
        })
      ).data!.attachStorage;
      expect(direct.protection).toMatchObject({ inMotion: ['NFS_KRB5P', 'NFS_TLS'], atRest: 'NONE' });
    } finally {
      await asTenant('mutation($i: SetTenantProtectionDefaultInput!) { setTenantProtectionDefault(input: $i) { atRest } }', {
        i: { inMotion: ['NONE'], atRest: 'NONE' },
      });
    }
  });

  it('issues TLS certificates for exactly the allocation’s nodes and window, which openssl verifies, and revokes them through the CRL at detach', async () => {
    const lightpath = await book('OTE-HQ-100G-3', 'TAM-GDC-100G-2', 1500, 60_000);
    const allocation = await allocate('TAM', 2, lightpath.start, lightpath.end);
    const r = await attach({
      reservationId: lightpath.id,
      datasetId: ids.internal,
      gpuAllocationId: allocation.id,
      design: 'DIRECT',
      protection: { inMotion: ['NFS_TLS'] },
    });
    expect(r.errors).toBeUndefined();
    const mount = r.data!.attachStorage;
    ids.tlsMount = mount.id;
    ids.tlsLightpath = lightpath.id;
    const certificates = mount.protection.certificates as Array<{
      serial: string;
      role: string;
      subjectName: string;
      address: string;
      notBefore: string;
      notAfter: string;
      certificatePem: string;
    }>;
    const clients = certificates.filter((c) => c.role === 'CLIENT');
    expect(clients.map((c) => c.address).sort()).toEqual(allocation.nodes.map((n) => n.address).sort());
    expect(certificates.filter((c) => c.role === 'SERVER').map((c) => c.address)).toEqual(['ote-nfs.example.net']);
    const [start, end] = [Date.parse(allocation.start), Date.parse(allocation.end)];
    for (const c of clients) {
      const x509 = new X509Certificate(c.certificatePem);
      expect(x509.subject).toContain(`CN=${c.subjectName}`);
      expect(x509.subjectAltName).toContain(`IP Address:${c.address}`);
      expect(x509.subjectAltName).toContain(`URI:urn:apn-orchestrator:mount:${mount.id}`);
      // Within the allocation's window, to the second, and never outside it.
      expect(Date.parse(x509.validFrom)).toBeGreaterThanOrEqual(start);
      expect(Date.parse(x509.validFrom) - start).toBeLessThan(1000);
      expect(Date.parse(x509.validTo)).toBeLessThan(end);
      expect(end - Date.parse(x509.validTo)).toBeLessThanOrEqual(1000);
    }

    const ca = await request(t.url).get('/pki/ca.pem');
    expect(ca.status).toBe(200);
    const inside = String(Math.floor((start + end) / 2000));
    const after = String(Math.floor(end / 1000) + 5);
    for (const c of clients) {
      expect(
        opensslVerify({ 'ca.pem': ca.text, 'leaf.pem': c.certificatePem }, [
          'verify',
          '-CAfile',
          'ca.pem',
          '-purpose',
          'sslclient',
          '-attime',
          inside,
          'leaf.pem',
        ]),
      ).toMatchObject({ ok: true });
      expect(
        opensslVerify({ 'ca.pem': ca.text, 'leaf.pem': c.certificatePem }, ['verify', '-CAfile', 'ca.pem', '-attime', after, 'leaf.pem'])
          .output,
      ).toMatch(/expired/);
    }
    const credentials = (await mountOf(mount.id, 'tlsCredentials { serial certificatePem privateKeyPem }')).tlsCredentials as Array<{
      certificatePem: string;
      privateKeyPem: string;
    }>;
    expect(credentials).toHaveLength(certificates.length);
    for (const c of credentials)
      expect(new X509Certificate(c.certificatePem).checkPrivateKey(createPrivateKey(c.privateKeyPem))).toBe(true);

    const spec = (
      await mountOf(
        mount.id,
        'mountSpec { options exportsLine security { sec xprtsec tls { caFile clientCertificateFile clientKeyFile tlshdClientConf tlshdServerConf } } }',
      )
    ).mountSpec;
    expect(spec.options).toEqual(expect.arrayContaining(['xprtsec=mtls', 'sec=sys']));
    for (const m of spec.exportsLine.matchAll(/\(([^)]*)\)/g)) expect(m[1].split(',')).toContain('xprtsec=mtls');
    expect(spec.security.tls.tlshdClientConf).toContain(`x509.certificate= ${spec.security.tls.clientCertificateFile}`);
    expect(spec.security.tls.tlshdClientConf).toContain(`x509.private_key= ${spec.security.tls.clientKeyFile}`);

    await settle(mount.id, ['ATTACHED', 'FAILED'], 'the TLS mount to attach');
    const crlBefore = await request(t.url).get('/pki/crl.pem');
    for (const c of clients) {
      expect(
        opensslVerify({ 'ca.pem': ca.text, 'crl.pem': crlBefore.text, 'leaf.pem': c.certificatePem }, [
          'verify',
          '-CAfile',
          'ca.pem',
          '-crl_check',
          '-CRLfile',
          'crl.pem',
          '-attime',
          inside,
          'leaf.pem',
        ]).ok,
      ).toBe(true);
    }
    await detach(mount.id);
    const gone = await settle(mount.id, ['DETACHED'], 'DETACHED');
    expect(gone.protection.certificates.every((c: { revokedAt: string | null }) => c.revokedAt !== null)).toBe(true);
    const crl = await request(t.url)
      .get('/pki/crl')
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });
    expect(crl.headers['content-type']).toBe('application/pkix-crl');
    const text = spawnSync('openssl', ['crl', '-inform', 'DER', '-noout', '-text'], { input: crl.body as Buffer, encoding: 'utf8' }).stdout;
    for (const c of certificates) expect(text).toContain(`Serial Number: ${c.serial.toUpperCase()}`);
    const crlPem = (await request(t.url).get('/pki/crl.pem')).text;
    for (const c of clients) {
      const revoked = opensslVerify({ 'ca.pem': ca.text, 'crl.pem': crlPem, 'leaf.pem': c.certificatePem }, [
        'verify',
        '-CAfile',
        'ca.pem',
        '-crl_check',
        '-CRLfile',
        'crl.pem',
        '-attime',
        inside,
        'leaf.pem',
      ]);
      expect(revoked.ok).toBe(false);
      expect(revoked.output).toMatch(/certificate revoked/);
    }
    expect((await mountOf(mount.id, 'tlsCredentials { serial }')).tlsCredentials).toEqual([]);
    expect(
      await count('SELECT count(*)::int AS n FROM tls_certificates WHERE mount_id = $1 AND wrapped_private_key IS NOT NULL', [mount.id]),
    ).toBe(0);
  });

  it('encrypts a replica under a wrapped per-mount key that never appears in clear, and crypto-erases it at purge with the node’s attestation', async () => {
    const lightpath = await book('OTE-HQ-100G-4', 'TAM-GDC-100G-1', 1500, 120_000);
    ids.encryptedCopyLightpath = lightpath.id;
    const allocation = await allocate('TAM', 1, lightpath.start, lightpath.end);
    const r = await attach({
      reservationId: lightpath.id,
      datasetId: ids.internal,
      gpuAllocationId: allocation.id,
      design: 'REPLICATION',
      protection: { inMotion: ['NFS_KRB5P'], atRest: 'ENCRYPTED' },
    });
    expect(r.errors).toBeUndefined();
    const mount = r.data!.attachStorage;
    ids.encryptedMount = mount.id;
    const attached = await settle(mount.id, ['ATTACHED', 'FAILED'], 'the encrypted replica');
    expect(attached.state).toBe('ATTACHED');

    // Only the wrapped key is stored; it unwraps under the configured KEK with the mount as additional data.
    const row = (
      await t.sql.query('SELECT kek_id, wrapped_key, key_fingerprint, destroyed_at FROM mount_data_keys WHERE mount_id = $1', [mount.id])
    ).rows[0];
    const wrapped = row.wrapped_key as Buffer;
    const decipher = createDecipheriv('aes-256-gcm', KEK, wrapped.subarray(1, 13));
    decipher.setAAD(Buffer.from(`mount:${mount.id}`));
    decipher.setAuthTag(wrapped.subarray(wrapped.length - 16));
    const key = Buffer.concat([decipher.update(wrapped.subarray(13, wrapped.length - 16)), decipher.final()]);
    expect(key).toHaveLength(32);
    const fingerprint = createHash('sha256').update('apn-orchestrator data key\0').update(key).digest('hex');
    expect(row.key_fingerprint).toBe(fingerprint);
    expect(attached.protection.dataKey).toMatchObject({ fingerprint, kekId: row.kek_id, destroyedAt: null });
    expect(
      (await t.sql.query('SELECT key_fingerprint FROM emulator_storage_copies WHERE copy_id = $1', [mount.id])).rows[0].key_fingerprint,
    ).toBe(fingerprint);
    const spec = (
      await mountOf(
        mount.id,
        'mountSpec { options security { sec kerberos { realm serverPrincipal clientPrincipals keytab } } upstream { options security { kerberos { serverPrincipal } } } protection { atRest dataAtRest } }',
      )
    ).mountSpec;
    expect(spec.options).toContain('sec=krb5p');
    expect(spec.upstream.options).toContain('sec=krb5p');
    expect(spec.security.kerberos).toMatchObject({
      realm: 'CLINIC.EXAMPLE.JP',
      serverPrincipal: 'nfs/tam-replica.clinic.example.jp@CLINIC.EXAMPLE.JP',
      keytab: '/etc/krb5.keytab',
    });
    expect(spec.upstream.security.kerberos.serverPrincipal).toBe('nfs/ote-nfs.example.net@CLINIC.EXAMPLE.JP');
    expect(spec.protection.dataAtRest).toMatch(/AES-256 data key/);
    const during = await recordOf(ids.internal, mount.id);
    expect(during).toMatchObject({ kind: 'REPLICA', encrypted: true, clean: false, accessEndedAt: null, keyDestroyedAt: null });

    await detach(mount.id);
    await settle(mount.id, ['DETACHED'], 'DETACHED');
    const erased = (await t.sql.query('SELECT wrapped_key, destroyed_at FROM mount_data_keys WHERE mount_id = $1', [mount.id])).rows[0];
    expect(erased.wrapped_key).toBeNull();
    expect(erased.destroyed_at).not.toBeNull();
    const record = await recordOf(ids.internal, mount.id);
    expect(record).toMatchObject({ encrypted: true, clean: true });
    expect(Date.parse(record.keyDestroyedAt)).toBeGreaterThanOrEqual(Date.parse(record.accessEndedAt));
    const copyDestroyed = record.attestations.find((a: { claim: string }) => a.claim === 'COPY_DESTROYED');
    expect(copyDestroyed).toMatchObject({ valid: true, via: 'DRIVER', subjectKind: 'STORAGE_SYSTEM', subjectId: ids.replica });
    expect(JSON.parse(copyDestroyed.payload).evidence).toMatchObject({
      dataKeyDestroyed: true,
      dataKeyFingerprint: fingerprint,
      bytesDestroyed: String(100n * GB),
    });
    expect(record.places.every((p: { attestedAt: string | null }) => p.attestedAt !== null)).toBe(true);
    const purged = (
      await t.sql.query(`SELECT data FROM audit_log WHERE action = 'dataset.copy-purged' AND data->>'mountId' = $1`, [mount.id])
    ).rows[0].data;
    expect(purged).toMatchObject({ encrypted: true, attested: { copy: 1, gpuNodes: 1, gpuNodesExpected: 1 } });

    // The key never reached the logs, the audit log or the API in clear.
    const forms = [key.toString('hex'), key.toString('base64'), key.toString('base64url')];
    const output = t.output();
    const audit = (await t.sql.query("SELECT string_agg(data::text, '\n') AS text FROM audit_log")).rows[0].text as string;
    for (const form of forms) {
      expect(output).not.toContain(form);
      expect(audit).not.toContain(form);
    }
    expect(output).not.toContain(KEK.toString('base64'));
  });

  it('proves deletion only by valid signed attestations from the nodes’ own agents: refuses bad signatures, wrong nodes and early times, visibly', async () => {
    const agents = [0, 1, 2].map(() => generateKeyPairSync('ed25519'));
    const pem = (k: KeyObject) => k.export({ type: 'spki', format: 'pem' }).toString();
    const nodesBefore = await count('SELECT count(*)::int AS n FROM gpu_nodes');
    const input = (keys: string[]) => ({
      code: 'ISK-AGENTS',
      name: 'ISK-AGENTS',
      siteId: sites['ISK-GDC'],
      rdma: true,
      nodes: keys.map((k, i) => ({
        name: `isk-a${i + 1}`,
        address: `10.50.0.${i + 1}`,
        gpus: 8,
        ratedPowerKw: 10.2,
        attestationPublicKey: k,
      })),
    });
    const badCluster = await gql(t.url, t.adminToken, 'mutation($i: CreateGpuClusterInput!) { createGpuCluster(input: $i) { id } }', {
      i: input([pem(agents[0].publicKey), 'not a key', pem(agents[2].publicKey)]),
    });
    expect(badCluster.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.nodes[1].attestationPublicKey' });
    expect(await count('SELECT count(*)::int AS n FROM gpu_nodes')).toBe(nodesBefore);
    ids.ISK = (
      await op('mutation($i: CreateGpuClusterInput!) { createGpuCluster(input: $i) { id } }', {
        i: input(agents.map((a) => pem(a.publicKey))),
      })
    ).createGpuCluster.id;
    const ecKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    const clusterNodes = (await op('query { gpuClusters { id nodes { id name address attestationPublicKey } } }')).gpuClusters.find(
      (c: { id: string }) => c.id === ids.ISK,
    ).nodes;
    expect(clusterNodes[0].attestationPublicKey).toBe(pem(agents[0].publicKey));
    const badKey = await gql(
      t.url,
      t.adminToken,
      'mutation($i: RegisterAttestationKeyInput!) { registerAttestationKey(input: $i) { id } }',
      { i: { gpuNodeId: clusterNodes[0].id, publicKey: pem(ecKey) } },
    );
    expect(badKey.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.publicKey' });
    expect(badKey.errors![0].message).toMatch(/Ed25519/);
    const unknownNode = await gql(
      t.url,
      t.adminToken,
      'mutation($i: RegisterAttestationKeyInput!) { registerAttestationKey(input: $i) { id } }',
      { i: { gpuNodeId: '00000000-0000-4000-8000-000000000000', publicKey: pem(agents[0].publicKey) } },
    );
    expect(unknownNode.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.gpuNodeId' });
    expect(
      (await t.sql.query('SELECT attestation_public_key FROM gpu_nodes WHERE id = $1', [clusterNodes[0].id])).rows[0]
        .attestation_public_key,
    ).toBe(pem(agents[0].publicKey));
    const keyRefusals = await t.sql.query(
      `SELECT data FROM audit_log WHERE action = 'protection.refused' AND data->>'operation' IN ('createGpuCluster', 'registerAttestationKey')`,
    );
    expect(keyRefusals.rows.map((r) => r.data.field).sort()).toEqual([
      'input.gpuNodeId',
      'input.nodes[1].attestationPublicKey',
      'input.publicKey',
    ]);

    const lightpath = await book('OTE-HQ-100G-1', 'ISK-GDC-100G-1', 1500, 120_000);
    const allocation = await allocate('ISK', 2, lightpath.start, lightpath.end);
    const outsider = clusterNodes.find((n: { id: string }) => !allocation.nodes.some((a) => a.id === n.id));
    const keyOf = (nodeId: string) => agents[clusterNodes.findIndex((n: { id: string }) => n.id === nodeId)].privateKey;
    const mount = (
      await attach({
        reservationId: lightpath.id,
        datasetId: ids.secret,
        gpuAllocationId: allocation.id,
        design: 'DIRECT',
        protection: { inMotion: ['NFS_KRB5P'] },
      })
    ).data!.attachStorage;
    await settle(mount.id, ['ATTACHED', 'FAILED'], 'ATTACHED');
    const submit = (a: { payload: string; signature: string }) =>
      gql(t.url, t.adminToken, 'mutation($i: SubmitAttestationInput!) { submitAttestation(input: $i) { id valid subjectId attestedAt } }', {
        i: a,
      });

    // Attached: the GPU nodes may hold the data in their page cache, so nothing is clean yet.
    const attached = await recordOf(ids.secret, mount.id);
    expect(attached).toMatchObject({ kind: 'DIRECT_READ', clean: false, accessEndedAt: null });
    expect((await custody(ids.secret)).clean).toBe(false);
    const early = await submit(
      nodeWiped(keyOf(allocation.nodes[0].id), {
        mountId: mount.id,
        datasetId: ids.secret,
        nodeId: allocation.nodes[0].id,
        at: new Date(),
      }),
    );
    expect(early.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.payload.at' });
    expect(early.errors![0].message).toMatch(/still ATTACHED/);

    await detach(mount.id);
    await settle(mount.id, ['DETACHED'], 'DETACHED');
    const detached = await recordOf(ids.secret, mount.id);
    const accessEnded = new Date(detached.accessEndedAt);
    // The emulator holds no key of these agents: nothing is proven until they attest.
    expect(detached).toMatchObject({ clean: false });
    expect(detached.places.map((p: { subjectId: string; attestedAt: string | null }) => [p.subjectId, p.attestedAt]).sort()).toEqual(
      allocation.nodes.map((n) => [n.id, null]).sort(),
    );

    const [first, second] = allocation.nodes;
    const now = () => new Date(Math.max(Date.now(), accessEnded.getTime() + 1));
    const stranger = generateKeyPairSync('ed25519').privateKey;
    const good = nodeWiped(keyOf(first.id), { mountId: mount.id, datasetId: ids.secret, nodeId: first.id, at: now() });
    const refusedCases: Array<[{ payload: string; signature: string }, string, RegExp]> = [
      [
        nodeWiped(stranger, { mountId: mount.id, datasetId: ids.secret, nodeId: first.id, at: now() }),
        'input.signature',
        /does not verify under the Ed25519 key registered for isk-a/,
      ],
      [
        {
          payload: good.payload.replace('"scratchWiped":true', '"scratchWiped":true ').replace(' ', ''),
          signature: nodeWiped(keyOf(first.id), {
            mountId: mount.id,
            datasetId: ids.secret,
            nodeId: first.id,
            at: new Date(accessEnded.getTime() + 5),
          }).signature,
        },
        'input.signature',
        /does not verify/,
      ],
      [
        nodeWiped(keyOf(outsider.id), { mountId: mount.id, datasetId: ids.secret, nodeId: outsider.id, at: now() }),
        'input.payload.subject',
        /not one of the nodes/,
      ],
      [
        nodeWiped(keyOf(first.id), {
          mountId: mount.id,
          datasetId: ids.secret,
          nodeId: first.id,
          at: new Date(accessEnded.getTime() - 1000),
        }),
        'input.payload.at',
        /before the mount's access ended/,
      ],
      [{ payload: JSON.stringify(JSON.parse(good.payload), null, 1), signature: good.signature }, 'input.payload', /canonical/],
    ];
    for (const [attestation, field, message] of refusedCases) {
      const r = await submit(attestation);
      expect(r.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field });
      expect(r.errors![0].message).toMatch(message);
    }
    const afterRefusals = await recordOf(ids.secret, mount.id);
    expect(afterRefusals.clean).toBe(false);
    expect(afterRefusals.places.every((p: { attestedAt: string | null }) => p.attestedAt === null)).toBe(true);
    // Refusals are visible with the record, with their reasons, and in the audit log.
    const refusedHere = afterRefusals.attestations.filter((a: { valid: boolean }) => !a.valid);
    expect(refusedHere.length).toBeGreaterThanOrEqual(4);
    expect(refusedHere.map((a: { refusal: string }) => a.refusal).join('\n')).toMatch(
      /does not verify[\s\S]*not one of the nodes[\s\S]*before the mount's access ended/,
    );
    const auditedRefusals = await t.sql.query(
      `SELECT data->>'field' AS field FROM audit_log WHERE action = 'attestation.refused' AND (entity_id = $1 OR data->>'mountId' IS NULL)`,
      [mount.id],
    );
    expect(auditedRefusals.rows.map((r) => r.field)).toEqual(
      expect.arrayContaining(['input.signature', 'input.payload.subject', 'input.payload.at', 'input.payload']),
    );

    const accepted = await submit(good);
    expect(accepted.errors).toBeUndefined();
    expect(accepted.data!.submitAttestation).toMatchObject({ valid: true, subjectId: first.id });
    expect((await recordOf(ids.secret, mount.id)).clean).toBe(false);
    await submit(nodeWiped(keyOf(second.id), { mountId: mount.id, datasetId: ids.secret, nodeId: second.id, at: now() }));
    const proven = await recordOf(ids.secret, mount.id);
    expect(proven.clean).toBe(true);
    expect(proven.places.every((p: { attestedAt: string | null }) => p.attestedAt !== null)).toBe(true);
    expect(
      await count(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'attestation.accepted' AND entity_id = $1`, [mount.id]),
    ).toBe(2);
    await asTenant('mutation($id: ID!) { cancelReservation(id: $id) { state } }', { id: lightpath.id });
  });

  it('fills the PoC report’s security considerations from the mount’s profile and attestations, and keeps runs consistent with their mount', async () => {
    const create = (input: Record<string, unknown>) =>
      gql(t.url, tenant.token, 'mutation($i: CreateTrainingRunInput!) { createTrainingRun(input: $i) { id securityMeasures } }', {
        i: {
          label: input.label,
          workload: { modelName: 'UNet3D', batchSize: 1, steps: 10 },
          connection: { kind: 'APN', reservationId: input.reservationId },
          ...(input.extra as object),
        },
      });
    const before = await count('SELECT count(*)::int AS n FROM training_runs');
    const mismatch = await create({
      label: 'claims more',
      reservationId: ids.tlsLightpath,
      extra: { mountId: ids.tlsMount, securityMeasures: ['NFS_TLS', 'LINK_ENCRYPTION'] },
    });
    expect(mismatch.errors![0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'input.securityMeasures' });
    expect(mismatch.errors![0].message).toMatch(/protected by NFS_TLS/);
    expect(await count('SELECT count(*)::int AS n FROM training_runs')).toBe(before);

    const tlsCreated = await create({ label: 'direct over TLS', reservationId: ids.tlsLightpath, extra: { mountId: ids.tlsMount } });
    expect(tlsCreated.errors).toBeUndefined();
    const tls = tlsCreated.data!.createTrainingRun;
    expect(tls.securityMeasures).toEqual(['NFS_TLS']);
    const encrypted = (
      await create({
        label: 'encrypted replica',
        reservationId: ids.encryptedCopyLightpath,
        extra: { mountId: ids.encryptedMount, securityMeasures: ['AT_REST_ENCRYPTION', 'NFS_KRB5P'] },
      })
    ).data!.createTrainingRun;
    expect(encrypted.securityMeasures).toEqual(['NFS_KRB5P', 'AT_REST_ENCRYPTION']);
    const plain = (
      await create({
        label: 'without measures',
        reservationId: ids.tlsLightpath,
        extra: { workload: { modelName: 'UNet3D', batchSize: 1, steps: 10, datasetId: ids.internal } },
      })
    ).data!.createTrainingRun;
    expect(plain.securityMeasures).toEqual(['NONE']);

    const model = async (id: string) => {
      const md = (await asTenant('query($ids: [ID!]!) { runsReport(ids: $ids, format: MARKDOWN) }', { ids: [id] })).runsReport as string;
      const section = md.slice(md.indexOf('Security considerations'), md.indexOf('Benchmark testing'));
      return section;
    };
    const tlsSection = await model(tls.id);
    expect(tlsSection).toMatch(/RPC-with-TLS \(RFC 9289\) — TLS 1\.3 with a classical ECDHE key exchange/);
    expect(tlsSection).toMatch(/not in force: no link encryption/);
    expect(tlsSection).toMatch(/all 2 GPU node\(s\) attested/);
    expect(tlsSection).toMatch(/client certificates valid for the allocation only/);
    const copySection = await model(encrypted.id);
    expect(copySection).toMatch(
      /the replica encrypted at rest \(AT_REST_ENCRYPTION: a per-mount AES-256 data key wrapped by the key-encryption key\), its key destroyed at/,
    );
    expect(copySection).toMatch(/TAM-REPLICA attested the copy destroyed at/);
    expect(copySection).toMatch(/Kerberos privacy \(sec=krb5p\) — Kerberos privacy with aes256/);
    const plainSection = await model(plain.id);
    expect(plainSection).toMatch(/not applied: sec=sys over an unencrypted lightpath/);

    // The latest signed audit checkpoint is cited, its signature checked, and what it covers of the run said.
    const cp = (await gqlOk(t.url, t.adminToken, 'mutation { takeAuditCheckpoint { seq headHash keyId at } }')).takeAuditCheckpoint;
    const cited = await model(tls.id);
    expect(cited).toContain(
      `the latest signed checkpoint of the audit log covers entries 1 to ${cp.seq} (head hash ${cp.headHash}, signed ${cp.at} by ${cp.keyId})`,
    );
    expect(cited).toContain('its Ed25519 signature verifies under the service’s audit key');
    expect(cited).toMatch(/direct over TLS: its audit entries \(run, mount, lightpath\), up to entry \d+, are covered by the checkpoint/);
    // A change to the run after the checkpoint is said to await the next one.
    await asTenant('mutation($id: ID!, $r: String!) { failTrainingRun(id: $id, reason: $r) { state } }', {
      id: tls.id,
      r: 'stopped for the audit test',
    });
    await waitFor(
      async () => (await count('SELECT count(*)::int AS n FROM audit_log WHERE seq IS NULL')) === 0,
      10_000,
      'the audit entries to be chained',
    );
    const later = await model(tls.id);
    expect(later).toMatch(
      new RegExp(
        `direct over TLS: its audit entries up to entry \\d+ are chained, but the latest were made after the checkpoint \\(${cp.seq}\\)`,
      ),
    );
    // A checkpoint whose signature no longer verifies is said so plainly.
    await t.sql.query(`UPDATE audit_checkpoints SET head_hash = repeat('0', 64) WHERE seq = $1`, [cp.seq]);
    expect(await model(tls.id)).toMatch(/does NOT verify under the service’s audit key/);
  });
});
