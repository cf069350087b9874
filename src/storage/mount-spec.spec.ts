import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from 'js-yaml';
import { fiberLatencyMs } from '../topology/pce/optics';
import { MountSpec, MountSpecError, MountSpecInput, NfsClientNode, dnsLabel, renderMountSpec, renderNfsFirewall } from './mount-spec';

const lightpath = (rateGbps: number, distanceKm: number) => ({
  rateGbps,
  distanceKm,
  rttMs: 2 * fiberLatencyMs(distanceKm),
});
const TAMA = lightpath(100, 40);
const ISHIKARI = lightpath(100, 1115);

const NODES: NfsClientNode[] = [
  { name: 'gpu-01', address: '10.20.0.11' },
  { name: 'gpu-02', address: '10.20.0.12' },
  { name: 'gpu-03', address: '2001:db8:20::13' },
];
const CACHE_NODE = { name: 'cache-01', address: '10.20.0.5', exportPath: '/srv/apn/kits19' };

function mount(overrides: Partial<MountSpecInput> = {}): MountSpecInput {
  return {
    mountId: '3f2b8c1e-5d4a-4e2b-9c1f-7a6b5c4d3e2f',
    design: 'DIRECT',
    protocol: 'NFS_TCP',
    office: { host: '192.0.2.10', exportPath: '/export/datasets/kits19' },
    dataset: { id: 'ds-kits19', name: 'kits19', bytes: 3_800_000_000_000n, readOnly: true },
    nodes: NODES,
    lightpath: ISHIKARI,
    idmapDomain: 'corp.example.jp',
    ...overrides,
  };
}

/** The value of `name=value` in the options, or undefined. */
const option = (spec: { options: string[] }, name: string) => spec.options.find((o) => o.startsWith(`${name}=`))?.slice(name.length + 1);

/** Each rule of the ruleset that accepts: its protocol and port and the addresses of the set it matches. */
function openings(nftables: string): { port: string; addresses: string[] }[] {
  const sets = new Map<string, string[]>();
  for (const m of nftables.matchAll(/set (\S+) \{[^}]*elements = \{ ([^}]*) \}/g)) {
    sets.set(m[1], m[2].split(', '));
  }
  return nftables
    .split('\n')
    .filter((line) => line.trim().endsWith('accept'))
    .map((line) => {
      const m = /(tcp|udp) dport (\d+) ip6? saddr @(\S+) accept$/.exec(line.trim());
      if (!m) throw new Error(`unexpected accept rule: ${line}`);
      return { port: `${m[1]}/${m[2]}`, addresses: sets.get(m[3]) ?? [] };
    });
}
const dropped = (nftables: string) =>
  nftables
    .split('\n')
    .filter((line) => line.trim().endsWith('drop'))
    .map((line) => /(tcp|udp) dport (\d+) drop$/.exec(line.trim())!.slice(1).join('/'));

