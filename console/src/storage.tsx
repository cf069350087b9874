import { useState, type FormEvent } from 'react';
import { ApiError, gql } from './api';
import { copyText, Empty, ErrorText, Field, messageOf, Section, StateBadge, Time, useQuery } from './ui';

interface Mount {
  id: string;
  state: string;
  design: string;
  protocol: string;
  reason: string | null;
  dataset: { id: string; name: string };
  reservation: { id: string; source: { code: string }; destination: { code: string } };
  progress: { percent: number; bytesCopied: string; bytesTotal: string; rateGbps: number; etaSeconds: number | null } | null;
  mountSpec: {
    command: string;
    exportsLine: string;
    idmapdConf: string;
    nftables: string;
    persistentVolumeYaml: string;
    persistentVolumeClaimYaml: string;
  };
}

const STORAGE = `{
  datasets(first: 100) { edges { node { id name bytes fileCount sensitivity exportPath storageSystem { code } } } }
  gpuAllocations(first: 100) { edges { node { id state start end cluster { code site { code } } } } }
  reservations(first: 100) { edges { node { id state source { code } destination { code } start end } } }
  mounts(first: 100) { edges { node { id state design protocol reason dataset { id name } reservation { id source { code } destination { code } }
    progress { percent bytesCopied bytesTotal rateGbps etaSeconds }
    mountSpec { command exportsLine idmapdConf nftables persistentVolumeYaml persistentVolumeClaimYaml } } } }
}`;

interface Page<T> {
  edges: Array<{ node: T }>;
}

interface StorageData {
  datasets: Page<{
    id: string;
    name: string;
    bytes: string;
    fileCount: string;
    sensitivity: string;
    exportPath: string;
    storageSystem: { code: string };
  }>;
  gpuAllocations: Page<{ id: string; state: string; start: string; end: string; cluster: { code: string; site: { code: string } } }>;
  reservations: Page<{ id: string; state: string; source: { code: string }; destination: { code: string }; start: string; end: string }>;
  mounts: Page<Mount>;
}

const nodesOf = <T,>(page: Page<T>): T[] => page.edges.map((e) => e.node);

const gib = (bytes: string) => `${(Number(bytes) / 2 ** 30).toFixed(1)} GiB`;

function Copyable({ label, text }: { label: string; text: string }) {
  const [done, setDone] = useState<string | null>(null);
  return (
    <div className="copyable">
      <div className="copy-head">
        <span>{label}</span>
        <button
          type="button"
          onClick={async () => setDone((await copyText(text)) ? 'Copied' : 'Select the text and copy it')}
          aria-label={`Copy ${label}`}
        >
          Copy
        </button>
        <span role="status">{done}</span>
      </div>
      <pre>{text}</pre>
    </div>
  );
}

function Custody({ datasetId }: { datasetId: string }) {
  const q = useQuery<{
    datasetCustody: {
      clean: boolean;
      bytesHeldOutsideOffice: string;
      records: Array<{
        kind: string;
        location: { code: string };
        since: string;
        purgedAt: string | null;
        clean: boolean;
        copyMade: boolean;
      }>;
    };
  }>(
    'query($id: ID!) { datasetCustody(datasetId: $id) { clean bytesHeldOutsideOffice records { kind location { code } since purgedAt clean copyMade } } }',
    { id: datasetId },
  );
  if (q.error) return <ErrorText message={q.error} />;
  if (!q.data) return <p className="loading">Loading custody…</p>;
  const c = q.data.datasetCustody;
  return (
    <div>
      <p className={c.clean ? 'ok' : 'warn'}>
        {c.clean
          ? 'No copy of this dataset remains outside the office.'
          : `${gib(c.bytesHeldOutsideOffice)} still held outside the office.`}
      </p>
      {c.records.length ? (
        <ul className="plain">
          {c.records.map((r, i) => (
            <li key={i}>
              {r.kind} at {r.location.code} since <Time at={r.since} compact /> —{' '}
              {r.purgedAt ? (
                <>
                  purged <Time at={r.purgedAt} compact />
                </>
              ) : r.copyMade ? (
                'copy held'
              ) : (
                'read directly'
              )}
            </li>
          ))}
        </ul>
      ) : (
        <Empty>The dataset has never left the office.</Empty>
      )}
    </div>
  );
}

