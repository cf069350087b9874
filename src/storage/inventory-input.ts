import { isIP } from 'node:net';
import { requireNumberIn, requireText } from '../core/bounds';
import { badInput } from '../core/errors/app-error';
import { StorageKind } from './storage.entities';
import type { CreateDatasetInput, CreateGpuClusterInput, CreateStorageSystemInput } from './storage.models';

const CODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const EXPORT_PATH = /^\/[A-Za-z0-9._\-/]{0,1022}$/;
const NFS_VERSIONS = new Set(['3', '4.0', '4.1', '4.2']);
const DC_KINDS = new Set(['GREEN_DC', 'STANDARD_DC']);

/**
 * Bounds of the inventory's inputs (documented in the README): far beyond real equipment, tight enough that
 * nothing derived from them (energy, metering, specifications) can overflow or grow without limit.
 */
export const INVENTORY_BOUNDS = {
  nameLength: 200,
  hostLength: 253,
  /** Aggregate throughput of one NFS server: 10 Tbps. */
  maxThroughputGbps: 10_000,
  /** Nodes of one GPU cluster, and of one allocation. */
  maxClusterNodes: 1024,
  /** GPUs in one node. */
  maxGpusPerNode: 64,
  /** Rated power of one GPU node: a DGX B200 draws 14.3 kW; a whole rack stays under 200 kW. */
  maxNodePowerKw: 200,
} as const;

/** The site an inventory object is registered at, as the topology knows it. */
interface SiteOf {
  code: string;
  kind: string;
}

export function checkCode(code: string): void {
  if (!CODE.test(code)) throw badInput('input.code', 'input.code: use 1–63 letters, digits, ".", "_" or "-".');
}

/** A storage system's fields (but its code and name), checked against its site; answers its NFS versions and idmap domain. */
export function checkStorageSystemInput(input: CreateStorageSystemInput, site: SiteOf): { versions: string[]; idmapDomain: string } {
  const atOffice = site.kind === 'USER_OFFICE';
  if ((input.kind === StorageKind.OFFICE_NFS) !== atOffice) {
    throw badInput(
      'input.kind',
      `input.kind: an ${input.kind} belongs ${input.kind === StorageKind.OFFICE_NFS ? 'at a USER_OFFICE site' : 'at a data-center site'}, and site ${site.code} is ${site.kind}.`,
    );
  }
  if (!input.host.trim() || /\s/.test(input.host) || input.host.trim().length > INVENTORY_BOUNDS.hostLength) {
    throw badInput(
      'input.host',
      `input.host: give the IP address or DNS name clients mount (at most ${INVENTORY_BOUNDS.hostLength} characters).`,
    );
  }
  if (input.capacityBytes <= 0n) throw badInput('input.capacityBytes', 'input.capacityBytes must be positive.');
  requireNumberIn('input.throughputGbps', input.throughputGbps, {
    min: 0,
    exclusiveMin: true,
    max: INVENTORY_BOUNDS.maxThroughputGbps,
    unit: 'Gbps',
  });
  const versions = input.nfsVersions ?? ['4.2'];
  const unknown = versions.filter((v) => !NFS_VERSIONS.has(v));
  if (versions.length === 0 || unknown.length > 0) {
    throw badInput(
      'input.nfsVersions',
      `input.nfsVersions: use some of 3, 4.0, 4.1, 4.2${unknown.length ? `; ${unknown.join(', ')} is not one` : ''}.`,
    );
  }
  const idmapDomain = input.idmapDomain ?? 'localdomain';
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(idmapDomain))
    throw badInput('input.idmapDomain', 'input.idmapDomain: give a DNS domain, e.g. corp.example.co.jp.');
  return { versions: [...new Set(versions)], idmapDomain };
}

/** A dataset's fields, checked against the office server that exports it; answers its name. */
export function checkDatasetInput(input: CreateDatasetInput, system: { code: string; capacityBytes: string }): string {
  const name = requireText('input.name', input.name, INVENTORY_BOUNDS.nameLength);
  if (!EXPORT_PATH.test(input.exportPath) || input.exportPath.split('/').includes('..')) {
    throw badInput('input.exportPath', 'input.exportPath: give an absolute path without "..", e.g. /export/unet3d.');
  }
  if (input.bytes <= 0n) throw badInput('input.bytes', 'input.bytes must be positive.');
  if (input.fileCount <= 0n) throw badInput('input.fileCount', 'input.fileCount must be positive.');
  if (input.bytes > BigInt(system.capacityBytes)) {
    throw badInput('input.bytes', `input.bytes: ${input.bytes} bytes do not fit on ${system.code} (${system.capacityBytes} bytes).`);
  }
  return name;
}

/** A GPU cluster's site and nodes: at a data center, each node named and addressed once, within bounds. Answers its name. */
export function checkGpuClusterInput(input: CreateGpuClusterInput, site: SiteOf): string {
  if (!DC_KINDS.has(site.kind))
    throw badInput('input.siteId', `input.siteId: GPU clusters are at data centers; ${site.code} is ${site.kind}.`);
  const clusterName = requireText('input.name', input.name, INVENTORY_BOUNDS.nameLength, { optional: true });
  if (input.nodes.length === 0) throw badInput('input.nodes', 'input.nodes: give at least one node.');
  if (input.nodes.length > INVENTORY_BOUNDS.maxClusterNodes) {
    throw badInput(
      'input.nodes',
      `input.nodes: ${input.nodes.length} nodes; a cluster has at most ${INVENTORY_BOUNDS.maxClusterNodes}. Register a larger site as several clusters.`,
    );
  }
  const names = new Set<string>();
  const addresses = new Set<string>();
  input.nodes.forEach((n, i) => {
    requireText(`input.nodes[${i}].name`, n.name, INVENTORY_BOUNDS.nameLength);
    if (isIP(n.address) === 0)
      throw badInput(`input.nodes[${i}].address`, `input.nodes[${i}].address: ${n.address} is not an IPv4 or IPv6 address.`);
    requireNumberIn(`input.nodes[${i}].gpus`, n.gpus, { min: 1, max: INVENTORY_BOUNDS.maxGpusPerNode, integer: true });
    requireNumberIn(`input.nodes[${i}].ratedPowerKw`, n.ratedPowerKw, {
      min: 0,
      exclusiveMin: true,
      max: INVENTORY_BOUNDS.maxNodePowerKw,
      unit: 'kW',
    });
    if (names.has(n.name)) throw badInput(`input.nodes[${i}].name`, `input.nodes[${i}].name: ${n.name} appears twice.`);
    if (addresses.has(n.address)) throw badInput(`input.nodes[${i}].address`, `input.nodes[${i}].address: ${n.address} appears twice.`);
    names.add(n.name);
    addresses.add(n.address);
  });
  return clusterName || input.code;
}
