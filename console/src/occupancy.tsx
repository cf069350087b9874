import { useCallback, useEffect, useState } from 'react';
import { gql, subscribe } from './api';
import { Empty, ErrorText, Field, formatLocal, messageOf, Section, STATE_COLOURS, useQuery, utcTitle } from './ui';

interface Block {
  reservationId: string;
  tenantId: string;
  channel: number;
  frequencyThz: number;
  start: string;
  end: string;
  state: string;
}
interface Occupancy {
  link: { id: string; code: string; channelCount: number; lengthKm: number };
  from: string;
  to: string;
  blocks: Block[];
  truncated: boolean;
}

const OCCUPANCY = `query($linkId: ID!, $from: DateTime!, $to: DateTime!) { linkOccupancy(linkId: $linkId, from: $from, to: $to) {
  link { id code channelCount lengthKm } from to truncated
  blocks { reservationId tenantId channel frequencyThz start end state } } }`;

const SPANS = [
  { label: 'last hour to next 3 hours', before: 1, after: 3 },
  { label: 'now ± 15 minutes', before: 0.25, after: 0.25 },
  { label: 'today ± 12 hours', before: 12, after: 12 },
  { label: 'next 7 days', before: 1, after: 7 * 24 },
];

/** Channels against time for one link: every booking a block, coloured by state, tenant on hover. */
function SpectrumChart({ o, tenants, channels }: { o: Occupancy; tenants: Map<string, string>; channels: number }) {
  const from = Date.parse(o.from);
  const to = Date.parse(o.to);
  const width = 1000;
  const left = 70;
  const top = 10;
  const rowH = Math.max(4, Math.min(18, 400 / channels));
  const height = top + channels * rowH + 40;
  const x = (t: number) => left + ((Math.min(Math.max(t, from), to) - from) / (to - from)) * (width - left - 10);
  const y = (ch: number) => top + (channels - 1 - ch) * rowH;
  const ticks = Array.from({ length: 5 }, (_, i) => from + ((to - from) * i) / 4);
  const now = Date.now();
  const labelEvery = Math.ceil(channels / 16);
  return (
    <svg
      className="chart spectrum"
      viewBox={`0 0 ${width} ${height}`}
      role="img"
      aria-label={`Spectrum occupancy of ${o.link.code}: channels over time`}
    >
      {Array.from({ length: channels }, (_, ch) => (
        <g key={ch}>
          <rect x={left} y={y(ch)} width={width - left - 10} height={rowH - 1} className={ch % 2 ? 'lane odd' : 'lane'} />
          {ch % labelEvery === 0 ? (
            <text x={left - 6} y={y(ch) + rowH - 3} className="axis" textAnchor="end">
              ch {ch}
            </text>
          ) : null}
        </g>
      ))}
      {ticks.map((t) => (
        <g key={t}>
          <line x1={x(t)} x2={x(t)} y1={top} y2={top + channels * rowH} className="grid" />
          <text x={x(t)} y={top + channels * rowH + 16} className="axis" textAnchor="middle">
            {new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}
          </text>
        </g>
      ))}
      {now > from && now < to ? <line x1={x(now)} x2={x(now)} y1={top} y2={top + channels * rowH} className="now" /> : null}
      {o.blocks.map((b) => (
        <rect
          key={b.reservationId}
          data-reservation-id={b.reservationId}
          data-channel={b.channel}
          data-state={b.state}
          x={x(Date.parse(b.start))}
          y={y(b.channel) + 1}
          width={Math.max(3, x(Date.parse(b.end)) - x(Date.parse(b.start)))}
          height={rowH - 3}
          rx={2}
          fill={STATE_COLOURS[b.state] ?? '#999'}
          className="block"
        >
          <title>{`${tenants.get(b.tenantId) ?? b.tenantId} · ${b.state} · channel ${b.channel} (${b.frequencyThz.toFixed(2)} THz)\n${formatLocal(b.start)} – ${formatLocal(b.end)}\n${utcTitle(b.start)} – ${utcTitle(b.end)}`}</title>
        </rect>
      ))}
      <text x={left} y={height - 6} className="axis">
        time ({Intl.DateTimeFormat().resolvedOptions().timeZone}) →
      </text>
    </svg>
  );
}

