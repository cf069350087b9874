import { useState, type FormEvent } from 'react';
import { ApiError, gql } from './api';
import type { Me } from './main';
import { Empty, ErrorText, Field, messageOf, Section, Time, useQuery } from './ui';

interface Estimate {
  label: string;
  kind: string;
  design: string;
  allowed: boolean;
  totalSeconds: number;
  energyKwh: number;
  co2Kg: number;
  costUsd: number;
  reasons: string[];
}

const COMPARE = `query($input: CompareScenariosInput!) { compareScenarios(input: $input) {
  scenarios { label kind design allowed totalSeconds energyKwh co2Kg costUsd reasons }
  recommended { label reasons } warnings } }`;

const METRICS: Array<{ key: keyof Estimate; title: string; unit: string; scale?: number }> = [
  { key: 'totalSeconds', title: 'Training time', unit: 'min', scale: 1 / 60 },
  { key: 'energyKwh', title: 'Energy', unit: 'kWh' },
  { key: 'co2Kg', title: 'CO₂', unit: 'kg' },
  { key: 'costUsd', title: 'Cost', unit: 'USD' },
];

/** One horizontal bar per scenario for one measure. */
function Bars({ rows, metric }: { rows: Estimate[]; metric: (typeof METRICS)[number] }) {
  const value = (r: Estimate) => Number(r[metric.key]) * (metric.scale ?? 1);
  const max = Math.max(...rows.map(value), 1e-9);
  const rowH = 22;
  return (
    <figure className="bars">
      <figcaption>
        {metric.title} ({metric.unit})
      </figcaption>
      <svg className="chart" viewBox={`0 0 400 ${rows.length * rowH}`} role="img" aria-label={`${metric.title} per scenario`}>
        {rows.map((r, i) => (
          <g key={r.label} transform={`translate(0 ${i * rowH})`}>
            <text x={0} y={15} className="axis">
              {r.label}
            </text>
            <rect
              x={110}
              y={4}
              height={rowH - 8}
              width={Math.max(1, (value(r) / max) * 220)}
              className={`bar ${r.kind.toLowerCase()}${r.allowed ? '' : ' refused'}`}
            >
              <title>{`${r.label}: ${value(r).toFixed(2)} ${metric.unit}${r.allowed ? '' : ' (not allowed: ' + r.reasons.join(' ') + ')'}`}</title>
            </rect>
            <text x={114 + Math.max(1, (value(r) / max) * 220)} y={15} className="axis">
              {value(r).toFixed(value(r) < 10 ? 2 : 0)}
            </text>
          </g>
        ))}
      </svg>
    </figure>
  );
}

function Scenarios() {
  const [tb, setTb] = useState('3.8');
  const [steps, setSteps] = useState('5000');
  const [epoch, setEpoch] = useState('357');
  const [result, setResult] = useState<{
    scenarios: Estimate[];
    recommended: { label: string; reasons: string[] } | null;
    warnings: string[];
  } | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const run = async (e: FormEvent) => {
    e.preventDefault();
    try {
      const input = {
        workload: { datasetBytes: String(Math.round(Number(tb) * 1e12)), steps: Number(steps), localEpochSeconds: Number(epoch) },
        scenarios: [
          { label: 'local', kind: 'LOCAL' },
          { label: 'APN 100 km', kind: 'APN', distanceKm: 100 },
          { label: 'APN 500 km', kind: 'APN', distanceKm: 500 },
          { label: 'APN 1000 km', kind: 'APN', distanceKm: 1000 },
          { label: 'Internet 1G', kind: 'INTERNET', bandwidthGbps: 1, rttMs: 20 },
        ],
      };
      setResult((await gql<{ compareScenarios: NonNullable<typeof result> }>(COMPARE, { input })).compareScenarios);
      setErrors({});
    } catch (err) {
      const out: Record<string, string> = {};
      if (err instanceof ApiError) for (const x of err.errors) out[(x.extensions?.field ?? 'form').split('.').pop() ?? 'form'] = x.message;
      else out.form = messageOf(err);
      setErrors(out);
    }
  };
  return (
    <Section title="Compare scenarios">
      <form className="row" onSubmit={run} aria-label="Compare scenarios">
        <Field id="plan-bytes" label="Dataset size (TB)" error={errors.datasetBytes}>
          <input id="plan-bytes" inputMode="decimal" value={tb} onChange={(e) => setTb(e.target.value)} />
        </Field>
        <Field id="plan-steps" label="Steps per epoch" error={errors.steps}>
          <input id="plan-steps" inputMode="numeric" value={steps} onChange={(e) => setSteps(e.target.value)} />
        </Field>
        <Field id="plan-epoch" label="Local epoch time (s)" error={errors.localEpochSeconds}>
          <input id="plan-epoch" inputMode="decimal" value={epoch} onChange={(e) => setEpoch(e.target.value)} />
        </Field>
        <button type="submit">Compare</button>
      </form>
      <ErrorText message={errors.form} />
      {result ? (
        <>
          {result.recommended ? (
            <p className="ok">
              Recommended: <strong>{result.recommended.label}</strong> — {result.recommended.reasons.join('; ')}
            </p>
          ) : null}
          <div className="charts">
            {METRICS.map((m) => (
              <Bars key={m.key} rows={result.scenarios} metric={m} />
            ))}
          </div>
          {result.warnings.map((w) => (
            <p key={w} className="warn">
              {w}
            </p>
          ))}
        </>
      ) : (
        <Empty>Describe a workload and compare: local GPUs, the APN at three distances, and the Internet.</Empty>
      )}
    </Section>
  );
}