describe('renderMountSpec: mount command and options', () => {
  it('mounts NFSv4.2 over TCP port 2049 with the options tuned to the path', () => {
    const spec = renderMountSpec(mount());
    expect(spec.options.slice(0, 3)).toEqual(['vers=4.2', 'proto=tcp', 'port=2049']);
    expect(option(spec, 'nconnect')).toBe(String(spec.tuning.connections));
    expect(option(spec, 'rsize')).toBe('1048576');
    expect(option(spec, 'wsize')).toBe('1048576');
    expect(spec.options).toEqual(expect.arrayContaining(['hard', 'timeo=600', 'retrans=2', 'sec=sys']));
    expect(spec.optionString).toBe(spec.options.join(','));
    expect(spec.command).toBe(`mount -t nfs4 -o ${spec.optionString} 192.0.2.10:/export/datasets/kits19 /mnt/apn/kits19`);
    expect(spec.network).toBe('LIGHTPATH');
    expect(spec.port).toBe(2049);
  });

  it('opens more connections and reads further ahead on the Ishikari path than on the Tama path', () => {
    const tama = renderMountSpec(mount({ lightpath: TAMA }));
    const ishikari = renderMountSpec(mount({ lightpath: ISHIKARI }));
    expect(option(tama, 'nconnect')).toBe('4');
    expect(option(ishikari, 'nconnect')).toBe('9');
    expect(tama.optionString).not.toBe(ishikari.optionString);
    expect(tama.readAheadCommand).toBe('echo 5120 > /sys/class/bdi/$(mountpoint -d /mnt/apn/kits19)/read_ahead_kb');
    expect(ishikari.readAheadCommand).toBe('echo 134144 > /sys/class/bdi/$(mountpoint -d /mnt/apn/kits19)/read_ahead_kb');
    for (const spec of [tama, ishikari]) {
      expect(spec.tuning.inFlightBytes).toBeGreaterThanOrEqual(spec.tuning.bdpBytes);
      expect(spec.tuning.readAheadKb * 1024).toBeGreaterThanOrEqual(spec.tuning.bdpBytes);
    }
  });

  it('mounts read-only datasets ro with cached attributes, writable ones rw with close-to-open', () => {
    const readOnly = renderMountSpec(mount());
    expect(readOnly.options).toEqual(expect.arrayContaining(['ro', 'nocto', 'actimeo=600']));
    expect(readOnly.options).not.toContain('rw');

    const writable = renderMountSpec(mount({ dataset: { ...mount().dataset, readOnly: false } }));
    expect(writable.options).toContain('rw');
    expect(writable.options).not.toEqual(expect.arrayContaining(['ro']));
    expect(writable.options).not.toContain('nocto');
    expect(option(writable, 'actimeo')).toBeUndefined();
  });

  it('uses NFS over RDMA port 20049 in the mount options, the firewall and the PersistentVolume', () => {
    const spec = renderMountSpec(mount({ protocol: 'NFS_RDMA' }));
    expect(option(spec, 'proto')).toBe('rdma');
    expect(option(spec, 'port')).toBe('20049');
    expect(spec.port).toBe(20049);
    // Linux's NFSv4 client ignores nconnect over RDMA: the spec does not pretend otherwise.
    expect(option(spec, 'nconnect')).toBeUndefined();
    // iWARP runs over TCP 20049; RoCEv2 carries RDMA, connection setup included, over UDP 4791.
    const opened = openings(spec.nftables);
    expect([...new Set(opened.map((o) => o.port))]).toEqual(['tcp/20049', 'udp/4791']);
    expect([...new Set(opened.flatMap((o) => o.addresses))].sort()).toEqual(NODES.map((n) => n.address).sort());
    expect(dropped(spec.nftables)).toEqual(['tcp/20049', 'udp/4791']);
    const pv = load(spec.persistentVolumeYaml) as PersistentVolume;
    expect(pv.spec.mountOptions).toEqual(expect.arrayContaining(['proto=rdma', 'port=20049']));
  });

  it('puts an IPv6 server in brackets in the mount command', () => {
    const spec = renderMountSpec(mount({ office: { host: '2001:db8:1::10', exportPath: '/export/kits19' } }));
    expect(spec.command).toContain(' [2001:db8:1::10]:/export/kits19 /mnt/apn/kits19');
  });

  it('mounts where asked, and under /mnt/apn by the dataset name otherwise', () => {
    expect(renderMountSpec(mount({ mountPoint: '/data/kits19' })).mountPoint).toBe('/data/kits19');
    const named = renderMountSpec(mount({ dataset: { ...mount().dataset, name: 'KiTS19 UNet3D' } }));
    expect(named.mountPoint).toMatch(/^\/mnt\/apn\/kits19-unet3d-[0-9a-f]{8}$/);
  });
});

