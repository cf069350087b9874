import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

/** One spell of a mount in ATTACHED, until its next transition (null while it lasts). */
export interface AttachedSpellRow {
  mount_id: string;
  tenant_id: string;
  design: string;
  at: Date;
  next_at: Date | null;
}

/** A replica or cache copy: bytes held (never more than the dataset) from `since` until purged. */
export interface HeldCopyRow {
  mount_id: string;
  tenant_id: string;
  kind: string;
  since: Date;
  purged_at: Date | null;
  bytes: string;
  site: string;
}

/** One GPU node held by an allocation over [lower, upper), with its rated power and its site's figures. */
export interface HeldGpuNodeRow {
  allocation_id: string;
  tenant_id: string;
  node: string;
  lower: Date;
  upper: Date;
  kw: number;
  pue: number;
  carbon: number;
  site: string;
}

/** Reads of mounts, copies and GPU allocations that other capabilities (metering) build on, inside their own transaction. */
@Injectable()
export class StorageRepository {
  /** ATTACHED spells overlapping [from, to). */
  attachedSpells(m: EntityManager, from: string, to: string): Promise<AttachedSpellRow[]> {
    return m.query(
      `SELECT x.mount_id, mo.tenant_id, mo.design, x.at, x.next_at
         FROM (SELECT t.mount_id, t.to_state, t.at, lead(t.at) OVER (PARTITION BY t.mount_id ORDER BY t.at, t.id) AS next_at
                 FROM mount_transitions t) x
         JOIN mounts mo ON mo.id = x.mount_id
        WHERE x.to_state = 'ATTACHED' AND x.at < $2 AND (x.next_at IS NULL OR x.next_at > $1)`,
      [from, to],
    );
  }

  /** Replica and cache copies held at some time in [from, to). */
  heldCopies(m: EntityManager, from: string, to: string): Promise<HeldCopyRow[]> {
    return m.query(
      `SELECT c.mount_id, mo.tenant_id, c.kind, c.since, c.purged_at,
              least(coalesce(c.bytes_held, mo.bytes_copied), d.bytes)::text AS bytes, s.code AS site
         FROM dataset_custody c
         JOIN mounts mo ON mo.id = c.mount_id
         JOIN datasets d ON d.id = c.dataset_id
         JOIN storage_systems ss ON ss.id = c.storage_system_id JOIN sites s ON s.id = ss.site_id
        WHERE c.kind IN ('REPLICA', 'CACHE') AND c.since < $2 AND (c.purged_at IS NULL OR c.purged_at > $1)`,
      [from, to],
    );
  }

  /** GPU nodes held by allocations at some time in [from, to). */
  heldGpuNodes(m: EntityManager, from: string, to: string): Promise<HeldGpuNodeRow[]> {
    return m.query(
      `SELECT a.id AS allocation_id, a.tenant_id, g.name AS node, lower(n.during) AS lower, upper(n.during) AS upper,
              g.rated_power_kw AS kw, s.pue, s.grid_carbon_kg_per_kwh AS carbon, s.code AS site
         FROM gpu_node_allocations n
         JOIN gpu_allocations a ON a.id = n.allocation_id
         JOIN gpu_nodes g ON g.id = n.node_id
         JOIN gpu_clusters c ON c.id = a.cluster_id JOIN sites s ON s.id = c.site_id
        WHERE n.during && tstzrange($1, $2, '[)')`,
      [from, to],
    );
  }
}
