/**
 * What a mount renders for the machines that carry it: the NFS mount command and options (sized to the
 * path by `tuneNfs`, see nfs-tuning.ts for the rule), the host settings those options rely on, the
 * /etc/exports line, the NFSv4 id-mapping domain, the nftables rules and the Kubernetes PersistentVolume
 * and PersistentVolumeClaim for the NFS CSI driver. Pure: the same input always renders the same text.
 *
 * Which hop crosses the lightpath depends on the design:
 * - DIRECT: the GPU nodes mount the office export over the lightpath.
 * - REPLICATION: a replica node at the DC mounts the office export read-only over the lightpath (the
 *   `upstream` hop) to copy the dataset; the GPU nodes mount the replica over the DC's own LAN.
 * - CACHE: a cache node at the DC mounts the office export over the lightpath with FS-Cache (`fsc`) and
 *   re-exports it; the GPU nodes mount the cache over the LAN. The first epoch is read through it.
 * Each hop is tuned to the path it crosses: a LAN hop is not sized for a 1,115 km RTT it never sees.
 *
 * Mount options, and why:
 * - `vers=4.2`: one port and no rpcbind or mountd to open, sessions, server-side copy.
 * - `proto=tcp,port=2049`, or `proto=rdma,port=20049` (IANA's port for NFS over RDMA, RFC 8267).
 * - `hard,timeo=600,retrans=2` (Linux's defaults over TCP, spelled out so a distribution cannot shorten
 *   them): when the lightpath flaps, training stalls and resumes; a `soft` mount would instead hand the
 *   job EIO or a short read, and could lose a checkpoint write.
 * - `sec=` and `xprtsec=` follow the mount's protection profile (src/protection/profile.ts): `sec=krb5p`
 *   (RPCSEC_GSS privacy, RFC 7861) with NFS_KRB5P, `xprtsec=mtls` (RPC-with-TLS, RFC 9289, mutual) with
 *   NFS_TLS, else `sec=sys`. Every hop gets them, the DC's LAN included: the data center's own network is
 *   not trusted either. Exports require the same flavour, so a client cannot fall back to a weaker one.
 * - Read-only datasets: `ro`, plus `nocto,actimeo=600`. Every open otherwise costs a GETATTR round trip
 *   (10.9 ms at 1,115 km: five minutes for a 28,000-file epoch opened one file at a time); a dataset
 *   frozen for training does not change, so attributes may be cached for ten minutes and opens need not
 *   revalidate. Writable datasets keep close-to-open consistency and the default attribute cache.
 * - No read-ahead option exists: `readAheadCommand` sets it on the mounted filesystem, and the
 *   PersistentVolume carries it as an annotation for the agent that does so on Kubernetes nodes.
 *
 * Exports name each node's address, never a wildcard or a subnet, with `root_squash`. The firewall opens
 * the NFS port to those addresses only (see `renderNfsFirewall`).
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { dump } from 'js-yaml';
import {
  LINUX_RDMA_CLIENT_SLOTS,
  LINUX_RDMA_SERVER_CREDITS,
  LINUX_SESSION_SLOTS,
  LINUX_TCP_BUFFER_MAX,
  NfsProtocol,
  NfsTuning,
  PathCharacteristics,
  megabytes,
  pathProblem,
  tuneNfs,
} from './nfs-tuning';
import type { StorageDesign } from '../vocabulary/domain';

export type { NfsProtocol, NfsTuning, PathCharacteristics } from './nfs-tuning';

/** Which network a hop crosses. */
export type HopNetwork = 'LIGHTPATH' | 'DATA_CENTER_LAN';

/** A machine that mounts: a GPU node of the allocation. */
export interface NfsClientNode {
  name: string;
  /** IPv4 or IPv6 address the node's NFS traffic comes from. */
  address: string;
}

export interface OfficeExport {
  /** IP address or DNS name of the office NFS server, as the DC side reaches it over the lightpath. */
  host: string;
  exportPath: string;
  /**
   * The server's interface facing the APN transponder. When given, the firewall polices NFS arriving on
   * it only, so the office's own clients keep their access; without it, it polices every interface.
   */
  interface?: string;
}

