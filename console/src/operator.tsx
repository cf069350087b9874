import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { gql } from './api';
import { Empty, ErrorText, Field, messageOf, Section, StateBadge, Time, useQuery } from './ui';

interface TopoLink {
  id: string;
  code: string;
  lengthKm: number;
  latencyMs: number;
  channelCount: number;
  a: { id: string; code: string };
  b: { id: string; code: string };
}
interface TopoNode {
  id: string;
  code: string;
  name: string;
  site: { code: string; kind: string } | null;
}

const TOPOLOGY = `{ nodes { id code name site { code kind } } links { id code lengthKm latencyMs channelCount a { id code } b { id code } }
  reservations(first: 100) { edges { node { id state start end path { id } } } } }`;

/**
 * Places nodes by a spring embedding (Fruchterman–Reingold): linked nodes attract, all nodes repel. Starting
 * from a circle in a fixed order, so the same topology is always drawn the same way.
 */
function springLayout(nodes: TopoNode[], links: TopoLink[]): Map<string, { x: number; y: number }> {
  const W = 1000;
  const H = 600;
  const n = nodes.length;
  const pos = nodes.map((_, i) => ({
    x: W / 2 + 300 * Math.cos((2 * Math.PI * i) / Math.max(1, n)),
    y: H / 2 + 200 * Math.sin((2 * Math.PI * i) / Math.max(1, n)),
  }));
  const index = new Map(nodes.map((node, i) => [node.id, i]));
  const k = Math.sqrt((W * H) / Math.max(1, n)) * 0.75;
  for (let step = 0, t = 80; step < 400; step++, t *= 0.99) {
    const d = pos.map(() => ({ x: 0, y: 0 }));
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) {
        const dx = pos[i].x - pos[j].x || 0.01;
        const dy = pos[i].y - pos[j].y || 0.01;
        const dist = Math.max(1, Math.hypot(dx, dy));
        const f = (k * k) / dist;
        d[i].x += (dx / dist) * f;
        d[i].y += (dy / dist) * f;
        d[j].x -= (dx / dist) * f;
        d[j].y -= (dy / dist) * f;
      }
    for (const l of links) {
      const i = index.get(l.a.id);
      const j = index.get(l.b.id);
      if (i === undefined || j === undefined) continue;
      const dx = pos[i].x - pos[j].x;
      const dy = pos[i].y - pos[j].y;
      const dist = Math.max(1, Math.hypot(dx, dy));
      const f = (dist * dist) / k;
      d[i].x -= (dx / dist) * f;
      d[i].y -= (dy / dist) * f;
      d[j].x += (dx / dist) * f;
      d[j].y += (dy / dist) * f;
    }
    pos.forEach((p, i) => {
      const len = Math.max(1, Math.hypot(d[i].x, d[i].y));
      p.x = Math.min(W - 60, Math.max(60, p.x + (d[i].x / len) * Math.min(len, t)));
      p.y = Math.min(H - 60, Math.max(40, p.y + (d[i].y / len) * Math.min(len, t)));
    });
  }
  return new Map(nodes.map((node, i) => [node.id, pos[i]]));
}

const BUSY = new Set(['HELD', 'RESERVED', 'PROVISIONING', 'ACTIVE', 'RELEASING']);

