import { useEffect, useMemo, useState } from 'react';
import { gql, subscribe, wsClient } from './api';
import type { Me } from './main';
import { Empty, ErrorText, messageOf, Section, StateBadge, STATE_COLOURS, Time, utcTitle, formatLocal } from './ui';

export const RESERVATION_FIELDS = `id state tenant { id } source { id code } destination { id code } rateGbps start end
  channel frequencyThz path { id code lengthKm latencyMs } distanceKm rttMs holdExpiresAt createdAt history { state at reason actor }`;

export interface Reservation {
  id: string;
  state: string;
  tenant: { id: string };
  source: { id: string; code: string };
  destination: { id: string; code: string };
  rateGbps: number;
  start: string;
  end: string;
  channel: number;
  frequencyThz: number;
  path: Array<{ id: string; code: string; lengthKm: number; latencyMs: number }>;
  distanceKm: number;
  rttMs: number;
  holdExpiresAt: string | null;
  createdAt: string;
  history: Array<{ state: string; at: string; reason: string; actor: string }>;
}

/** Without path and history, so that a page of 50 stays within the API's cost limit; details load on demand. */
const LIST_FIELDS = `id state tenant { id } source { id code } destination { id code } rateGbps start end channel frequencyThz distanceKm rttMs holdExpiresAt createdAt`;
const LIST = `query($after: String) { reservations(first: 50, after: $after) {
  edges { node { ${LIST_FIELDS} path { id code lengthKm latencyMs } } } pageInfo { hasNextPage endCursor } } }`;