function Runs() {
  const q = useQuery<{
    trainingRuns: {
      edges: Array<{
        node: {
          id: string;
          label: string;
          state: string;
          design: string;
          createdAt: string;
          summary: { trainingSeconds: number; costUsd: number; co2Kg: number };
        };
      }>;
    };
  }>('{ trainingRuns(first: 50) { edges { node { id label state design createdAt summary { trainingSeconds costUsd co2Kg } } } } }');
  const [error, setError] = useState<string | null>(null);
  const download = async (ids: string[]) => {
    try {
      const { runsReport } = await gql<{ runsReport: string }>('query($ids: [ID!]!) { runsReport(ids: $ids, format: HTML) }', { ids });
      const url = URL.createObjectURL(new Blob([runsReport], { type: 'text/html' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = 'poc-report.html';
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      setError(messageOf(e));
    }
  };
  const runs = q.data?.trainingRuns.edges.map((e) => e.node) ?? [];
  return (
    <Section title="Measured runs">
      <ErrorText message={error ?? q.error} />
      {runs.length === 0 ? (
        <Empty>
          No measured runs yet. Record one with createTrainingRun and upload its steps (docs/runs.md); its PoC report appears here.
        </Empty>
      ) : (
        <>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th>Run</th>
                  <th>State</th>
                  <th>Design</th>
                  <th>Training time</th>
                  <th>Cost</th>
                  <th>CO₂</th>
                  <th>Created</th>
                </tr>
              </thead>
              <tbody>
                {runs.map((r) => (
                  <tr key={r.id}>
                    <td>{r.label}</td>
                    <td>{r.state}</td>
                    <td>{r.design}</td>
                    <td>{(r.summary.trainingSeconds / 60).toFixed(1)} min</td>
                    <td>{r.summary.costUsd.toFixed(2)} USD</td>
                    <td>{r.summary.co2Kg.toFixed(2)} kg</td>
                    <td>
                      <Time at={r.createdAt} compact />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <button type="button" onClick={() => download(runs.slice(0, 16).map((r) => r.id))}>
            Download the PoC report (HTML)
          </button>
        </>
      )}
    </Section>
  );
}

const METER_COLOURS = ['#2e9d5b', '#3b82c4', '#c9a227', '#7c5cc4', '#d35400', '#5aa5a0', '#8a9199'];

/** Each meter's daily quantity, as bars scaled to that meter's own largest day (units differ between meters). */
function UsageChart({ days, meters }: { days: Map<string, Map<string, number>>; meters: string[] }) {
  const sorted = [...days.keys()].sort();
  const rowH = 60;
  const width = 1000;
  const left = 170;
  const step = (width - left - 10) / Math.max(1, sorted.length);
  return (
    <svg className="chart" viewBox={`0 0 ${width} ${meters.length * rowH + 20}`} role="img" aria-label="Usage per day and meter">
      {meters.map((meter, m) => {
        const max = Math.max(...sorted.map((d) => days.get(d)?.get(meter) ?? 0), 1e-9);
        return (
          <g key={meter} transform={`translate(0 ${m * rowH})`}>
            <text x={0} y={rowH / 2} className="axis">
              {meter}
            </text>
            {sorted.map((d, i) => {
              const v = days.get(d)?.get(meter) ?? 0;
              const h = (v / max) * (rowH - 14);
              return (
                <rect
                  key={d}
                  x={left + i * step + 1}
                  y={rowH - 6 - h}
                  width={Math.max(1, step - 2)}
                  height={h}
                  fill={METER_COLOURS[m % METER_COLOURS.length]}
                >
                  <title>{`${d}: ${v.toFixed(2)} ${meter}`}</title>
                </rect>
              );
            })}
          </g>
        );
      })}
      <text x={left} y={meters.length * rowH + 14} className="axis">
        {sorted[0]}
      </text>
      <text x={width - 10} y={meters.length * rowH + 14} className="axis" textAnchor="end">
        {sorted.at(-1)}
      </text>
    </svg>
  );
}

function InvoicePreview({ me }: { me: Me }) {
  const period = new Date().toISOString().slice(0, 7);
  const invoice = useQuery<{
    invoicePreview: {
      currency: string;
      totals: { amount: string; energyKwh: string; co2Kg: string };
      lines: Array<{ description: string; quantity: string; unit: string; amount: string }>;
    };
  }>(
    'query($p: String!) { invoicePreview(period: $p) { currency totals { amount energyKwh co2Kg } lines { description quantity unit amount } } }',
    { p: period },
  );
  return (
    <Section title={`Invoice preview ${period}`}>
      {me.role !== 'TENANT' ? (
        <Empty>Invoices are per tenant: sign in with a tenant's key, or use invoicePreview(period, tenantId) in GraphiQL.</Empty>
      ) : invoice.error ? (
        <ErrorText message={invoice.error} />
      ) : !invoice.data ? (
        <p className="loading">Loading the invoice…</p>
      ) : invoice.data.invoicePreview.lines.length ? (
        <>
          <p>
            Total{' '}
            <strong>
              {invoice.data.invoicePreview.totals.amount} {invoice.data.invoicePreview.currency}
            </strong>{' '}
            · {invoice.data.invoicePreview.totals.energyKwh} kWh · {invoice.data.invoicePreview.totals.co2Kg} kg CO₂
          </p>
          <ul className="plain">
            {invoice.data.invoicePreview.lines.map((l, i) => (
              <li key={i}>
                {l.description}: {l.quantity} {l.unit} — {l.amount}
              </li>
            ))}
          </ul>
        </>
      ) : (
        <Empty>Nothing billed this month yet. Usage is metered every hour once lightpaths and mounts run.</Empty>
      )}
    </Section>
  );
}

function UsageLast30Days() {
  const from = new Date(Date.now() - 30 * 86_400_000);
  from.setUTCHours(0, 0, 0, 0);
  const usage = useQuery<{ usage: Array<{ day: string | null; meter: string; quantity: string; unit: string }> }>(
    'query($from: DateTime!, $to: DateTime!) { usage(from: $from, to: $to, groupBy: [DAY, METER]) { day meter quantity unit } }',
    { from: from.toISOString(), to: new Date(Math.ceil(Date.now() / 86_400_000) * 86_400_000).toISOString() },
  );
  const days = new Map<string, Map<string, number>>();
  for (const u of usage.data?.usage ?? []) {
    if (!u.day) continue;
    const day = u.day.slice(0, 10);
    const m = days.get(day) ?? new Map<string, number>();
    m.set(`${u.meter} (${u.unit})`, (m.get(`${u.meter} (${u.unit})`) ?? 0) + Number(u.quantity));
    days.set(day, m);
  }
  const meters = [...new Set([...days.values()].flatMap((m) => [...m.keys()]))];
  return (
    <Section title="Usage over the last 30 days">
      <ErrorText message={usage.error} />
      {days.size > 0 ? <UsageChart days={days} meters={meters} /> : null}
      {!usage.data ? (
        usage.error ? null : (
          <p className="loading">Loading usage…</p>
        )
      ) : days.size === 0 ? (
        <Empty>No usage recorded in the last 30 days. Book a lightpath; its hours are metered once each hour closes.</Empty>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>Day (UTC)</th>
                {meters.map((m) => (
                  <th key={m}>{m}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {[...days.entries()].sort().map(([day, m]) => (
                <tr key={day}>
                  <td>{day}</td>
                  {meters.map((k) => (
                    <td key={k}>{(m.get(k) ?? 0).toFixed(2)}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}

function Usage({ me }: { me: Me }) {
  return (
    <>
      <InvoicePreview me={me} />
      <UsageLast30Days />
    </>
  );
}

export function PlanView({ me }: { me: Me }) {
  return (
    <div className="stack">
      {me.role !== 'BILLING' ? <Scenarios /> : null}
      {me.role !== 'BILLING' ? <Runs /> : null}
      <Usage me={me} />
    </div>
  );
}