/** The replica (REPLICATION) or cache (CACHE) node at the data center. */
export interface DataCenterNode {
  name: string;
  /** Its address: the GPU nodes mount it, and the office export admits it. */
  address: string;
  /** Where it serves the dataset to the GPU nodes. */
  exportPath: string;
  interface?: string;
  /** The LAN between it and the GPU nodes; DATA_CENTER_LAN when not given. */
  lan?: PathCharacteristics;
}

/** The in-motion measures the hops must render, and whether the copy is encrypted at rest. */
export interface MountProtectionInput {
  inMotion: Array<'NONE' | 'NFS_KRB5P' | 'NFS_TLS' | 'LINK_ENCRYPTION'>;
  atRest: 'NONE' | 'ENCRYPTED';
}

export interface MountSpecInput {
  mountId: string;
  /** UNPROTECTED (sec=sys, no TLS) when not given. */
  protection?: MountProtectionInput;
  design: StorageDesign;
  protocol: NfsProtocol;
  office: OfficeExport;
  /** Required for REPLICATION and CACHE, refused for DIRECT. */
  dataCenterNode?: DataCenterNode;
  dataset: { id: string; name: string; bytes: bigint | string | number; readOnly?: boolean };
  nodes: NfsClientNode[];
  /** The booked lightpath between the office and the data center. */
  lightpath: Required<PathCharacteristics>;
  idmapDomain: string;
  /** Namespace of the PersistentVolumeClaim; `default` when not given. */
  namespace?: string;
  /** Where the GPU nodes mount the dataset; /mnt/apn/<dataset name as a DNS label> when not given. */
  mountPoint?: string;
}

/** One NFS client-to-server hop: what the clients run and what the server they mount needs. */
export interface NfsHop {
  network: HopNetwork;
  /** Host the clients mount. */
  server: string;
  exportPath: string;
  mountPoint: string;
  port: number;
  options: string[];
  optionString: string;
  command: string;
  /** Run on each client after mounting: NFS has no mount option for read-ahead. */
  readAheadCommand: string;
  tuning: NfsTuning;
  /** /etc/sysctl.d content for each client, or null when Linux's defaults suffice. */
  clientSysctl: string | null;
  /** /etc/modprobe.d content for each client (applies when the nfs module loads), or null. */
  clientModprobe: string | null;
  /** /etc/sysctl.d content for the server, or null. */
  serverSysctl: string | null;
  /** The server's /etc/exports line, one client specification per client address. */
  exportsLine: string;
  /** `nft -f` ruleset for the server. */
  nftables: string;
  /** What protects this hop in motion, and the files the hosts need for it. */
  security: HopSecurity;
}

/** Kerberos for a hop: the realm (the id-mapping domain in capitals), the principals and their keytab. */
export interface HopKerberos {
  realm: string;
  /** The NFS server's service principal, in its /etc/krb5.keytab. */
  serverPrincipal: string;
  /** One per client host, each in that host's /etc/krb5.keytab (rpc.gssd uses it for machine credentials). */
  clientPrincipals: string[];
  keytab: string;
  /** The encryption type the principals' keys must have: AES-256 (RFC 8009). */
  enctypes: string;
}

/** RPC-with-TLS for a hop: where each host keeps its certificate, key and the CA, and tlshd's sections. */
export interface HopTls {
  directory: string;
  caFile: string;
  clientCertificateFile: string;
  clientKeyFile: string;
  serverCertificateFile: string;
  serverKeyFile: string;
  /** The [authenticate.client] section of /etc/tlshd.conf on each client. */
  tlshdClientConf: string;
  /** The [authenticate.server] section of /etc/tlshd.conf on the server. */
  tlshdServerConf: string;
}

export interface HopSecurity {
  /** The RPC security flavour: `sys` or `krb5p`. */
  sec: 'sys' | 'krb5p';
  /** The RPC transport's security: `none` or `mtls`. */
  xprtsec: 'none' | 'mtls';
  kerberos: HopKerberos | null;
  tls: HopTls | null;
}