interface Page {
  reservations: { edges: Array<{ node: Reservation }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

const rowsOf = (d: Page) => d.reservations.edges.map((e) => ({ ...e.node, history: e.node.history ?? [] }));
const ONE = `query($id: ID!) { reservation(id: $id) { ${RESERVATION_FIELDS} } }`;
const UPDATES = `subscription { reservationUpdated { reservationId state reservation { ${RESERVATION_FIELDS} } } }`;

/** The reservations the caller may see, kept current by the reservationUpdated subscription. */
function useLiveReservations() {
  const [rows, setRows] = useState<Reservation[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState(false);
  const [next, setNext] = useState<string | null>(null);
  useEffect(() => {
    let stopped = false;
    const load = () =>
      gql<Page>(LIST)
        .then((d) => {
          if (stopped) return;
          setRows(rowsOf(d));
          setNext(d.reservations.pageInfo.hasNextPage ? d.reservations.pageInfo.endCursor : null);
        })
        .catch((e) => !stopped && setError(messageOf(e)));
    void load();
    const unsubscribe = subscribe<{ reservationUpdated: { reservation: Reservation } }>(
      UPDATES,
      {},
      ({ reservationUpdated }) => {
        setLive(true);
        const r = reservationUpdated.reservation;
        setRows((old) => {
          const list = old ?? [];
          return list.some((x) => x.id === r.id) ? list.map((x) => (x.id === r.id ? r : x)) : [r, ...list];
        });
      },
      (message) => setError(`Live updates stopped: ${message}`),
    );
    // The subscription carries changes from now on; the list read right after it covers anything before.
    const offConnected = wsClient().on('connected', () => setLive(true));
    const timer = setTimeout(() => setLive(true), 1500);
    return () => {
      stopped = true;
      clearTimeout(timer);
      offConnected();
      unsubscribe();
    };
  }, []);
  /** The next 50, older than those shown (the list is newest first). */
  const more = async () => {
    if (!next) return;
    try {
      const d = await gql<Page>(LIST, { after: next });
      setRows((old) => [...(old ?? []), ...rowsOf(d).filter((r) => !(old ?? []).some((o) => o.id === r.id))]);
      setNext(d.reservations.pageInfo.hasNextPage ? d.reservations.pageInfo.endCursor : null);
    } catch (e) {
      setError(messageOf(e));
    }
  };
  return { rows, error, live, more: next ? more : null };
}

/** Bookings as bars over time, one row each, coloured by state, with a line at now. */
export function Timeline({
  rows,
  label,
  onSelect,
}: {
  rows: Reservation[];
  label: (r: Reservation) => string;
  onSelect?: (id: string) => void;
}) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  const shown = rows.slice(0, 40);
  if (shown.length === 0) return null;
  const from = Math.min(now, ...shown.map((r) => Date.parse(r.start)));
  const to = Math.max(now + 60_000, ...shown.map((r) => Date.parse(r.end)));
  const width = 1000;
  const rowH = 22;
  const left = 150;
  const x = (t: number) => left + ((t - from) / (to - from)) * (width - left - 10);
  return (
    <svg className="chart" viewBox={`0 0 ${width} ${shown.length * rowH + 30}`} role="img" aria-label="Timeline of lightpaths">
      {shown.map((r, i) => (
        <g key={r.id} transform={`translate(0 ${i * rowH})`} className="timeline-row" onClick={() => onSelect?.(r.id)}>
          <text x={4} y={15} className="axis">
            {label(r)}
          </text>
          <rect
            x={x(Date.parse(r.start))}
            y={4}
            width={Math.max(2, x(Date.parse(r.end)) - x(Date.parse(r.start)))}
            height={rowH - 8}
            rx={3}
            fill={STATE_COLOURS[r.state] ?? '#999'}
          >
            <title>{`${r.state}: ${formatLocal(r.start)} – ${formatLocal(r.end)} (${utcTitle(r.start)} – ${utcTitle(r.end)})`}</title>
          </rect>
        </g>
      ))}
      <line x1={x(now)} x2={x(now)} y1={0} y2={shown.length * rowH} className="now" />
      <text x={left} y={shown.length * rowH + 20} className="axis" data-utc={utcTitle(new Date(from))}>
        {formatLocal(new Date(from))}
      </text>
      <text x={width - 10} y={shown.length * rowH + 20} className="axis" textAnchor="end">
        {formatLocal(new Date(to))}
      </text>
    </svg>
  );
}

function Details({ summary }: { summary: Reservation }) {
  const [full, setFull] = useState<Reservation | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Read again whenever the live state changes, so the history is current.
  useEffect(() => {
    gql<{ reservation: Reservation }>(ONE, { id: summary.id })
      .then((d) => setFull(d.reservation))
      .catch((e) => setError(messageOf(e)));
  }, [summary.id, summary.state]);
  if (error) return <ErrorText message={error} />;
  const r = full ?? summary;
  return (
    <div className="details" data-testid="lightpath-details">
      <dl>
        <dt>Path</dt>
        <dd>{r.path.map((l) => `${l.code} (${l.lengthKm} km)`).join(' → ')}</dd>
        <dt>Channel</dt>
        <dd>
          {r.channel} · {r.frequencyThz.toFixed(2)} THz
        </dd>
        <dt>Distance</dt>
        <dd>{r.distanceKm.toFixed(0)} km</dd>
        <dt>RTT</dt>
        <dd>{r.rttMs.toFixed(2)} ms</dd>
        <dt>Window</dt>
        <dd>
          <Time at={r.start} /> – <Time at={r.end} />
        </dd>
      </dl>
      <h3>History</h3>
      <ol className="history">
        {r.history.map((h, i) => (
          <li key={i}>
            <Time at={h.at} /> <StateBadge state={h.state} /> {h.reason} <span className="muted">({h.actor})</span>
          </li>
        ))}
      </ol>
    </div>
  );
}

function LightpathTable({
  rows,
  operator,
  selected,
  onSelect,
}: {
  rows: Reservation[];
  operator: boolean;
  selected: string | null;
  onSelect: (id: string | null) => void;
}) {
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>State</th>
            <th>Route</th>
            {operator ? <th>Tenant</th> : null}
            <th>Channel</th>
            <th>Start</th>
            <th>End</th>
            <th>RTT</th>
            <th>
              <span className="sr-only">Details</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} data-reservation-id={r.id} data-state={r.state} className={selected === r.id ? 'selected' : undefined}>
              <td>
                <StateBadge state={r.state} />
              </td>
              <td>
                {r.source.code} → {r.destination.code}
              </td>
              {operator ? <td title={r.tenant.id}>{r.tenant.id.slice(0, 8)}</td> : null}
              <td>
                {r.channel} · {r.frequencyThz.toFixed(2)} THz
              </td>
              <td>
                <Time at={r.start} compact />
              </td>
              <td>
                <Time at={r.end} compact />
              </td>
              <td>{r.rttMs.toFixed(2)} ms</td>
              <td>
                <button
                  type="button"
                  className="link"
                  aria-expanded={selected === r.id}
                  onClick={() => onSelect(selected === r.id ? null : r.id)}
                >
                  {selected === r.id ? 'Hide' : 'Details'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function LightpathsView({ me }: { me: Me }) {
  const { rows, error, live, more } = useLiveReservations();
  const [selected, setSelected] = useState<string | null>(null);
  const sorted = useMemo(() => [...(rows ?? [])].sort((a, b) => Date.parse(b.start) - Date.parse(a.start)), [rows]);
  const operator = me.role === 'OPERATOR';
  const label = (r: Reservation) =>
    operator
      ? `${r.tenant.id.slice(0, 6)} ${r.source.code.split('-')[0]}→${r.destination.code.split('-')[0]}`
      : `${r.source.code.split('-')[0]} → ${r.destination.code.split('-')[0]} ch${r.channel}`;
  if (!rows) return error ? <ErrorText message={error} /> : <p className="loading">Loading lightpaths…</p>;
  return (
    <div className="stack">
      <Section
        title={operator ? 'All reservations' : 'My lightpaths'}
        actions={
          <span className={`live ${live ? 'on' : ''}`} data-testid="live" aria-live="polite">
            {live ? 'live' : 'connecting…'}
          </span>
        }
      >
        <ErrorText message={error} />
        {sorted.length === 0 ? (
          <Empty>
            {operator ? (
              'No reservations yet. Tenants book lightpaths from their own console.'
            ) : (
              <>
                No lightpaths yet. Go to <a href="#book">Book</a> to find a window and hold one.
              </>
            )}
          </Empty>
        ) : (
          <>
            <div className="chart-scroll">
              <Timeline rows={sorted} label={label} onSelect={setSelected} />
            </div>
            <LightpathTable rows={sorted} operator={operator} selected={selected} onSelect={setSelected} />
            {more ? (
              <button type="button" className="link" onClick={more}>
                Show older lightpaths
              </button>
            ) : null}
          </>
        )}
      </Section>
      {selected && rows.find((r) => r.id === selected) ? (
        <Section title="Lightpath">
          <Details summary={rows.find((r) => r.id === selected)!} />
        </Section>
      ) : null}
    </div>
  );
}
