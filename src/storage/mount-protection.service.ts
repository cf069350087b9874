import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AuditService } from '../audit/audit.service';
import { AppError, ErrorCode, badInput } from '../core/errors/app-error';
import {
  AttestationClaim,
  AttestationPayload,
  AttestationSubjectKind,
  type SignedAttestation,
  attestationKeyProblem,
  isProblem,
  parseAttestation,
  signatureValid,
} from '../protection/attestation';
import {
  AtRestProtection,
  InMotionProtection,
  MeasureStanding,
  ProtectionProfile,
  normalizeInMotion,
  postQuantumStandings,
  profileProblem,
} from '../protection/profile';
import { AttestationEntity } from '../protection/protection.entities';
import { CertificateOrder, ProtectionService } from '../protection/protection.service';
import { SYSTEM_ACTOR, type Principal } from '../tenancy/principal';
import type { TopologySnapshot } from '../topology/topology.service';
import { CustodyRepository } from './custody.repository';
import { InventoryRepository } from './inventory.repository';
import { MountsRepository } from './mounts.repository';
import { CustodyKind, type DatasetCustodyEntity, type DatasetEntity, type MountEntity, type StorageSystemEntity } from './storage.entities';
import { StorageDesign } from '../vocabulary/domain';
import type { ProtectionInput } from './storage.models';

/** How far ahead of the service's clock an attestation's time may be: node clocks drift. */
const CLOCK_SKEW_MS = 5 * 60_000;

/** One place a dataset's bytes reached through a mount, and the valid attestation that it holds nothing now. */
export interface CustodyPlace {
  kind: AttestationSubjectKind;
  subjectId: string;
  name: string;
  attestedAt: Date | null;
}

export interface CustodyProof {
  places: CustodyPlace[];
  attestations: AttestationEntity[];
  /** Every place has a valid attestation after access ended (and a copy was purged). */
  proven: boolean;
}

/**
 * What data protection asks of mounts: the profile an attach gets (the request, else the tenant's default)
 * and whether it can protect this mount; the certificates an NFS_TLS mount needs; the attestations of
 * deletion after a detach, checked against the keys registered with the inventory; and the proof a custody
 * record needs to be clean. Every refusal is audited (protection.refused) and changes nothing else.
 */
@Injectable()
export class MountProtection {
  constructor(
    private readonly mounts: MountsRepository,
    private readonly inventory: InventoryRepository,
    private readonly custody: CustodyRepository,
    private readonly protection: ProtectionService,
    private readonly audit: AuditService,
  ) {}

  /** The profile the mount gets, or an audited refusal naming the field. */
  async profileFor(
    principal: Principal,
    input: ProtectionInput | null | undefined,
    context: {
      tenantId: string;
      design: StorageDesign;
      protocol: 'NFS_TCP' | 'NFS_RDMA';
      dataset: DatasetEntity;
      snapshot: TopologySnapshot;
      endpointIds: [string, string];
      window: { start: Date; end: Date };
    },
  ): Promise<ProtectionProfile> {
    const fallback = await this.protection.tenantDefault(context.tenantId);
    const inMotion = normalizeInMotion(input?.inMotion ?? fallback?.inMotion ?? []);
    // A tenant's default ENCRYPTED concerns copies; a DIRECT mount makes none, so it does not inherit it.
    const atRest =
      input?.atRest ?? (context.design === StorageDesign.DIRECT ? AtRestProtection.NONE : (fallback?.atRest ?? AtRestProtection.NONE));
    const profile: ProtectionProfile = { inMotion, atRest };
    const ends = context.endpointIds.map((id) => context.snapshot.endpoints.get(id));
    const plain = ends.filter((e) => !e?.encryption).map((e) => e?.code ?? 'an unknown endpoint');
    const problem = profileProblem(profile, {
      design: context.design,
      protocol: context.protocol,
      sensitivity: context.dataset.sensitivity,
      lightpath: { encrypts: plain.length === 0, plainEndpoints: plain },
      minimum: await this.protection.minimum(context.dataset.sensitivity),
    });
    const refused = (error: AppError) =>
      this.protection.refuse(principal.actor, 'attachStorage', error, {
        datasetId: context.dataset.id,
        design: context.design,
        inMotion,
        atRest,
      });
    if (problem) {
      await refused(
        problem.policy
          ? new AppError(ErrorCode.FORBIDDEN, problem.message, { field: problem.field, details: { policy: problem.policy } })
          : badInput(problem.field, problem.message),
      );
    }
    const windowSeconds = (context.window.end.getTime() - context.window.start.getTime()) / 1000;
    if (inMotion.includes(InMotionProtection.NFS_TLS) && windowSeconds > this.protection.certificateMaxLifetimeSeconds) {
      await refused(
        badInput(
          'input.protection.inMotion',
          `input.protection.inMotion: NFS_TLS certificates cover the GPU allocation's window, and ${windowSeconds} s is longer than the ${this.protection.certificateMaxLifetimeSeconds} s a certificate may live (APN_TLS_CERT_MAX_LIFETIME_S); allocate a shorter window or use NFS_KRB5P.`,
        ),
      );
    }
    return profile;
  }