/** The GPU nodes' hop, plus the mount-wide parts, plus the DC node's own hop over the lightpath. */
export interface MountSpec extends NfsHop {
  mountId: string;
  design: StorageDesign;
  protocol: NfsProtocol;
  idmapDomain: string;
  /** /etc/idmapd.conf section for the clients and the server. */
  idmapdConf: string;
  namespace: string;
  persistentVolumeName: string;
  persistentVolumeClaimName: string;
  persistentVolumeYaml: string;
  persistentVolumeClaimYaml: string;
  /** REPLICATION and CACHE: the DC node mounting the office export over the lightpath. Null for DIRECT. */
  upstream: NfsHop | null;
  /** The profile the hops render. */
  protection: MountProtectionInput & {
    /** The lightpath's transponders encrypt the optical payload (nothing to render on the hosts). */
    linkEncryption: boolean;
    /** REPLICATION and CACHE: how the DC node keeps the copy, or null for DIRECT. */
    dataAtRest: string | null;
  };
}

/** A refused input; `field` names it (e.g. `nodes[2].address`). */
export class MountSpecError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'MountSpecError';
  }
}

/** A DC hall: a few switch hops and the hosts' stacks, at the GPU nodes' line rate. */
export const DATA_CENTER_LAN: PathCharacteristics = { rateGbps: 100, rttMs: 0.1 };
export const NFS_TCP_PORT = 2049;
/** IANA's port for NFS over RDMA (RFC 8267). */
export const NFS_RDMA_PORT = 20049;
/** RoCEv2 carries all RDMA traffic, including NFS over RDMA's connection setup, to this UDP port. */
export const ROCE_V2_UDP_PORT = 4791;
const READ_ONLY_ATTRIBUTE_CACHE_S = 600;
const CSI_DRIVER = 'nfs.csi.k8s.io';
const ANNOTATION_PREFIX = 'apn-orchestrator';

/** Where the GPU nodes mount a dataset unless told otherwise: /mnt/apn/<dataset name as a DNS label>. */
export function mountPointOf(datasetName: string): string {
  return `/mnt/apn/${dnsLabel('', datasetName)}`;
}

/** Renders everything a mount needs. Throws MountSpecError for an input it cannot render safely. */
export function renderMountSpec(input: MountSpecInput): MountSpec {
  validate(input);
  const { mountId, design, protocol, dataset, dataCenterNode: dcNode, office, lightpath } = input;
  const readOnly = dataset.readOnly ?? false;
  const datasetLabel = dnsLabel('', dataset.name);
  const mountPoint = input.mountPoint ?? `/mnt/apn/${datasetLabel}`;
  const protection = input.protection ?? { inMotion: ['NONE'], atRest: 'NONE' };
  const security = { inMotion: protection.inMotion, realm: input.idmapDomain.toUpperCase(), domain: input.idmapDomain };

  const gpuNodesHop = renderHop({
    mountId,
    protocol,
    security,
    tlsDirectory: `/etc/apn/tls/${mountId}`,
    readOnly,
    clients: input.nodes,
    mountPoint,
    ...(dcNode
      ? {
          network: 'DATA_CENTER_LAN',
          path: dcNode.lan ?? DATA_CENTER_LAN,
          server: dcNode.address,
          serverName: dcNode.name,
          exportPath: dcNode.exportPath,
          serverInterface: dcNode.interface,
          // nfsd has no filesystem id of its own for a re-exported NFS mount (nfs/reexport.rst).
          exportFsid: design === 'CACHE' ? uuidFrom(`${mountId}:cache-export`) : undefined,
        }
      : {
          network: 'LIGHTPATH',
          path: lightpath,
          server: office.host,
          exportPath: office.exportPath,
          serverInterface: office.interface,
        }),
  });

  const upstream = dcNode
    ? renderHop({
        mountId,
        protocol,
        security,
        tlsDirectory: `/etc/apn/tls/${mountId}/upstream`,
        network: 'LIGHTPATH',
        path: lightpath,
        server: office.host,
        exportPath: office.exportPath,
        serverInterface: office.interface,
        clients: [{ name: dcNode.name, address: dcNode.address }],
        // The cache mounts where it re-exports; the replica only copies, so it reads.
        mountPoint: design === 'CACHE' ? dcNode.exportPath : `/mnt/apn/upstream/${datasetLabel}`,
        readOnly: design === 'REPLICATION' || readOnly,
        fsCache: design === 'CACHE',
      })
    : null;

  const namespace = input.namespace ?? 'default';
  const name = dnsLabel('apn-mount', mountId);
  const kubernetes = renderKubernetes({ mountId, design, dataset, readOnly, namespace, name, hop: gpuNodesHop });

  return {
    ...gpuNodesHop,
    mountId,
    design,
    protocol,
    idmapDomain: input.idmapDomain,
    idmapdConf: `[General]\nDomain = ${input.idmapDomain}\n`,
    namespace,
    persistentVolumeName: name,
    persistentVolumeClaimName: name,
    ...kubernetes,
    upstream,
    protection: {
      ...protection,
      linkEncryption: protection.inMotion.includes('LINK_ENCRYPTION'),
      dataAtRest:
        design === 'DIRECT'
          ? null
          : protection.atRest === 'ENCRYPTED'
            ? `${dcNode!.name} keeps the copy on a volume encrypted with the mount's own AES-256 data key (XTS), which the storage driver hands to the node and which is wrapped by the key-encryption key everywhere else; purging the copy destroys the key (crypto-erase).`
            : `${dcNode!.name} keeps the copy unencrypted.`,
    },
  };
}