/** The low channels up to a few above the highest in use: first-fit fills the grid from channel 0. */
function shownChannels(o: Occupancy): number {
  const highest = Math.max(-1, ...o.blocks.map((b) => b.channel));
  return Math.min(o.link.channelCount, Math.max(8, highest + 8));
}

function Legend() {
  return (
    <ul className="legend" aria-label="Legend">
      {Object.entries(STATE_COLOURS).map(([state, colour]) => (
        <li key={state}>
          <svg width="12" height="12" aria-hidden="true">
            <rect width="12" height="12" fill={colour} />
          </svg>{' '}
          {state}
        </li>
      ))}
    </ul>
  );
}

/** The link's occupancy over the chosen span, drawn again whenever a booking changes state anywhere. */
function useLinkOccupancy(linkId: string, span: number) {
  const [data, setData] = useState<Occupancy | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = useCallback(async () => {
    if (!linkId) return;
    const s = SPANS[span];
    const from = new Date(Date.now() - s.before * 3_600_000);
    const to = new Date(Date.now() + s.after * 3_600_000);
    try {
      setData(
        (await gql<{ linkOccupancy: Occupancy }>(OCCUPANCY, { linkId, from: from.toISOString(), to: to.toISOString() })).linkOccupancy,
      );
      setError(null);
    } catch (e) {
      setError(messageOf(e));
    }
  }, [linkId, span]);

  useEffect(() => {
    void load();
    // A booking changing state anywhere may change this link's picture.
    const stop = subscribe(
      'subscription { reservationUpdated { reservationId } }',
      {},
      () => void load(),
      (m) => setError(`Live updates stopped: ${m}`),
    );
    return stop;
  }, [load]);
  return { data, error };
}

export function OccupancyView() {
  const links = useQuery<{ links: Array<{ id: string; code: string; lengthKm: number; channelCount: number }> }>(
    '{ links { id code lengthKm channelCount } }',
  );
  const tenants = useQuery<{ tenants: Array<{ id: string; name: string }> }>('{ tenants { id name } }');
  const [linkId, setLinkId] = useState(() => new URLSearchParams(location.hash.split('?')[1] ?? '').get('link') ?? '');
  const [span, setSpan] = useState(0);
  const [allChannels, setAllChannels] = useState(false);

  useEffect(() => {
    if (!linkId && links.data?.links[0]) setLinkId(links.data.links[0].id);
  }, [links.data, linkId]);

  const { data, error } = useLinkOccupancy(linkId, span);

  const names = new Map((tenants.data?.tenants ?? []).map((t) => [t.id, t.name]));
  return (
    <Section title="Spectrum × time">
      <div className="row">
        <Field id="occ-link" label="Link">
          <select id="occ-link" value={linkId} onChange={(e) => setLinkId(e.target.value)}>
            {(links.data?.links ?? []).map((l) => (
              <option key={l.id} value={l.id}>
                {l.code} · {l.lengthKm} km · {l.channelCount} channels
              </option>
            ))}
          </select>
        </Field>
        <Field id="occ-span" label="Time span">
          <select id="occ-span" value={span} onChange={(e) => setSpan(Number(e.target.value))}>
            {SPANS.map((s, i) => (
              <option key={s.label} value={i}>
                {s.label}
              </option>
            ))}
          </select>
        </Field>
      </div>
      <ErrorText message={error ?? links.error} />
      {data ? (
        <>
          <label className="check">
            <input type="checkbox" checked={allChannels} onChange={(e) => setAllChannels(e.target.checked)} /> Show all{' '}
            {data.link.channelCount} channels
          </label>
          <div className="chart-scroll">
            <SpectrumChart o={data} tenants={names} channels={allChannels ? data.link.channelCount : shownChannels(data)} />
          </div>
          <Legend />
          {data.blocks.length === 0 ? (
            <Empty>No booking uses {data.link.code} in this span. Pick a wider span or another link.</Empty>
          ) : null}
          {data.truncated ? <p className="hint">Only the first bookings are drawn; narrow the span to see all.</p> : null}
        </>
      ) : null}
    </Section>
  );
}