  /**
   * RPC-with-TLS certificates for exactly the allocation's GPU nodes over exactly its window: a client
   * certificate per node and a server certificate for the NFS server they mount; for REPLICATION and CACHE
   * also the DC node's client certificate and the office server's, for the hop over the lightpath.
   */
  certificateOrders(
    window: { start: Date; end: Date },
    gpuNodes: Array<{ name: string; address: string }>,
    office: StorageSystemEntity,
    dataCenterNode: StorageSystemEntity | null,
  ): CertificateOrder[] {
    // X.509 times have whole seconds and notAfter is inclusive: round inwards, so the certificate is never
    // valid outside the half-open window [start, end).
    const at = {
      notBefore: new Date(Math.ceil(window.start.getTime() / 1000) * 1000),
      notAfter: new Date(Math.floor((window.end.getTime() - 1) / 1000) * 1000),
    };
    const gpuHop = dataCenterNode ? 'DATA_CENTER_LAN' : 'LIGHTPATH';
    const orders: CertificateOrder[] = gpuNodes.map((n) => ({
      role: 'CLIENT',
      hop: gpuHop,
      subjectName: n.name,
      address: n.address,
      ...at,
    }));
    const server = dataCenterNode ?? office;
    orders.push({ role: 'SERVER', hop: gpuHop, subjectName: server.code, address: server.host, ...at });
    if (dataCenterNode) {
      orders.push({ role: 'CLIENT', hop: 'LIGHTPATH', subjectName: dataCenterNode.code, address: dataCenterNode.host, ...at });
      orders.push({ role: 'SERVER', hop: 'LIGHTPATH', subjectName: office.code, address: office.host, ...at });
    }
    return orders;
  }

  /**
   * Checks one signed attestation and records it, valid or refused, with the audit entry, in the caller's
   * transaction. Returns the refusal (field and message), or null when it was accepted.
   */
  async accept(
    m: EntityManager,
    signed: SignedAttestation,
    via: string,
    actor = SYSTEM_ACTOR,
  ): Promise<{ field: string; message: string } | null> {
    const parsed = parseAttestation(signed.payload);
    if (isProblem(parsed)) {
      await this.auditRefusal(m, actor, null, parsed, via);
      return parsed;
    }
    const mount = await this.mounts.mount(parsed.mountId, m);
    if (!mount) {
      const problem = { field: 'input.payload.mountId', message: `input.payload.mountId: mount ${parsed.mountId} does not exist.` };
      await this.auditRefusal(m, actor, null, problem, via);
      return problem;
    }
    const problem = await this.problemOf(m, mount, parsed, signed);
    await this.custody.insertAttestation(m, {
      mountId: mount.id,
      subjectKind: parsed.subject.kind,
      subjectId: parsed.subject.id,
      claim: parsed.claim,
      payload: signed.payload,
      signature: signed.signature,
      attestedAt: new Date(parsed.at),
      receivedAt: new Date(),
      valid: problem === null,
      refusal: problem?.message ?? null,
      via,
    });
    if (problem) {
      await this.auditRefusal(m, actor, mount, problem, via, parsed);
      return problem;
    }
    await this.audit.append(m, {
      actor,
      action: 'attestation.accepted',
      entityType: 'mount',
      entityId: mount.id,
      data: { mountId: mount.id, datasetId: mount.datasetId, claim: parsed.claim, subject: parsed.subject, at: parsed.at, via },
    });
    return null;
  }

  /** submitAttestation: a node agent's attestation; a refusal is recorded, audited, and answered BAD_USER_INPUT naming the field. */
  async submit(principal: Principal, signed: SignedAttestation): Promise<AttestationEntity> {
    const problem = await this.mounts.transaction((m) => this.accept(m, signed, 'AGENT', principal.actor));
    if (problem) throw badInput(problem.field, problem.message);
    const parsed = parseAttestation(signed.payload) as AttestationPayload;
    const recorded = await this.custody.latestAttestation(parsed.mountId, parsed.subject.id, signed.payload);
    if (!recorded) throw new Error(`attestation of mount ${parsed.mountId} was not recorded`);
    return recorded;
  }