describe('renderMountSpec: host settings', () => {
  it('raises TCP buffers on both ends and session slots on the nodes for Ishikari; Tama needs none', () => {
    const ishikari = renderMountSpec(mount());
    for (const sysctl of [ishikari.clientSysctl, ishikari.serverSysctl]) {
      expect(sysctl).toContain('net.ipv4.tcp_rmem = 4096 131072 33554432');
      expect(sysctl).toContain('net.ipv4.tcp_wmem = 4096 16384 33554432');
    }
    expect(ishikari.clientModprobe).toContain('options nfs max_session_slots=131');

    const tama = renderMountSpec(mount({ lightpath: TAMA }));
    expect([tama.clientSysctl, tama.clientModprobe, tama.serverSysctl]).toEqual([null, null, null]);
  });

  it('raises RDMA credits on the server and slots on the nodes when the path needs more', () => {
    const spec = renderMountSpec(mount({ protocol: 'NFS_RDMA' }));
    expect(spec.serverSysctl).toContain('sunrpc.svc_rdma.max_requests = 131');
    expect(spec.clientSysctl).toContain('sunrpc.rdma_slot_table_entries = 131');
    expect(spec.clientSysctl).not.toContain('tcp_rmem');
  });
});

describe('renderMountSpec: export, id mapping and firewall', () => {
  it('exports to exactly the allocation’s node addresses, one client specification each', () => {
    const spec = renderMountSpec(mount());
    const [path, ...clients] = spec.exportsLine.split(/\s+/);
    expect(path).toBe('/export/datasets/kits19');
    expect(clients).toEqual(NODES.map((n) => `${n.address}(ro,sync,sec=sys,no_subtree_check,root_squash)`));
    expect(spec.exportsLine).not.toMatch(/[*]|\/\d+\(/);

    const writable = renderMountSpec(mount({ dataset: { ...mount().dataset, readOnly: false } }));
    expect(writable.exportsLine).toContain('10.20.0.11(rw,sync,sec=sys,no_subtree_check,root_squash)');
  });

  it('names the NFSv4 id-mapping domain for idmapd', () => {
    const spec = renderMountSpec(mount());
    expect(spec.idmapDomain).toBe('corp.example.jp');
    expect(spec.idmapdConf).toBe('[General]\nDomain = corp.example.jp\n');
  });

  it('opens only the NFS port, only to the allocation’s nodes, and drops the rest', () => {
    const spec = renderMountSpec(mount());
    const opened = openings(spec.nftables);
    expect(opened.map((o) => o.port)).toEqual(['tcp/2049', 'tcp/2049']); // one rule for IPv4, one for IPv6
    expect(opened.flatMap((o) => o.addresses).sort()).toEqual(NODES.map((n) => n.address).sort());
    expect(dropped(spec.nftables)).toEqual(['tcp/2049']);
    expect(spec.nftables).toContain('ip saddr @');
    expect(spec.nftables).toContain('ip6 saddr @');
    expect(spec.nftables).toContain('type filter hook input priority filter; policy accept;');
  });

  it('polices only the APN interface when the office names it, so office clients keep their access', () => {
    const spec = renderMountSpec(mount({ office: { ...mount().office, interface: 'ens1f0' } }));
    const rules = spec.nftables.split('\n').filter((l) => /\b(accept|drop)$/.test(l.trim()) && l.includes('dport'));
    expect(rules.length).toBeGreaterThan(0);
    for (const rule of rules) expect(rule.trim()).toMatch(/^iifname "ens1f0" /);
  });

  it('keeps the nodes of several mounts on one server apart, with one drop per port', () => {
    const nft = renderNfsFirewall([
      { mountId: 'mount-a', protocol: 'NFS_TCP', clients: NODES.slice(0, 1) },
      { mountId: 'mount-b', protocol: 'NFS_TCP', clients: NODES.slice(1, 2) },
      { mountId: 'mount-c', protocol: 'NFS_RDMA', clients: NODES.slice(2) },
    ]);
    expect(openings(nft)).toEqual([
      { port: 'tcp/2049', addresses: ['10.20.0.11'] },
      { port: 'tcp/2049', addresses: ['10.20.0.12'] },
      { port: 'tcp/20049', addresses: ['2001:db8:20::13'] },
      { port: 'udp/4791', addresses: ['2001:db8:20::13'] },
    ]);
    expect(dropped(nft)).toEqual(['tcp/2049', 'tcp/20049', 'udp/4791']);
    expect(nft).toContain('# mount mount-a (tcp dport 2049): gpu-01 10.20.0.11');
  });

  const nft = (() => {
    try {
      execFileSync('nft', ['--version'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();
  (nft ? it : it.skip)('renders rulesets that `nft -c -f` accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'apn-nft-'));
    try {
      const rulesets = [
        renderMountSpec(mount({ office: { ...mount().office, interface: 'ens1f0' } })).nftables,
        renderMountSpec(mount({ protocol: 'NFS_RDMA' })).nftables,
      ];
      rulesets.forEach((ruleset, i) => {
        const file = join(dir, `${i}.nft`);
        writeFileSync(file, ruleset);
        expect(() => execFileSync('nft', ['-c', '-f', file], { stdio: 'pipe' })).not.toThrow();
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

interface PersistentVolume {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations: Record<string, string> };
  spec: {
    capacity: { storage: string };
    accessModes: string[];
    persistentVolumeReclaimPolicy: string;
    storageClassName: string;
    claimRef: { namespace: string; name: string };
    mountOptions: string[];
    csi: { driver: string; volumeHandle: string; readOnly: boolean; volumeAttributes: Record<string, string> };
  };
}
interface PersistentVolumeClaim {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
  spec: {
    accessModes: string[];
    storageClassName: string;
    volumeName: string;
    resources: { requests: { storage: string } };
  };
}
const DNS_1123_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

describe('renderMountSpec: Kubernetes PersistentVolume and claim', () => {
  const spec = renderMountSpec(mount({ namespace: 'team-kidney' }));
  const pv = load(spec.persistentVolumeYaml) as PersistentVolume;
  const pvc = load(spec.persistentVolumeClaimYaml) as PersistentVolumeClaim;

  it('describes the export for the NFS CSI driver with the tuned mount options', () => {
    expect(pv.apiVersion).toBe('v1');
    expect(pv.kind).toBe('PersistentVolume');
    expect(pv.spec.csi.driver).toBe('nfs.csi.k8s.io');
    expect(pv.spec.csi.volumeAttributes).toEqual({ server: '192.0.2.10', share: '/export/datasets/kits19' });
    expect(pv.spec.csi.volumeHandle).toBe('apn-mount-3f2b8c1e-5d4a-4e2b-9c1f-7a6b5c4d3e2f');
    expect(pv.spec.mountOptions).toEqual(spec.options);
    expect(pv.spec.capacity.storage).toBe('3800000000000');
    expect(pv.metadata.annotations['apn-orchestrator/read-ahead-kb']).toBe(String(spec.tuning.readAheadKb));
  });

  it('never deletes the office data and is bound statically to its claim', () => {
    expect(pv.spec.persistentVolumeReclaimPolicy).toBe('Retain');
    expect(pv.spec.storageClassName).toBe('');
    expect(pv.spec.claimRef).toEqual({ namespace: 'team-kidney', name: pvc.metadata.name });
    expect(pvc.kind).toBe('PersistentVolumeClaim');
    expect(pvc.metadata.namespace).toBe('team-kidney');
    expect(pvc.spec.volumeName).toBe(pv.metadata.name);
    expect(pvc.spec.storageClassName).toBe('');
    expect(pvc.spec.resources.requests.storage).toBe(pv.spec.capacity.storage);
  });

  it('is ReadOnlyMany for a read-only dataset and ReadWriteMany otherwise, on both objects', () => {
    expect(pv.spec.accessModes).toEqual(['ReadOnlyMany']);
    expect(pvc.spec.accessModes).toEqual(['ReadOnlyMany']);
    expect(pv.spec.csi.readOnly).toBe(true);

    const writable = renderMountSpec(mount({ dataset: { ...mount().dataset, readOnly: false } }));
    const wpv = load(writable.persistentVolumeYaml) as PersistentVolume;
    const wpvc = load(writable.persistentVolumeClaimYaml) as PersistentVolumeClaim;
    expect(wpv.spec.accessModes).toEqual(['ReadWriteMany']);
    expect(wpvc.spec.accessModes).toEqual(['ReadWriteMany']);
    expect(wpv.spec.csi.readOnly).toBe(false);
    expect(wpvc.metadata.namespace).toBe('default');
  });

  it('names both objects with DNS-1123 labels, distinct for distinct mounts, whatever the mount id', () => {
    expect(pv.metadata.name).toMatch(DNS_1123_LABEL);
    const awkward = ['Mount_Upper.Case:' + 'x'.repeat(100), 'mount-upper-case', 'MOUNT-UPPER-CASE', 'a'];
    const names = awkward.map((mountId) => renderMountSpec(mount({ mountId })).persistentVolumeName);
    for (const name of names) {
      expect(name).toMatch(DNS_1123_LABEL);
      expect(name.length).toBeLessThanOrEqual(63);
    }
    expect(new Set(names).size).toBe(names.length);
    expect(dnsLabel('', '--')).toMatch(DNS_1123_LABEL);
  });
});

describe('renderMountSpec: replica and cache designs', () => {
  const cache = (lp = ISHIKARI) => renderMountSpec(mount({ design: 'CACHE', dataCenterNode: CACHE_NODE, lightpath: lp }));

  it('has the GPU nodes mount the cache over the data center LAN', () => {
    const spec = cache();
    expect(spec.network).toBe('DATA_CENTER_LAN');
    expect(spec.server).toBe('10.20.0.5');
    expect(spec.command).toContain(' 10.20.0.5:/srv/apn/kits19 /mnt/apn/kits19');
    const pv = load(spec.persistentVolumeYaml) as PersistentVolume;
    expect(pv.spec.csi.volumeAttributes).toEqual({ server: '10.20.0.5', share: '/srv/apn/kits19' });
    // The LAN hop does not see the lightpath's RTT, so its tuning is the same for both sites.
    expect(spec.tuning).toEqual(cache(TAMA).tuning);
  });

  it('tunes the LAN hop to the LAN it is given', () => {
    const slowLan = { ...CACHE_NODE, lan: { rateGbps: 10, rttMs: 0.05 } };
    const spec = renderMountSpec(mount({ design: 'CACHE', dataCenterNode: slowLan }));
    expect(spec.tuning.bdpBytes).toBe(62_500);
    expect(option(spec, 'nconnect')).toBe('1');
  });

  it('has the cache node mount the office over the lightpath with FS-Cache, tuned to that path', () => {
    const ishikari = cache().upstream!;
    const tama = cache(TAMA).upstream!;
    expect(ishikari.network).toBe('LIGHTPATH');
    expect(ishikari.command).toContain(' 192.0.2.10:/export/datasets/kits19 /srv/apn/kits19');
    expect(ishikari.options).toContain('fsc');
    expect(option(ishikari, 'nconnect')).toBe('9');
    expect(option(tama, 'nconnect')).toBe('4');
    expect(ishikari.tuning.readAheadKb).toBeGreaterThan(tama.tuning.readAheadKb);
  });

  it('admits only the cache node to the office export, and the GPU nodes to the cache', () => {
    const spec = cache();
    expect(spec.upstream!.exportsLine).toBe('/export/datasets/kits19  10.20.0.5(ro,sync,sec=sys,no_subtree_check,root_squash)');
    expect(openings(spec.upstream!.nftables).flatMap((o) => o.addresses)).toEqual(['10.20.0.5']);
    expect(
      openings(spec.nftables)
        .flatMap((o) => o.addresses)
        .sort(),
    ).toEqual(NODES.map((n) => n.address).sort());
  });

  it('re-exports the cache under a stable fsid, the same for every node', () => {
    const fsids = [...cache().exportsLine.matchAll(/fsid=([0-9a-f-]+)/g)].map((m) => m[1]);
    expect(fsids).toHaveLength(NODES.length);
    expect(new Set(fsids).size).toBe(1);
    expect(fsids[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(cache().exportsLine).toBe(cache(TAMA).exportsLine);
  });

  it('has the replica node read the office read-only even for a writable dataset', () => {
    const spec = renderMountSpec(
      mount({
        design: 'REPLICATION',
        dataCenterNode: { ...CACHE_NODE, name: 'replica-01' },
        dataset: { ...mount().dataset, readOnly: false },
      }),
    );
    expect(spec.options).toContain('rw');
    expect(spec.upstream!.options).toContain('ro');
    expect(spec.upstream!.options).not.toContain('fsc');
    expect(spec.upstream!.mountPoint).toBe('/mnt/apn/upstream/kits19');
    expect(spec.upstream!.exportsLine).toContain('10.20.0.5(ro,');
    expect(spec.exportsLine).not.toContain('fsid=');
  });

  it('has no upstream hop for DIRECT', () => {
    expect(renderMountSpec(mount()).upstream).toBeNull();
  });
});

describe('renderMountSpec: refused input', () => {
  const refusal = (overrides: Partial<MountSpecInput>): MountSpecError => {
    try {
      renderMountSpec(mount(overrides));
    } catch (error) {
      expect(error).toBeInstanceOf(MountSpecError);
      return error as MountSpecError;
    }
    throw new Error('expected the input to be refused');
  };

  it('refuses a bad node address, naming the node', () => {
    const error = refusal({ nodes: [NODES[0], { name: 'gpu-07', address: '10.20.0.300' }] });
    expect(error.message).toContain('gpu-07');
    expect(error.message).toContain('10.20.0.300');
    expect(error.field).toBe('nodes[1].address');
    expect(refusal({ nodes: [{ name: 'gpu-08', address: '10.20.0.0/24' }] }).message).toContain('gpu-08');
    expect(refusal({ nodes: [{ name: 'gpu-09', address: 'gpu-09.dc.example' }] }).message).toContain('gpu-09');
  });

  it('refuses an allocation without nodes, and two nodes sharing an address', () => {
    expect(refusal({ nodes: [] }).field).toBe('nodes');
    const error = refusal({ nodes: [NODES[0], { name: 'gpu-11', address: NODES[0].address }] });
    expect(error.message).toContain('gpu-01');
    expect(error.message).toContain('gpu-11');
  });

  it('refuses to render a firewall for a bad address or interface', () => {
    const grant = { mountId: 'm', protocol: 'NFS_TCP' as const, clients: [{ name: 'gpu-12', address: '10.0.0.1 }' }] };
    expect(() => renderNfsFirewall([grant])).toThrow(/gpu-12/);
    expect(() => renderNfsFirewall([{ ...grant, clients: NODES }], 'eth0" accept')).toThrow(MountSpecError);
  });

  it('refuses a data center node for DIRECT and requires one for REPLICATION and CACHE', () => {
    expect(refusal({ dataCenterNode: CACHE_NODE }).field).toBe('dataCenterNode');
    expect(refusal({ design: 'CACHE' }).field).toBe('dataCenterNode');
    expect(refusal({ design: 'REPLICATION' }).field).toBe('dataCenterNode');
    expect(refusal({ design: 'CACHE', dataCenterNode: { ...CACHE_NODE, address: 'cache-01.dc' } }).message).toContain('cache-01');
  });

  it('refuses paths, names and numbers that cannot be rendered safely', () => {
    expect(refusal({ office: { host: '192.0.2.10', exportPath: '/export/x; rm -rf /' } }).field).toBe('office.exportPath');
    expect(refusal({ office: { host: '192.0.2.10', exportPath: 'export/relative' } }).field).toBe('office.exportPath');
    expect(refusal({ office: { host: '192.0.2.10', exportPath: '/export/../etc' } }).field).toBe('office.exportPath');
    expect(refusal({ office: { host: 'bad host', exportPath: '/export' } }).field).toBe('office.host');
    expect(refusal({ office: { ...mount().office, interface: 'eth0"; flush' } }).field).toBe('office.interface');
    expect(refusal({ mountPoint: '/mnt/$(reboot)' }).field).toBe('mountPoint');
    expect(refusal({ idmapDomain: 'corp example' }).field).toBe('idmapDomain');
    expect(refusal({ namespace: 'Team_A' }).field).toBe('namespace');
    expect(refusal({ mountId: 'a\nb' }).field).toBe('mountId');
    expect(refusal({ dataset: { ...mount().dataset, bytes: '-5' } }).field).toBe('dataset.bytes');
    expect(refusal({ dataset: { ...mount().dataset, bytes: 1.5 } }).field).toBe('dataset.bytes');
    expect(refusal({ lightpath: { ...ISHIKARI, rateGbps: 0 } }).field).toBe('lightpath.rateGbps');
    expect(refusal({ lightpath: { ...ISHIKARI, rttMs: -1 } }).field).toBe('lightpath.rttMs');
    expect(refusal({ lightpath: { ...ISHIKARI, distanceKm: Number.NaN } }).field).toBe('lightpath.distanceKm');
    const slowLan = { ...CACHE_NODE, lan: { rateGbps: -10, rttMs: 0.1 } };
    expect(refusal({ design: 'CACHE', dataCenterNode: slowLan }).field).toBe('dataCenterNode.lan.rateGbps');
  });
});

describe('renderMountSpec', () => {
  it('renders the same text for the same input', () => {
    const a: MountSpec = renderMountSpec(mount({ design: 'CACHE', dataCenterNode: CACHE_NODE }));
    const b: MountSpec = renderMountSpec(mount({ design: 'CACHE', dataCenterNode: CACHE_NODE }));
    expect(a).toEqual(b);
  });

  it('accepts the dataset size as a bigint, a decimal string or a safe integer', () => {
    for (const bytes of [3_800_000_000_000n, '3800000000000', 3_800_000_000_000]) {
      const spec = renderMountSpec(mount({ dataset: { ...mount().dataset, bytes } }));
      expect((load(spec.persistentVolumeYaml) as PersistentVolume).spec.capacity.storage).toBe('3800000000000');
    }
  });
});

describe('renderMountSpec: protection profiles', () => {
  /** `/etc/exports` options of each client, by address. */
  const exportOptions = (line: string) => new Map([...line.matchAll(/(\S+?)\(([^)]*)\)/g)].map((m) => [m[1], m[2].split(',')]));
  /** key = value lines of a tlshd.conf section, under its heading. */
  const tlshd = (text: string) => {
    const [heading, ...lines] = text.trim().split('\n');
    return { heading, values: Object.fromEntries(lines.map((l) => l.split('=').map((x) => x.trim()))) };
  };

  it('renders sec=krb5p on every hop, in the mount options and the exports, with the principals and keytab', () => {
    const spec = renderMountSpec(
      mount({ design: 'CACHE', dataCenterNode: CACHE_NODE, protection: { inMotion: ['NFS_KRB5P'], atRest: 'ENCRYPTED' } }),
    );
    for (const hop of [spec, spec.upstream!]) {
      expect(option(hop, 'sec')).toBe('krb5p');
      expect(hop.options).not.toContain('sec=sys');
      for (const options of exportOptions(hop.exportsLine).values()) expect(options).toContain('sec=krb5p');
      expect(hop.command).toContain('sec=krb5p');
      expect(hop.security).toMatchObject({ sec: 'krb5p', xprtsec: 'none', tls: null });
      expect(hop.security.kerberos).toMatchObject({
        realm: 'CORP.EXAMPLE.JP',
        keytab: '/etc/krb5.keytab',
        enctypes: 'aes256-cts-hmac-sha384-192',
      });
    }
    // The GPU nodes authenticate to the cache; the cache to the office server over the lightpath.
    expect(spec.security.kerberos!.serverPrincipal).toBe('nfs/cache-01.corp.example.jp@CORP.EXAMPLE.JP');
    expect(spec.security.kerberos!.clientPrincipals).toEqual([
      'nfs/gpu-01.corp.example.jp@CORP.EXAMPLE.JP',
      'nfs/gpu-02.corp.example.jp@CORP.EXAMPLE.JP',
      'nfs/gpu-03.corp.example.jp@CORP.EXAMPLE.JP',
    ]);
    expect(spec.upstream!.security.kerberos!.serverPrincipal).toBe('nfs/192.0.2.10@CORP.EXAMPLE.JP');
    expect(spec.upstream!.security.kerberos!.clientPrincipals).toEqual(['nfs/cache-01.corp.example.jp@CORP.EXAMPLE.JP']);
    expect(spec.protection).toMatchObject({
      inMotion: ['NFS_KRB5P'],
      atRest: 'ENCRYPTED',
      linkEncryption: false,
      dataAtRest: expect.stringMatching(/AES-256 data key.*crypto-erase/),
    });
    const pv = load(spec.persistentVolumeYaml) as { spec: { mountOptions: string[] } };
    expect(pv.spec.mountOptions).toContain('sec=krb5p');
  });

  it('renders xprtsec=mtls with the client certificate and key paths, and the server’s exports and tlshd section', () => {
    const spec = renderMountSpec(mount({ protection: { inMotion: ['NFS_TLS', 'LINK_ENCRYPTION'], atRest: 'NONE' } }));
    expect(spec.options).toEqual(expect.arrayContaining(['sec=sys', 'xprtsec=mtls']));
    for (const options of exportOptions(spec.exportsLine).values())
      expect(options).toEqual(expect.arrayContaining(['sec=sys', 'xprtsec=mtls', 'root_squash']));
    const tls = spec.security.tls!;
    expect(tls.directory).toBe(`/etc/apn/tls/${mount().mountId}`);
    expect(tlshd(tls.tlshdClientConf)).toEqual({
      heading: '[authenticate.client]',
      values: {
        'x509.truststore': `${tls.directory}/ca.pem`,
        'x509.certificate': `${tls.directory}/client.pem`,
        'x509.private_key': `${tls.directory}/client.key`,
      },
    });
    expect(tlshd(tls.tlshdServerConf)).toMatchObject({
      heading: '[authenticate.server]',
      values: { 'x509.certificate': `${tls.directory}/server.pem`, 'x509.private_key': `${tls.directory}/server.key` },
    });
    expect(spec.protection.linkEncryption).toBe(true);
    expect(spec.protection.dataAtRest).toBeNull();
  });

  it('keeps sec=sys without a profile, and refuses what cannot be rendered', () => {
    expect(renderMountSpec(mount()).security).toEqual({ sec: 'sys', xprtsec: 'none', kerberos: null, tls: null });
    const refused = (input: MountSpecInput) => {
      try {
        renderMountSpec(input);
      } catch (error) {
        return error as MountSpecError;
      }
      throw new Error('rendered');
    };
    expect(refused(mount({ protocol: 'NFS_RDMA', protection: { inMotion: ['NFS_TLS'], atRest: 'NONE' } })).field).toBe(
      'protection.inMotion',
    );
    expect(refused(mount({ protection: { inMotion: ['NONE'], atRest: 'ENCRYPTED' } })).field).toBe('protection.atRest');
  });
});