interface HopRequest {
  mountId: string;
  protocol: NfsProtocol;
  security: { inMotion: string[]; realm: string; domain: string };
  tlsDirectory: string;
  /** The server's host name for its Kerberos principal, when `server` is an address. */
  serverName?: string;
  network: HopNetwork;
  path: PathCharacteristics;
  server: string;
  exportPath: string;
  serverInterface?: string;
  clients: NfsClientNode[];
  mountPoint: string;
  readOnly: boolean;
  exportFsid?: string;
  fsCache?: boolean;
}

function renderHop(hop: HopRequest): NfsHop {
  const tuning = tuneNfs(hop.path, hop.protocol);
  const security = hopSecurity(hop);
  const tcp = hop.protocol === 'NFS_TCP';
  const port = tcp ? NFS_TCP_PORT : NFS_RDMA_PORT;
  const options = [
    'vers=4.2',
    `proto=${tcp ? 'tcp' : 'rdma'}`,
    `port=${port}`,
    ...(tcp ? [`nconnect=${tuning.connections}`] : []),
    `rsize=${tuning.rsize}`,
    `wsize=${tuning.wsize}`,
    'hard',
    'timeo=600',
    'retrans=2',
    `sec=${security.sec}`,
    ...(security.xprtsec === 'mtls' ? ['xprtsec=mtls'] : []),
    ...(hop.readOnly ? ['ro', 'nocto', `actimeo=${READ_ONLY_ATTRIBUTE_CACHE_S}`] : ['rw']),
    ...(hop.fsCache ? ['fsc'] : []),
  ];
  const optionString = options.join(',');
  const serverForMount = isIP(hop.server) === 6 ? `[${hop.server}]` : hop.server;
  const exportOptions = [
    hop.readOnly ? 'ro' : 'rw',
    'sync',
    `sec=${security.sec}`,
    ...(security.xprtsec === 'mtls' ? ['xprtsec=mtls'] : []),
    'no_subtree_check',
    'root_squash',
    ...(hop.exportFsid ? [`fsid=${hop.exportFsid}`] : []),
  ].join(',');

  return {
    network: hop.network,
    server: hop.server,
    exportPath: hop.exportPath,
    mountPoint: hop.mountPoint,
    port,
    options,
    optionString,
    command: `mount -t nfs4 -o ${optionString} ${serverForMount}:${hop.exportPath} ${hop.mountPoint}`,
    readAheadCommand: `echo ${tuning.readAheadKb} > /sys/class/bdi/$(mountpoint -d ${hop.mountPoint})/read_ahead_kb`,
    tuning,
    ...hostSettings(tuning),
    exportsLine: `${hop.exportPath}  ${hop.clients.map((c) => `${c.address}(${exportOptions})`).join(' ')}`,
    nftables: renderNfsFirewall([{ mountId: hop.mountId, protocol: hop.protocol, clients: hop.clients }], hop.serverInterface),
    security,
  };
}