/** The links drawn between their nodes, each as wide and warm as the share of its channels in use now. */
function TopologyMap({
  links,
  nodes,
  layout,
  load,
}: {
  links: TopoLink[];
  nodes: TopoNode[];
  layout: Map<string, { x: number; y: number }>;
  load: Map<string, number>;
}) {
  return (
    <div className="chart-scroll">
      <svg className="chart topology" viewBox="0 0 1000 600" role="img" aria-label="Network topology">
        {links.map((l) => {
          const a = layout.get(l.a.id)!;
          const b = layout.get(l.b.id)!;
          const used = load.get(l.id) ?? 0;
          const share = used / l.channelCount;
          return (
            <g key={l.id}>
              <line
                x1={a.x}
                y1={a.y}
                x2={b.x}
                y2={b.y}
                className={`fiber${share > 0.75 ? ' hot' : share > 0 ? ' warm' : ''}`}
                strokeWidth={2 + 6 * share}
              >
                <title>{`${l.code}: ${l.lengthKm} km, ${l.latencyMs.toFixed(2)} ms, ${used}/${l.channelCount} channels in use now`}</title>
              </line>
              <a href={`#spectrum?link=${l.id}`} aria-label={`Spectrum of ${l.code}`}>
                <text x={(a.x + b.x) / 2} y={(a.y + b.y) / 2 - 4} className="link-label" textAnchor="middle">
                  {l.lengthKm} km · {used}/{l.channelCount}
                </text>
              </a>
            </g>
          );
        })}
        {nodes.map((n) => {
          const p = layout.get(n.id)!;
          return (
            <g key={n.id} transform={`translate(${p.x} ${p.y})`}>
              <circle r={16} className={`node ${n.site ? n.site.kind.toLowerCase() : 'roadm'}`}>
                <title>{`${n.name}${n.site ? ` · site ${n.site.code} (${n.site.kind})` : ' · ROADM'}`}</title>
              </circle>
              <text y={32} textAnchor="middle" className="node-label">
                {n.code}
              </text>
              {n.site ? (
                <text y={46} textAnchor="middle" className="axis">
                  {n.site.code}
                </text>
              ) : null}
            </g>
          );
        })}
      </svg>
    </div>
  );
}