  /**
   * The places a custody record's bytes reached, the attestations received for it, and whether every
   * place has a valid attestation from after access ended: the GPU nodes always, the replica or cache
   * node when a copy was made (and purged).
   */
  async proofs(records: DatasetCustodyEntity[]): Promise<Map<string, CustodyProof>> {
    const out = new Map<string, CustodyProof>();
    if (records.length === 0) return out;
    const mountIds = records.map((r) => r.mountId);
    const attestations = await this.custody.attestationsOfMounts(mountIds);
    const nodes = await this.inventory.gpuNodesAt([...new Set(records.flatMap((r) => r.gpuNodeAddresses))]);
    const nodeByAddress = new Map(nodes.map((n) => [n.address, n]));
    const systems = new Map((await this.inventory.storageSystems(records.map((r) => r.storageSystemId))).map((s) => [s.id, s]));
    for (const record of records) {
      const mine = attestations.filter((a) => a.mountId === record.mountId);
      const latestValid = (subjectId: string) =>
        record.accessEndedAt
          ? (mine
              .filter((a) => a.valid && a.subjectId === subjectId && a.attestedAt >= record.accessEndedAt!)
              .map((a) => a.attestedAt)
              .pop() ?? null)
          : null;
      const places: CustodyPlace[] = record.gpuNodeAddresses.map((address) => {
        const node = nodeByAddress.get(address);
        return {
          kind: AttestationSubjectKind.GPU_NODE,
          subjectId: node?.id ?? address,
          name: node ? `${node.name} (${address})` : address,
          attestedAt: node ? latestValid(node.id) : null,
        };
      });
      const copy = record.kind !== CustodyKind.DIRECT_READ;
      if (copy) {
        const system = systems.get(record.storageSystemId);
        places.push({
          kind: AttestationSubjectKind.STORAGE_SYSTEM,
          subjectId: record.storageSystemId,
          name: system?.code ?? record.storageSystemId,
          attestedAt: latestValid(record.storageSystemId),
        });
      }
      const proven = record.accessEndedAt !== null && (!copy || record.purgedAt !== null) && places.every((p) => p.attestedAt !== null);
      out.set(record.mountId, { places, attestations: mine, proven });
    }
    return out;
  }

  /** The custody records of these mounts with their proofs (for the PoC report). */
  async proofsOfMounts(mountIds: string[]): Promise<Map<string, { record: DatasetCustodyEntity; proof: CustodyProof }>> {
    const records = await this.custody.ofMounts(mountIds);
    const proofs = await this.proofs(records);
    return new Map(records.map((r) => [r.mountId, { record: r, proof: proofs.get(r.mountId)! }]));
  }

  /** What each measure of the mount's profile stands on against a quantum adversary. */
  standings(mount: MountEntity): MeasureStanding[] {
    return postQuantumStandings(
      { inMotion: mount.protectionInMotion as InMotionProtection[], atRest: mount.protectionAtRest as AtRestProtection },
      mount.design,
      this.protection.hybridTls,
    );
  }

  /** Registers (or replaces) the Ed25519 key a storage system's or GPU node's agent signs with. */
  async registerKey(
    principal: Principal,
    input: { storageSystemId?: string | null; gpuNodeId?: string | null; publicKey: string },
  ): Promise<{ kind: AttestationSubjectKind; id: string; publicKey: string }> {
    const refuse = (error: AppError) =>
      this.protection.refuse(principal.actor, 'registerAttestationKey', error, {
        storageSystemId: input.storageSystemId ?? null,
        gpuNodeId: input.gpuNodeId ?? null,
      });
    if (Boolean(input.storageSystemId) === Boolean(input.gpuNodeId)) {
      await refuse(badInput('input.storageSystemId', 'Give exactly one of input.storageSystemId and input.gpuNodeId.'));
    }
    const kind = input.storageSystemId ? AttestationSubjectKind.STORAGE_SYSTEM : AttestationSubjectKind.GPU_NODE;
    const field = input.storageSystemId ? 'input.storageSystemId' : 'input.gpuNodeId';
    const id = (input.storageSystemId ?? input.gpuNodeId)!;
    const table = kind === AttestationSubjectKind.STORAGE_SYSTEM ? 'storage_systems' : 'gpu_nodes';
    if (!(await this.inventory.subjectExists(table, id))) await refuse(badInput(field, `${field}: ${id} does not exist.`));
    const checked = attestationKeyProblem(input.publicKey);
    if ('problem' in checked) await refuse(badInput('input.publicKey', `input.publicKey ${checked.problem}.`));
    const pem = (checked as { pem: string }).pem;
    await this.inventory.transaction(async (m) => {
      await this.inventory.setAttestationKey(m, table, id, pem);
      await this.audit.append(m, {
        actor: principal.actor,
        action: 'attestation-key.registered',
        entityType: kind === AttestationSubjectKind.STORAGE_SYSTEM ? 'storage_system' : 'gpu_node',
        entityId: id,
        data: { publicKey: pem },
      });
    });
    return { kind, id, publicKey: pem };
  }