/** The Kerberos principals and TLS files a hop's profile needs (RFC 7861 krb5p; RFC 9289 mutual TLS). */
function hopSecurity(hop: HopRequest): HopSecurity {
  const krb5p = hop.security.inMotion.includes('NFS_KRB5P');
  const tls = hop.security.inMotion.includes('NFS_TLS');
  const { realm, domain } = hop.security;
  // Kerberos names hosts by their DNS names, in lower case; a bare host name is taken to be in the mount's domain.
  const fqdn = (name: string) => (isIP(name) !== 0 || name.includes('.') ? name : `${name}.${domain}`).toLowerCase();
  const dir = hop.tlsDirectory;
  return {
    sec: krb5p ? 'krb5p' : 'sys',
    xprtsec: tls ? 'mtls' : 'none',
    kerberos: krb5p
      ? {
          realm,
          serverPrincipal: `nfs/${fqdn(hop.serverName ?? hop.server)}@${realm}`,
          clientPrincipals: hop.clients.map((c) => `nfs/${fqdn(c.name)}@${realm}`),
          keytab: '/etc/krb5.keytab',
          enctypes: 'aes256-cts-hmac-sha384-192',
        }
      : null,
    tls: tls
      ? {
          directory: dir,
          caFile: `${dir}/ca.pem`,
          clientCertificateFile: `${dir}/client.pem`,
          clientKeyFile: `${dir}/client.key`,
          serverCertificateFile: `${dir}/server.pem`,
          serverKeyFile: `${dir}/server.key`,
          tlshdClientConf: [
            '[authenticate.client]',
            `x509.truststore= ${dir}/ca.pem`,
            `x509.certificate= ${dir}/client.pem`,
            `x509.private_key= ${dir}/client.key`,
            '',
          ].join('\n'),
          tlshdServerConf: [
            '[authenticate.server]',
            `x509.truststore= ${dir}/ca.pem`,
            `x509.certificate= ${dir}/server.pem`,
            `x509.private_key= ${dir}/server.key`,
            '',
          ].join('\n'),
        }
      : null,
  };
}

/** The host settings a tuning relies on beyond Linux's defaults; null where the defaults suffice. */
function hostSettings(t: NfsTuning): Pick<NfsHop, 'clientSysctl' | 'clientModprobe' | 'serverSysctl'> {
  const heading = (purpose: string) => `# ${purpose} for NFS over a path holding ${megabytes(t.bdpBytes)} (apn-orchestrator)`;
  const file = (purpose: string, lines: string[]) => (lines.length === 0 ? null : [heading(purpose), ...lines, ''].join('\n'));
  const tcpBuffers =
    t.tcpBufferBytes !== null && t.tcpBufferBytes > LINUX_TCP_BUFFER_MAX
      ? [
          `net.core.rmem_max = ${t.tcpBufferBytes}`,
          `net.core.wmem_max = ${t.tcpBufferBytes}`,
          `net.ipv4.tcp_rmem = 4096 131072 ${t.tcpBufferBytes}`,
          `net.ipv4.tcp_wmem = 4096 16384 ${t.tcpBufferBytes}`,
        ]
      : [];
  const credits = t.rdmaCredits ?? 0;
  const purpose = t.tcpBufferBytes !== null ? 'TCP buffer ceilings' : 'RPC-over-RDMA outstanding requests';
  return {
    clientSysctl: file(purpose, [
      ...tcpBuffers,
      ...(credits > LINUX_RDMA_CLIENT_SLOTS ? [`sunrpc.rdma_slot_table_entries = ${credits}`] : []),
    ]),
    clientModprobe: file('NFSv4.1 session slots, read when the nfs module loads (before the first mount),', [
      ...(t.sessionSlots > LINUX_SESSION_SLOTS ? [`options nfs max_session_slots=${t.sessionSlots}`] : []),
    ]),
    serverSysctl: file(purpose, [
      ...tcpBuffers,
      ...(credits > LINUX_RDMA_SERVER_CREDITS ? [`sunrpc.svc_rdma.max_requests = ${credits}`] : []),
    ]),
  };
}