function LinksTable({ links, load }: { links: TopoLink[]; load: Map<string, number> }) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Link</th>
            <th>Ends</th>
            <th>Length</th>
            <th>Latency</th>
            <th>In use now</th>
          </tr>
        </thead>
        <tbody>
          {links.map((l) => (
            <tr key={l.id}>
              <td>
                <a href={`#spectrum?link=${l.id}`}>{l.code}</a>
              </td>
              <td>
                {l.a.code} – {l.b.code}
              </td>
              <td>{l.lengthKm} km</td>
              <td>{l.latencyMs.toFixed(2)} ms</td>
              <td>
                {load.get(l.id) ?? 0} / {l.channelCount}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Sites, nodes and links, each link labelled with its length, latency and the channels in use now. */
export function TopologyView() {
  const q = useQuery<{
    nodes: TopoNode[];
    links: TopoLink[];
    reservations: { edges: Array<{ node: { id: string; state: string; start: string; end: string; path: Array<{ id: string }> } }> };
  }>(TOPOLOGY);
  useEffect(() => {
    const t = setInterval(() => void q.reload(), 10_000);
    return () => clearInterval(t);
  }, [q.reload]);
  const layout = useMemo(() => springLayout(q.data?.nodes ?? [], q.data?.links ?? []), [q.data?.nodes, q.data?.links]);
  if (q.error) return <ErrorText message={q.error} />;
  if (!q.data) return <p className="loading">Loading the topology…</p>;
  if (q.data.nodes.length === 0)
    return <Empty>No topology yet. Load one with the importTopology mutation (see docs/topology.md), then come back.</Empty>;
  const now = Date.now();
  const load = new Map<string, number>();
  for (const { node } of q.data.reservations.edges) {
    if (!BUSY.has(node.state) || Date.parse(node.start) > now || Date.parse(node.end) <= now) continue;
    for (const l of node.path) load.set(l.id, (load.get(l.id) ?? 0) + 1);
  }
  return (
    <div className="stack">
      <Section title="Topology">
        <TopologyMap links={q.data.links} nodes={q.data.nodes} layout={layout} load={load} />
        <p className="hint">
          Line width and colour show the share of a link’s channels in use now. Select a link label to see its spectrum over time.
        </p>
      </Section>
      <Section title="Links">
        <LinksTable links={q.data.links} load={load} />
      </Section>
    </div>
  );
}

function ActiveFaults({
  faults,
  names,
  onClear,
}: {
  faults: Array<{ kind: string; targetId: string; remaining: number | null }>;
  names: Map<string, string>;
  onClear: (kind: string, id: string) => Promise<void>;
}) {
  return faults.length ? (
    <ul className="plain">
      {faults.map((f) => (
        <li key={f.kind + f.targetId}>
          {f.kind} on {names.get(f.targetId) ?? f.targetId}
          {f.remaining !== null ? ` (${f.remaining} to fail)` : ''}{' '}
          <button type="button" onClick={() => onClear(f.kind, f.targetId)}>
            Clear
          </button>
        </li>
      ))}
    </ul>
  ) : (
    <Empty>No fault injected. Inject one to rehearse how lightpaths are rerouted or fail.</Empty>
  );
}

export function FaultsView() {
  const q = useQuery<{
    faults: Array<{ kind: string; targetId: string; remaining: number | null }>;
    links: Array<{ id: string; code: string }>;
    nodes: Array<{ id: string; code: string }>;
  }>('{ faults { kind targetId remaining } links { id code } nodes { id code } }');
  const [kind, setKind] = useState('LINK_DOWN');
  const [target, setTarget] = useState('');
  const [count, setCount] = useState(1);
  const [error, setError] = useState<string | null>(null);
  const names = new Map([...(q.data?.links ?? []), ...(q.data?.nodes ?? [])].map((x) => [x.id, x.code]));
  const targets = kind === 'LINK_DOWN' ? (q.data?.links ?? []) : (q.data?.nodes ?? []);
  const inject = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const input = kind === 'LINK_DOWN' ? { kind, linkId: target || targets[0]?.id } : { kind, nodeId: target || targets[0]?.id, count };
      await gql('mutation($input: InjectFaultInput!) { injectFault(input: $input) { kind } }', { input });
      setError(null);
      await q.reload();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  const clear = async (k: string, id: string) => {
    try {
      await gql('mutation($k: FaultKind!, $id: ID!) { clearFault(kind: $k, targetId: $id) }', { k, id });
      await q.reload();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <div className="grid">
      <Section title="Inject a fault">
        <form onSubmit={inject} aria-label="Inject a fault">
          <div className="row">
            <Field id="fault-kind" label="Kind">
              <select id="fault-kind" value={kind} onChange={(e) => (setKind(e.target.value), setTarget(''))}>
                <option value="LINK_DOWN">LINK_DOWN — a span is cut</option>
                <option value="NODE_FAILS">NODE_FAILS — a node fails operations</option>
              </select>
            </Field>
            <Field id="fault-target" label={kind === 'LINK_DOWN' ? 'Link' : 'Node'}>
              <select id="fault-target" value={target} onChange={(e) => setTarget(e.target.value)}>
                {targets.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.code}
                  </option>
                ))}
              </select>
            </Field>
            {kind === 'NODE_FAILS' ? (
              <Field id="fault-count" label="Operations to fail">
                <input id="fault-count" type="number" min={1} value={count} onChange={(e) => setCount(Number(e.target.value))} />
              </Field>
            ) : null}
          </div>
          <button type="submit" disabled={!q.data}>
            Inject
          </button>
          <ErrorText message={error ?? q.error} />
        </form>
      </Section>
      <Section title="Active faults">
        {/* Until the faults are read, "none injected" would be a guess: say that they are loading. */}
        {q.data ? <ActiveFaults faults={q.data.faults} names={names} onClear={clear} /> : <p className="loading">Loading faults…</p>}
      </Section>
    </div>
  );
}

interface ApiKeyRow {
  id: string;
  label: string | null;
  role: string;
  tenantId: string | null;
  createdAt: string;
  revokedAt: string | null;
}

function ApiKeysTable({
  keys,
  names,
  run,
}: {
  keys: ApiKeyRow[];
  names: Map<string, string>;
  run: (fn: () => Promise<unknown>) => Promise<void>;
}) {
  return keys.length ? (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Key</th>
            <th>Role</th>
            <th>Tenant</th>
            <th>Created</th>
            <th>Revoked</th>
          </tr>
        </thead>
        <tbody>
          {keys.map((k) => (
            <tr key={k.id}>
              <td>
                {k.label ?? '—'} <span className="muted">{k.id.slice(0, 8)}</span>
              </td>
              <td>{k.role}</td>
              <td>{k.tenantId ? (names.get(k.tenantId) ?? k.tenantId) : '—'}</td>
              <td>
                <Time at={k.createdAt} compact />
              </td>
              <td>
                {k.revokedAt ? (
                  <Time at={k.revokedAt} compact />
                ) : (
                  <button
                    type="button"
                    className="danger"
                    onClick={() => run(() => gql('mutation($id: ID!) { revokeApiKey(id: $id) { id } }', { id: k.id }))}
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  ) : (
    <Empty>No API keys yet. Create one for a tenant on the left.</Empty>
  );
}

function TenantList({
  tenants,
  run,
  onSecret,
}: {
  tenants: Array<{ id: string; name: string }> | undefined;
  run: (fn: () => Promise<unknown>) => Promise<void>;
  onSecret: (secret: string) => void;
}) {
  return !tenants ? (
    <p className="loading">Loading tenants…</p>
  ) : tenants.length ? (
    <ul className="plain">
      {tenants.map((t) => (
        <li key={t.id}>
          <strong>{t.name}</strong> <span className="muted">{t.id}</span>{' '}
          <button
            type="button"
            onClick={() =>
              run(async () => {
                const d = await gql<{ createApiKey: { secret: string } }>(
                  'mutation($t: ID!) { createApiKey(role: TENANT, tenantId: $t, label: "console") { secret } }',
                  { t: t.id },
                );
                onSecret(d.createApiKey.secret);
              })
            }
          >
            New key for {t.name}
          </button>
        </li>
      ))}
    </ul>
  ) : (
    <Empty>No tenants yet. Create one, then give it a key so it can book from its own console.</Empty>
  );
}

export function TenantsView() {
  const tenants = useQuery<{ tenants: Array<{ id: string; name: string; createdAt: string }> }>('{ tenants { id name createdAt } }');
  const keys = useQuery<{
    apiKeys: {
      edges: Array<{
        node: { id: string; label: string | null; role: string; tenantId: string | null; createdAt: string; revokedAt: string | null };
      }>;
    };
  }>('{ apiKeys(first: 100) { edges { node { id label role tenantId createdAt revokedAt } } } }');
  const [name, setName] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const run = async (fn: () => Promise<unknown>) => {
    try {
      await fn();
      setError(null);
      await Promise.all([tenants.reload(), keys.reload()]);
    } catch (e) {
      setError(messageOf(e));
    }
  };
  const names = new Map((tenants.data?.tenants ?? []).map((t) => [t.id, t.name]));
  return (
    <div className="grid">
      <Section title="Tenants">
        <form
          className="row"
          aria-label="Create a tenant"
          onSubmit={(e) => {
            e.preventDefault();
            void run(async () => {
              await gql('mutation($n: String!) { createTenant(name: $n) { id } }', { n: name });
              setName('');
            });
          }}
        >
          <Field id="tenant-name" label="New tenant name" error={error}>
            <input id="tenant-name" value={name} onChange={(e) => setName(e.target.value)} />
          </Field>
          <button type="submit">Create tenant</button>
        </form>
        {secret ? (
          <p className="secret" role="status">
            New key (shown once, copy it now): <code>{secret}</code>
          </p>
        ) : null}
        <TenantList tenants={tenants.data?.tenants} run={run} onSecret={setSecret} />
      </Section>
      <Section title="API keys">
        {keys.data ? (
          <ApiKeysTable keys={keys.data.apiKeys.edges.map((e) => e.node)} names={names} run={run} />
        ) : (
          <p className="loading">Loading keys…</p>
        )}
      </Section>
    </div>
  );
}

export function AuditView() {
  const [result, setResult] = useState<{
    ok: boolean;
    entries: number;
    pending: number;
    firstBrokenSeq: string | null;
    reason: string | null;
  } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const verify = async () => {
    setBusy(true);
    try {
      setResult(
        (await gql<{ verifyAuditLog: NonNullable<typeof result> }>('{ verifyAuditLog { ok entries pending firstBrokenSeq reason } }'))
          .verifyAuditLog,
      );
      setError(null);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title="Audit chain">
      <p>Every state change is appended to a hash-chained audit log. Verifying recomputes the whole chain.</p>
      <button type="button" onClick={verify} disabled={busy}>
        {busy ? 'Verifying…' : 'Verify the audit chain'}
      </button>
      <ErrorText message={error} />
      {result ? (
        <p className={result.ok ? 'ok' : 'error'} role="status" data-testid="audit-result">
          {result.ok ? `Intact: ${result.entries} entries chained` : `Broken at entry ${result.firstBrokenSeq}: ${result.reason}`}
          {result.pending ? `; ${result.pending} not yet chained` : ''}.
        </p>
      ) : null}
    </Section>
  );
}

export function WebhooksView() {
  const q = useQuery<{
    webhookDeliveries: {
      edges: Array<{
        node: {
          id: string;
          topic: string;
          eventId: string;
          attempts: number;
          lastStatus: number | null;
          lastError: string | null;
          createdAt: string;
          state: string;
        };
      }>;
    };
  }>(
    '{ webhookDeliveries(state: DEAD, first: 100) { edges { node { id topic eventId attempts lastStatus lastError createdAt state } } } }',
  );
  const dead = q.data?.webhookDeliveries.edges.map((e) => e.node) ?? [];
  const [error, setError] = useState<string | null>(null);
  const redrive = async (id: string) => {
    try {
      await gql('mutation($id: ID!) { redriveWebhookDelivery(id: $id) { id state } }', { id });
      setError(null);
      await q.reload();
    } catch (e) {
      setError(messageOf(e));
    }
  };
  return (
    <Section title="Webhook dead letters">
      <ErrorText message={error ?? q.error} />
      {dead.length ? (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Topic</th>
                <th>Event</th>
                <th>Attempts</th>
                <th>Last error</th>
                <th>Created</th>
                <th>
                  <span className="sr-only">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {dead.map((d) => (
                <tr key={d.id}>
                  <td>{d.topic}</td>
                  <td className="muted">{d.eventId.slice(0, 12)}</td>
                  <td>{d.attempts}</td>
                  <td>
                    {d.lastStatus ?? ''} {d.lastError ?? ''}
                  </td>
                  <td>
                    <Time at={d.createdAt} compact />
                  </td>
                  <td>
                    <button type="button" onClick={() => redrive(d.id)}>
                      Re-drive
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <Empty>No dead letters: every webhook delivery has succeeded or is still being retried.</Empty>
      )}
    </Section>
  );
}

export function QueuesView() {
  const q = useQuery<{ queueDepth: Array<{ queue: string; waiting: number; active: number; delayed: number; failed: number }> }>(
    '{ queueDepth { queue waiting active delayed failed } }',
  );
  useEffect(() => {
    const t = setInterval(() => void q.reload(), 5000);
    return () => clearInterval(t);
  }, [q.reload]);
  return (
    <Section title="Queue depth">
      <ErrorText message={q.error} />
      <div className="table-wrap">
        <table data-testid="queues">
          <thead>
            <tr>
              <th>Queue</th>
              <th>Waiting</th>
              <th>Running</th>
              <th>Scheduled</th>
              <th>Failed</th>
            </tr>
          </thead>
          <tbody>
            {(q.data?.queueDepth ?? []).map((d) => (
              <tr key={d.queue}>
                <td>{d.queue}</td>
                <td>{d.waiting}</td>
                <td>{d.active}</td>
                <td>{d.delayed}</td>
                <td>
                  {d.failed ? <StateBadge state="FAILED" /> : null} {d.failed}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="hint">Refreshed every 5 seconds. Scheduled jobs are setups and teardowns waiting for their window.</p>
    </Section>
  );
}
