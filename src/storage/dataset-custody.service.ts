import { Injectable } from '@nestjs/common';
import type { Principal } from '../tenancy/principal';
import { MountProtection } from './mount-protection.service';
import { MountsService } from './mounts.service';
import { StorageResources } from './storage-resources.service';
import { attestationModel, toDataset, toStorageSystem } from './storage.mappers';
import type { DatasetCustody } from './storage.models';

/** Where a dataset's bytes have been, each place with its proof of erasure. */
@Injectable()
export class DatasetCustodyReport {
  constructor(
    private readonly resources: StorageResources,
    private readonly mountsService: MountsService,
    private readonly mountProtection: MountProtection,
  ) {}

  async of(p: Principal, datasetId: string): Promise<DatasetCustody> {
    const { dataset, records, bytesHeldOutsideOffice } = await this.mountsService.custody(p, datasetId);
    const systems = new Map(
      (await this.resources.storageSystems([dataset.storageSystemId, ...records.map((r) => r.storageSystemId)])).map((s) => [
        s.id,
        toStorageSystem(s),
      ]),
    );
    const proofs = await this.mountProtection.proofs(records);
    const all = records.map((r) => {
      const copyMade = r.kind !== 'DIRECT_READ';
      const proof = proofs.get(r.mountId)!;
      return {
        kind: r.kind,
        mountId: r.mountId,
        location: systems.get(r.storageSystemId)!,
        gpuNodeAddresses: r.gpuNodeAddresses,
        since: r.since,
        copyMade,
        bytesPurged: r.purgedAt && copyMade ? BigInt(r.bytesHeld ?? '0') : null,
        purgedAt: r.purgedAt,
        accessEndedAt: r.accessEndedAt,
        encrypted: r.encrypted,
        keyDestroyedAt: r.keyDestroyedAt,
        places: proof.places,
        attestations: proof.attestations.map(attestationModel),
        clean: proof.proven && (!r.encrypted || r.keyDestroyedAt !== null),
      };
    });
    return {
      dataset: toDataset(dataset),
      origin: systems.get(dataset.storageSystemId)!,
      records: all,
      bytesHeldOutsideOffice,
      clean: bytesHeldOutsideOffice === 0n && all.every((r) => r.clean),
    };
  }
}