/** Clients one mount admits on an NFS server. */
export interface NfsFirewallGrant {
  mountId: string;
  protocol: NfsProtocol;
  clients: NfsClientNode[];
}

const FIREWALL_TABLE = 'apn_nfs';

/**
 * The `nft -f` ruleset of one NFS server: each grant's clients may reach its protocol's ports, and every
 * other packet to those ports is dropped. Loading it replaces the whole table, so a server serving
 * several mounts must be given all of their grants at once.
 *
 * NFS over RDMA: the rules admit TCP 20049 (iWARP) and UDP 4791 (RoCEv2, which carries the RDMA
 * connection setup to 20049 inside it). RDMA NICs move that traffic in hardware, past netfilter, so on
 * them these rules only bind software RDMA (rxe, siw); the same addresses belong in the switch ACL.
 */
export function renderNfsFirewall(grants: NfsFirewallGrant[], serverInterface?: string): string {
  grants.forEach((grant, i) => checkNodes(`grants[${i}].clients`, grant.clients));
  checkInterface('serverInterface', serverInterface);
  const on = serverInterface ? `iifname "${serverInterface}" ` : '';
  const sets: string[] = [];
  const accepts: string[] = [];
  const dropped = new Set<string>();
  const notes: string[] = [];
  for (const grant of grants) {
    const ports = firewallPorts(grant.protocol);
    const setName = `mount_${sha256(grant.mountId).slice(0, 12)}`;
    const clients = grant.clients.map((c) => `${c.name} ${c.address}`).join(', ');
    notes.push(`# mount ${grant.mountId} (${ports.join(', ')}): ${clients}`);
    for (const [family, type, match] of [
      [4, 'ipv4_addr', 'ip saddr'],
      [6, 'ipv6_addr', 'ip6 saddr'],
    ] as const) {
      const addresses = grant.clients.filter((c) => isIP(c.address) === family).map((c) => c.address);
      if (addresses.length === 0) continue;
      const set = `${setName}_v${family}`;
      sets.push(`\tset ${set} {\n\t\ttype ${type}\n\t\telements = { ${addresses.join(', ')} }\n\t}`);
      accepts.push(...ports.map((port) => `\t\t${on}${port} ${match} @${set} accept`));
    }
    ports.forEach((port) => dropped.add(port));
  }
  return [
    '#!/usr/sbin/nft -f',
    '# NFS access to this server: only the nodes of each mount reach its NFS ports (apn-orchestrator).',
    '# Loading this file replaces the table; it must list every mount the server serves.',
    ...notes,
    `table inet ${FIREWALL_TABLE}`,
    `delete table inet ${FIREWALL_TABLE}`,
    `table inet ${FIREWALL_TABLE} {`,
    ...sets,
    '\tchain input {',
    '\t\ttype filter hook input priority filter; policy accept;',
    ...accepts,
    ...[...dropped].map((port) => `\t\t${on}${port} drop`),
    '\t}',
    '}',
    '',
  ].join('\n');
}

function firewallPorts(protocol: NfsProtocol): string[] {
  return protocol === 'NFS_TCP' ? [`tcp dport ${NFS_TCP_PORT}`] : [`tcp dport ${NFS_RDMA_PORT}`, `udp dport ${ROCE_V2_UDP_PORT}`];
}