  /** Checks a key given with an inventory registration; an audited refusal naming the field when it is not an Ed25519 public key. */
  async checkedKey(principal: Principal, operation: string, field: string, pem: string | null | undefined): Promise<string | null> {
    if (pem === null || pem === undefined) return null;
    const checked = attestationKeyProblem(pem);
    if ('problem' in checked) await this.protection.refuse(principal.actor, operation, badInput(field, `${field} ${checked.problem}.`));
    return (checked as { pem: string }).pem;
  }

  private async problemOf(
    m: EntityManager,
    mount: MountEntity,
    p: AttestationPayload,
    signed: SignedAttestation,
  ): Promise<{ field: string; message: string } | null> {
    if (p.datasetId !== mount.datasetId)
      return {
        field: 'input.payload.datasetId',
        message: `input.payload.datasetId: mount ${mount.id} carried dataset ${mount.datasetId}, not ${p.datasetId}.`,
      };
    const record = await this.custody.ofMount(mount.id, m);
    if (!record)
      return {
        field: 'input.payload.mountId',
        message: `input.payload.mountId: mount ${mount.id} never attached, so no bytes of it reached any node.`,
      };
    let publicKey: string | null = null;
    let subjectName = p.subject.id;
    if (p.subject.kind === AttestationSubjectKind.GPU_NODE) {
      const node = await this.inventory.gpuNode(p.subject.id, m);
      if (!node || !record.gpuNodeAddresses.includes(node.address)) {
        return {
          field: 'input.payload.subject',
          message: `input.payload.subject: GPU node ${node ? `${node.name} (${node.address})` : p.subject.id} is not one of the nodes mount ${mount.id} reached (${record.gpuNodeAddresses.join(', ')}).`,
        };
      }
      publicKey = node.attestationPublicKey;
      subjectName = node.name;
    } else {
      if (record.kind === CustodyKind.DIRECT_READ || p.subject.id !== record.storageSystemId) {
        return {
          field: 'input.payload.subject',
          message: `input.payload.subject: storage system ${p.subject.id} held no copy of mount ${mount.id}.`,
        };
      }
      const system = await this.inventory.storageSystem(p.subject.id, m);
      if (!system) throw new Error(`storage system ${p.subject.id} of mount ${mount.id} is missing`);
      publicKey = system.attestationPublicKey;
      subjectName = system.code;
    }
    if (!publicKey)
      return {
        field: 'input.payload.subject',
        message: `input.payload.subject: ${subjectName} has no attestation key registered; register it with registerAttestationKey.`,
      };
    if (!signatureValid(signed.payload, signed.signature, publicKey)) {
      return {
        field: 'input.signature',
        message: `input.signature does not verify under the Ed25519 key registered for ${subjectName}: the payload was not signed by that node's agent, or was changed.`,
      };
    }
    if (!record.accessEndedAt) {
      return {
        field: 'input.payload.at',
        message: `input.payload.at: mount ${mount.id} is still ${mount.state}; a node can attest deletion only after the mount is detached.`,
      };
    }
    const at = new Date(p.at);
    if (at < record.accessEndedAt) {
      return {
        field: 'input.payload.at',
        message: `input.payload.at: ${p.at} is before the mount's access ended (${record.accessEndedAt.toISOString()}); only what a node did after the detach proves the data is gone.`,
      };
    }
    if (at.getTime() > Date.now() + CLOCK_SKEW_MS)
      return { field: 'input.payload.at', message: `input.payload.at: ${p.at} is in the future; check the node's clock.` };
    if (p.claim === AttestationClaim.COPY_DESTROYED && record.encrypted) {
      const key = await this.protection.dataKeyRecord(mount.id, m);
      const evidence = p.evidence as { dataKeyDestroyed: boolean | null; dataKeyFingerprint: string | null };
      if (evidence.dataKeyDestroyed !== true || evidence.dataKeyFingerprint !== key?.keyFingerprint) {
        return {
          field: 'input.payload.evidence.dataKeyFingerprint',
          message:
            'input.payload.evidence: the copy was encrypted; the attestation must state that the node destroyed the copy’s data key, naming its fingerprint.',
        };
      }
    }
    return null;
  }

  private async auditRefusal(
    m: EntityManager,
    actor: string,
    mount: MountEntity | null,
    problem: { field: string; message: string },
    via: string,
    p?: AttestationPayload,
  ): Promise<void> {
    await this.audit.append(m, {
      actor,
      action: 'attestation.refused',
      entityType: 'mount',
      entityId: mount?.id ?? null,
      data: {
        mountId: mount?.id ?? null,
        field: problem.field,
        reason: problem.message,
        via,
        subject: p?.subject ?? null,
        claim: p?.claim ?? null,
        at: p?.at ?? null,
      },
    });
  }
}