/** The API's errors by the form field they name (`input.datasetId` → `datasetId`), the rest under `form`. */
function fieldErrors(err: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (err instanceof ApiError) for (const x of err.errors) out[(x.extensions?.field ?? 'form').replace(/^input\./, '')] = x.message;
  else out.form = messageOf(err);
  return out;
}

type Nodes<K extends keyof StorageData> = Array<StorageData[K]['edges'][number]['node']>;

interface AttachProps {
  datasets: Nodes<'datasets'>;
  gpuAllocations: Nodes<'gpuAllocations'>;
  lightpaths: Nodes<'reservations'>;
  onAttached: () => Promise<unknown>;
}

function AttachForm({ datasets, gpuAllocations, lightpaths, onAttached }: AttachProps) {
  const [form, setForm] = useState({ datasetId: '', gpuAllocationId: '', reservationId: '', design: 'DIRECT', protocol: 'NFS_TCP' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const d = { datasets, gpuAllocations };
  const pick = (k: keyof typeof form, list: Array<{ id: string }>) => form[k] || list[0]?.id || '';
  const attach = async (e: FormEvent) => {
    e.preventDefault();
    const input = {
      datasetId: pick('datasetId', d.datasets),
      gpuAllocationId: pick('gpuAllocationId', d.gpuAllocations),
      reservationId: pick('reservationId', lightpaths),
      design: form.design,
      protocol: form.protocol,
    };
    try {
      await gql('mutation($input: AttachStorageInput!) { attachStorage(input: $input) { id } }', { input });
      setErrors({});
      await onAttached();
    } catch (err) {
      setErrors(fieldErrors(err));
    }
  };
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  return (
    <form onSubmit={attach} aria-label="Attach a dataset">
      <div className="row">
        <Field id="att-dataset" label="Dataset" error={errors.datasetId}>
          <select id="att-dataset" value={pick('datasetId', d.datasets)} onChange={set('datasetId')}>
            {d.datasets.map((x) => (
              <option key={x.id} value={x.id}>
                {x.name} ({x.sensitivity}, {gib(x.bytes)})
              </option>
            ))}
          </select>
        </Field>
        <Field id="att-gpu" label="GPU allocation" error={errors.gpuAllocationId}>
          <select id="att-gpu" value={pick('gpuAllocationId', d.gpuAllocations)} onChange={set('gpuAllocationId')}>
            {d.gpuAllocations.map((x) => (
              <option key={x.id} value={x.id}>
                {x.cluster.code} at {x.cluster.site.code} ({x.state})
              </option>
            ))}
          </select>
        </Field>
        <Field id="att-lightpath" label="Lightpath" error={errors.reservationId}>
          <select id="att-lightpath" value={pick('reservationId', lightpaths)} onChange={set('reservationId')}>
            {lightpaths.map((x) => (
              <option key={x.id} value={x.id}>
                {x.source.code} → {x.destination.code} ({x.state})
              </option>
            ))}
          </select>
        </Field>
        <Field id="att-design" label="Design" error={errors.design}>
          <select id="att-design" value={form.design} onChange={set('design')}>
            <option value="DIRECT">DIRECT — read over the lightpath</option>
            <option value="REPLICATION">REPLICATION — copy to a DC replica first</option>
            <option value="CACHE">CACHE — a DC cache fronts the export</option>
          </select>
        </Field>
        <Field id="att-protocol" label="Protocol" error={errors.protocol}>
          <select id="att-protocol" value={form.protocol} onChange={set('protocol')}>
            <option value="NFS_TCP">NFSv4.2 over TCP</option>
            <option value="NFS_RDMA">NFS over RDMA</option>
          </select>
        </Field>
      </div>
      <button type="submit">Attach</button>
      <ErrorText message={errors.form} />
    </form>
  );
}

function MountArticle({ m, open, onToggle }: { m: Nodes<'mounts'>[number]; open: boolean; onToggle: () => void }) {
  return (
    <article className="mount">
      <h3>
        <StateBadge state={m.state} /> {m.dataset.name} · {m.design} · {m.protocol} · {m.reservation.source.code} →{' '}
        {m.reservation.destination.code}
      </h3>
      {m.reason ? <p className="muted">{m.reason}</p> : null}
      {m.progress ? (
        <div>
          <progress max={100} value={m.progress.percent} aria-label="Replication progress">
            {m.progress.percent}%
          </progress>{' '}
          {m.progress.percent.toFixed(0)}% · {gib(m.progress.bytesCopied)} of {gib(m.progress.bytesTotal)} at{' '}
          {m.progress.rateGbps.toFixed(1)} Gbps
          {m.progress.etaSeconds !== null ? `, about ${Math.ceil(m.progress.etaSeconds / 60)} min left` : ''}
        </div>
      ) : null}
      <button type="button" className="link" aria-expanded={open} onClick={onToggle}>
        {open ? 'Hide the mount specification' : 'Show the mount specification'}
      </button>
      {open ? (
        <div className="spec">
          <Copyable label="Mount command" text={m.mountSpec.command} />
          <Copyable label="/etc/exports line" text={m.mountSpec.exportsLine} />
          <Copyable label="idmapd.conf" text={m.mountSpec.idmapdConf} />
          <Copyable label="nftables rules" text={m.mountSpec.nftables} />
          <Copyable label="PersistentVolume" text={m.mountSpec.persistentVolumeYaml} />
          <Copyable label="PersistentVolumeClaim" text={m.mountSpec.persistentVolumeClaimYaml} />
        </div>
      ) : null}
    </article>
  );
}

function DatasetList({ datasets }: { datasets: Nodes<'datasets'> }) {
  const [custody, setCustody] = useState<string | null>(null);
  return (
    <ul className="plain">
      {datasets.map((x) => (
        <li key={x.id}>
          <strong>{x.name}</strong> {x.sensitivity} · {gib(x.bytes)} · {x.storageSystem.code}:{x.exportPath}{' '}
          <button
            type="button"
            className="link"
            aria-expanded={custody === x.id}
            onClick={() => setCustody(custody === x.id ? null : x.id)}
          >
            Custody
          </button>
          {custody === x.id ? <Custody datasetId={x.id} /> : null}
        </li>
      ))}
    </ul>
  );
}

export function StorageView() {
  const q = useQuery<StorageData>(STORAGE);
  const [open, setOpen] = useState<string | null>(null);
  if (q.error) return <ErrorText message={q.error} />;
  if (!q.data) return <p className="loading">Loading storage…</p>;
  const d = {
    datasets: nodesOf(q.data.datasets),
    gpuAllocations: nodesOf(q.data.gpuAllocations),
    mounts: nodesOf(q.data.mounts),
  };
  const lightpaths = nodesOf(q.data.reservations).filter((r) => ['RESERVED', 'PROVISIONING', 'ACTIVE'].includes(r.state));
  return (
    <div className="stack">
      <Section title="Attach a dataset">
        {d.datasets.length === 0 || d.gpuAllocations.length === 0 || lightpaths.length === 0 ? (
          <Empty>
            To attach storage you need a dataset (createDataset), GPU nodes (allocateGpus) and a booked lightpath (<a href="#book">Book</a>
            ). Missing now:{' '}
            {[
              d.datasets.length ? null : 'a dataset',
              d.gpuAllocations.length ? null : 'a GPU allocation',
              lightpaths.length ? null : 'a lightpath',
            ]
              .filter(Boolean)
              .join(', ')}
            .
          </Empty>
        ) : (
          <AttachForm datasets={d.datasets} gpuAllocations={d.gpuAllocations} lightpaths={lightpaths} onAttached={q.reload} />
        )}
      </Section>
      <Section title="Mounts">
        {d.mounts.length === 0 ? (
          <Empty>No mounts yet. Attach a dataset above; it mounts once its lightpath is ACTIVE.</Empty>
        ) : (
          d.mounts.map((m) => <MountArticle key={m.id} m={m} open={open === m.id} onToggle={() => setOpen(open === m.id ? null : m.id)} />)
        )}
      </Section>
      <Section title="Datasets and custody">
        {d.datasets.length === 0 ? (
          <Empty>No datasets yet. Register one with the createDataset mutation (an export of your office NFS server).</Empty>
        ) : (
          <DatasetList datasets={d.datasets} />
        )}
      </Section>
    </div>
  );
}