function renderKubernetes(k: {
  mountId: string;
  design: StorageDesign;
  dataset: MountSpecInput['dataset'];
  readOnly: boolean;
  namespace: string;
  name: string;
  hop: NfsHop;
}): Pick<MountSpec, 'persistentVolumeYaml' | 'persistentVolumeClaimYaml'> {
  const accessModes = [k.readOnly ? 'ReadOnlyMany' : 'ReadWriteMany'];
  const storage = normalizeBytes(k.dataset.bytes).toString();
  const persistentVolume = {
    apiVersion: 'v1',
    kind: 'PersistentVolume',
    metadata: {
      name: k.name,
      annotations: {
        [`${ANNOTATION_PREFIX}/mount-id`]: k.mountId,
        [`${ANNOTATION_PREFIX}/dataset-id`]: k.dataset.id,
        [`${ANNOTATION_PREFIX}/design`]: k.design,
        // Not a mount option: for the node agent that sets it on the mount's BDI.
        [`${ANNOTATION_PREFIX}/read-ahead-kb`]: String(k.hop.tuning.readAheadKb),
      },
    },
    spec: {
      capacity: { storage },
      accessModes,
      // The export is the office's data: deleting the claim must never delete it.
      persistentVolumeReclaimPolicy: 'Retain',
      // Empty: bound statically to the claim below, never provisioned by a class.
      storageClassName: '',
      claimRef: { namespace: k.namespace, name: k.name },
      mountOptions: k.hop.options,
      csi: {
        driver: CSI_DRIVER,
        volumeHandle: `apn-mount-${k.mountId}`,
        readOnly: k.readOnly,
        volumeAttributes: { server: k.hop.server, share: k.hop.exportPath },
      },
    },
  };
  const persistentVolumeClaim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: k.name, namespace: k.namespace },
    spec: {
      accessModes,
      storageClassName: '',
      volumeName: k.name,
      resources: { requests: { storage } },
    },
  };
  const yaml = (document: object) => dump(document, { lineWidth: -1, noRefs: true });
  return { persistentVolumeYaml: yaml(persistentVolume), persistentVolumeClaimYaml: yaml(persistentVolumeClaim) };
}

/**
 * A DNS-1123 label (lowercase alphanumerics and '-', at most 63 characters): `<prefix>-<value>`, or the
 * value alone for an empty prefix. When the value had to be changed or shortened to fit, a hash of it is
 * appended, so that distinct values keep distinct labels.
 */
export function dnsLabel(prefix: string, value: string): string {
  const slug = value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '');
  const label = [prefix, slug].filter(Boolean).join('-');
  if (slug === value && label.length <= 63) return label;
  const kept = label.slice(0, 54).replace(/-+$/, '');
  return [kept, sha256(value).slice(0, 8)].filter(Boolean).join('-');
}

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** A stable UUID-shaped identifier derived from `seed`. */
function uuidFrom(seed: string): string {
  const h = sha256(seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function normalizeBytes(bytes: bigint | string | number): bigint {
  if (typeof bytes === 'bigint') return bytes;
  if (typeof bytes === 'number' && Number.isSafeInteger(bytes)) return BigInt(bytes);
  if (typeof bytes === 'string' && /^\d+$/.test(bytes)) return BigInt(bytes);
  return -1n;
}

// Rendered into shell commands and configuration files: only characters that need no quoting anywhere.
const SAFE_PATH = /^\/(?:[A-Za-z0-9_+@=,-][A-Za-z0-9._+@=,-]*(?:\/|$))*$/;
const DNS_LABEL_ANY_CASE = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const DNS_NAME = new RegExp(`^(?=.{1,253}$)${DNS_LABEL_ANY_CASE}(\\.${DNS_LABEL_ANY_CASE})*$`);
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MOUNT_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const INTERFACE = /^[A-Za-z0-9_.-]{1,15}$/;
const PRINTABLE_NAME = /^[^\p{Cc}]{1,128}$/u;

function refuse(field: string, message: string): never {
  throw new MountSpecError(field, message);
}

function validate(input: MountSpecInput): void {
  if (!MOUNT_ID.test(input.mountId)) {
    refuse('mountId', `mountId "${input.mountId}" must be 1–128 letters, digits, '.', '_', ':' or '-'.`);
  }
  if (!['DIRECT', 'REPLICATION', 'CACHE'].includes(input.design)) {
    refuse('design', `Unknown design "${input.design}": use DIRECT, REPLICATION or CACHE.`);
  }
  if (!['NFS_TCP', 'NFS_RDMA'].includes(input.protocol)) {
    refuse('protocol', `Unknown protocol "${input.protocol}": use NFS_TCP or NFS_RDMA.`);
  }
  const inMotion = input.protection?.inMotion ?? [];
  if (inMotion.includes('NFS_TLS') && input.protocol === 'NFS_RDMA') {
    refuse('protection.inMotion', 'NFS_TLS cannot be rendered over NFS_RDMA: RPC-with-TLS (RFC 9289) is defined for TCP only.');
  }
  if (input.protection?.atRest === 'ENCRYPTED' && input.design === 'DIRECT') {
    refuse('protection.atRest', 'A DIRECT mount stores no copy to encrypt at rest.');
  }
  if (isIP(input.office.host) === 0 && !DNS_NAME.test(input.office.host)) {
    refuse('office.host', `office.host "${input.office.host}" is neither an IP address nor a DNS name.`);
  }
  checkPath('office.exportPath', input.office.exportPath);
  checkInterface('office.interface', input.office.interface);
  checkPathFigures('lightpath', input.lightpath);

  const dcNode = input.dataCenterNode;
  if (input.design === 'DIRECT' && dcNode) {
    refuse('dataCenterNode', 'A DIRECT mount reads the office export itself: leave dataCenterNode out.');
  }
  if (input.design !== 'DIRECT' && !dcNode) {
    refuse('dataCenterNode', `A ${input.design} mount needs the data center node that serves the dataset.`);
  }
  if (dcNode) {
    checkNodes('dataCenterNode', [dcNode], () => 'dataCenterNode');
    checkPath('dataCenterNode.exportPath', dcNode.exportPath);
    checkInterface('dataCenterNode.interface', dcNode.interface);
    if (dcNode.lan) checkPathFigures('dataCenterNode.lan', dcNode.lan);
  }
  checkNodes('nodes', input.nodes);

  if (normalizeBytes(input.dataset.bytes) < 0n) {
    refuse('dataset.bytes', `dataset.bytes must be a whole number of bytes, got "${String(input.dataset.bytes)}".`);
  }
  if (!PRINTABLE_NAME.test(input.dataset.name)) {
    refuse('dataset.name', 'dataset.name must be 1–128 printable characters.');
  }
  if (!DNS_NAME.test(input.idmapDomain)) {
    refuse('idmapDomain', `idmapDomain "${input.idmapDomain}" is not a DNS domain.`);
  }
  if (input.namespace !== undefined && !DNS_LABEL.test(input.namespace)) {
    refuse('namespace', `namespace "${input.namespace}" is not a Kubernetes namespace name (a DNS-1123 label).`);
  }
  if (input.mountPoint !== undefined) checkPath('mountPoint', input.mountPoint);
}

/** At least one node; each with a printable name and its own IPv4 or IPv6 address. */
function checkNodes(field: string, nodes: NfsClientNode[], fieldOf = (i: number) => `${field}[${i}]`): void {
  if (nodes.length === 0) refuse(field, `${field} is empty: there is no node to export to.`);
  const seen = new Map<string, string>();
  nodes.forEach((node, i) => {
    const at = fieldOf(i);
    if (!PRINTABLE_NAME.test(node.name)) refuse(`${at}.name`, `Node ${i} needs a name of 1–128 printable characters.`);
    if (isIP(node.address) === 0) {
      const problem = `Node "${node.name}" has an invalid IP address "${node.address}"`;
      refuse(`${at}.address`, `${problem}; give one IPv4 or IPv6 address.`);
    }
    const other = seen.get(node.address);
    if (other !== undefined) {
      refuse(`${at}.address`, `Nodes "${other}" and "${node.name}" share the address ${node.address}.`);
    }
    seen.set(node.address, node.name);
  });
}

function checkPath(field: string, path: string): void {
  if (!SAFE_PATH.test(path)) {
    const allowed = 'letters, digits and . _ + @ = , -';
    refuse(field, `${field} "${path}" must be an absolute path of ${allowed} whose parts do not begin with ".".`);
  }
}

function checkInterface(field: string, name: string | undefined): void {
  if (name !== undefined && !INTERFACE.test(name)) refuse(field, `${field} "${name}" is not a network interface name.`);
}

function checkPathFigures(field: string, path: PathCharacteristics): void {
  const problem = pathProblem(path);
  if (problem) refuse(`${field}.${problem.field}`, `${field}.${problem.message}.`);
}
