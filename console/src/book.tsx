import { useEffect, useMemo, useState, type FormEvent } from 'react';
import { ApiError, gql, subscribe } from './api';
import { RESERVATION_FIELDS, type Reservation } from './lightpaths';
import { Empty, ErrorText, Field, fromLocalInput, messageOf, Section, StateBadge, Time, TIME_ZONE, toLocalInput, useQuery } from './ui';

interface Site {
  id: string;
  code: string;
  name: string;
  kind: string;
  endpoints: Array<{ id: string; code: string; rateGbps: number }>;
}

interface Availability {
  lightpaths: number;
  earliestStart: string | null;
  earliestEnd: string | null;
  earliestChannel: number | null;
  earliestPath: Array<{ code: string }> | null;
}

type Errors = Partial<Record<'source' | 'destination' | 'rate' | 'start' | 'end' | 'extend' | 'form', string>>;

/** Where the API's `extensions.field` is shown in this form. */
const FIELD_OF: Record<string, keyof Errors> = {
  'input.sourceEndpointId': 'source',
  'input.sourceSiteId': 'source',
  'input.destinationEndpointId': 'destination',
  'input.destinationSiteId': 'destination',
  'input.rateGbps': 'rate',
  'input.start': 'start',
  'input.end': 'end',
  'input.durationSeconds': 'end',
  'input.searchUntil': 'end',
  end: 'extend',
};

function errorsOf(error: unknown): Errors {
  if (!(error instanceof ApiError)) return { form: messageOf(error) };
  const out: Errors = {};
  for (const e of error.errors) {
    const key = FIELD_OF[e.extensions?.field ?? ''] ?? 'form';
    out[key] = out[key] ? `${out[key]} ${e.message}` : e.message;
  }
  return out;
}

const SITES = '{ sites { id code name kind endpoints { id code rateGbps } } }';
const AVAILABILITY = `query($input: AvailabilityInput!) { availability(input: $input) {
  lightpaths earliestStart earliestEnd earliestChannel earliestPath { code } } }`;
const RESERVE = `mutation($input: ReserveLightpathInput!) { reserveLightpath(input: $input) { ${RESERVATION_FIELDS} } }`;

function Countdown({ until, onExpired }: { until: string; onExpired: () => void }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const left = Math.max(0, Math.round((Date.parse(until) - now) / 1000));
  useEffect(() => {
    if (left === 0) onExpired();
  }, [left, onExpired]);
  return (
    <span className="countdown" role="timer" aria-live="polite" data-testid="hold-countdown">
      hold expires in {Math.floor(left / 60)}:{String(left % 60).padStart(2, '0')}
    </span>
  );
}

interface WindowForm {
  source: string;
  setSource: (v: string) => void;
  destination: string;
  setDestination: (v: string) => void;
  rate: number;
  setRate: (v: number) => void;
  start: string;
  setStart: (v: string) => void;
  end: string;
  setEnd: (v: string) => void;
}

const minuteFromNow = (minutes: number) => toLocalInput(new Date(Math.ceil(Date.now() / 60_000) * 60_000 + minutes * 60_000));

/** The form's choices: the first office and data center are preselected once the sites arrive. */
function useWindowForm(offices: Site[], dcs: Site[]): WindowForm {
  const [source, setSource] = useState('');
  const [destination, setDestination] = useState('');
  const [rate, setRate] = useState(100);
  const [start, setStart] = useState(() => minuteFromNow(5));
  const [end, setEnd] = useState(() => minuteFromNow(65));
  useEffect(() => {
    if (!source && offices[0]) setSource(offices[0].id);
    if (!destination && dcs[0]) setDestination(dcs[0].id);
  }, [offices, dcs, source, destination]);
  return { source, setSource, destination, setDestination, rate, setRate, start, setStart, end, setEnd };
}

/** The booking held in this view; its own state changes (hold expiring, setup, teardown) arrive live. */
function useLiveBooking(setErrors: (errors: Errors) => void) {
  const [booked, setBooked] = useState<Reservation | null>(null);
  const bookedId = booked?.id;
  useEffect(() => {
    if (!bookedId) return;
    return subscribe<{ reservationUpdated: { reservation: Reservation } }>(
      `subscription($id: ID) { reservationUpdated(id: $id) { reservation { ${RESERVATION_FIELDS} } } }`,
      { id: bookedId },
      ({ reservationUpdated }) => setBooked(reservationUpdated.reservation),
      (message) => setErrors({ form: `Live updates stopped: ${message}` }),
    );
  }, [bookedId, setErrors]);
  return { booked, setBooked };
}

/** The window typed in the form, with a message for each half that is missing. */
function windowOf(form: WindowForm) {
  const s = fromLocalInput(form.start);
  const e = fromLocalInput(form.end);
  const out: Errors = {};
  if (!s) out.start = 'Enter a start date and time.';
  if (!e) out.end = 'Enter an end date and time.';
  return { s, e, out };
}

/** Tries the sites' ports of this rate in turn (a port is exclusive per window) until one pair is free. */
async function reserveOnFreePorts(sites: Site[], form: WindowForm, s: Date, e: Date): Promise<Reservation | Errors> {
  const ports = (id: string) => sites.find((x) => x.id === id)?.endpoints.filter((p) => p.rateGbps === form.rate) ?? [];
  const sources = ports(form.source);
  const destinations = ports(form.destination);
  if (sources.length === 0) return { source: `This site has no ${form.rate} Gbps port; pick another site or line rate.` };
  if (destinations.length === 0) return { destination: `This site has no ${form.rate} Gbps port; pick another site or line rate.` };
  let last: unknown = null;
  for (let i = 0; i < Math.max(sources.length, destinations.length); i++) {
    try {
      const { reserveLightpath } = await gql<{ reserveLightpath: Reservation }>(RESERVE, {
        input: {
          sourceEndpointId: sources[Math.min(i, sources.length - 1)].id,
          destinationEndpointId: destinations[Math.min(i, destinations.length - 1)].id,
          rateGbps: form.rate,
          start: s.toISOString(),
          end: e.toISOString(),
        },
      });
      return reserveLightpath;
    } catch (error) {
      last = error;
      if (!(error instanceof ApiError) || error.code !== 'NO_CAPACITY') break;
    }
  }
  return errorsOf(last);
}

/** The line rates any site offers, lowest first. */
function ratesOf(sites: Site[]): number[] {
  const all = new Set<number>();
  for (const s of sites) for (const e of s.endpoints) all.add(e.rateGbps);
  return [...all].sort((a, b) => a - b);
}

/** How many lightpaths fit the window, and the earliest start for its duration. */
async function availabilityFor(form: WindowForm, s: Date, e: Date): Promise<Availability> {
  const durationSeconds = Math.round((e.getTime() - s.getTime()) / 1000);
  const { availability } = await gql<{ availability: Availability }>(AVAILABILITY, {
    input: {
      sourceSiteId: form.source,
      destinationSiteId: form.destination,
      rateGbps: form.rate,
      start: s.toISOString(),
      end: e.toISOString(),
      durationSeconds: durationSeconds > 0 ? durationSeconds : undefined,
    },
  });
  return availability;
}

export function BookView() {
  const sites = useQuery<{ sites: Site[] }>(SITES);
  const offices = useMemo(() => sites.data?.sites.filter((s) => s.kind === 'USER_OFFICE') ?? [], [sites.data]);
  const dcs = useMemo(() => sites.data?.sites.filter((s) => s.kind !== 'USER_OFFICE') ?? [], [sites.data]);
  const form = useWindowForm(offices, dcs);
  const [availability, setAvailability] = useState<Availability | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const { booked, setBooked } = useLiveBooking(setErrors);
  const [newEnd, setNewEnd] = useState('');

  const rates = useMemo(() => ratesOf(sites.data?.sites ?? []), [sites.data]);

  const check = async (event?: FormEvent) => {
    event?.preventDefault();
    const { s, e, out } = windowOf(form);
    setErrors(out);
    if (!s || !e) return;
    setBusy(true);
    try {
      setAvailability(await availabilityFor(form, s, e));
    } catch (error) {
      setAvailability(null);
      setErrors(errorsOf(error));
    } finally {
      setBusy(false);
    }
  };

  const useEarliest = () => {
    if (!availability?.earliestStart || !availability.earliestEnd) return;
    form.setStart(toLocalInput(new Date(availability.earliestStart)));
    form.setEnd(toLocalInput(new Date(availability.earliestEnd)));
  };

  const hold = async () => {
    const { s, e, out } = windowOf(form);
    setErrors(out);
    if (!s || !e) return;
    setBusy(true);
    try {
      const result = await reserveOnFreePorts(sites.data?.sites ?? [], form, s, e);
      if (!('id' in result)) return setErrors(result);
      setBooked(result);
      setNewEnd(toLocalInput(new Date(Date.parse(result.end) + 3_600_000)));
      setErrors({});
    } finally {
      setBusy(false);
    }
  };

  const act = async (mutation: string, variables: Record<string, unknown>) => {
    setBusy(true);
    try {
      const data = await gql<Record<string, Reservation>>(mutation, variables);
      setBooked(Object.values(data)[0]);
      setErrors({});
    } catch (error) {
      setErrors(errorsOf(error));
    } finally {
      setBusy(false);
    }
  };

  if (sites.error) return <ErrorText message={sites.error} />;
  if (!sites.data) return <p className="loading">Loading sites…</p>;
  if (offices.length === 0 || dcs.length === 0)
    return <Empty>No sites yet. An operator imports a topology first (importTopology), then lightpaths can be booked here.</Empty>;

  return (
    <div className="grid">
      <Section title="Book a lightpath">
        <WindowFormView form={form} offices={offices} dcs={dcs} rates={rates} errors={errors} busy={busy} onCheck={check} onHold={hold} />
        {availability ? <AvailabilityView availability={availability} onUseEarliest={useEarliest} /> : null}
      </Section>
      <Section title="Your booking">
        {booked ? (
          <BookingView booked={booked} busy={busy} errors={errors} setErrors={setErrors} newEnd={newEnd} setNewEnd={setNewEnd} act={act} />
        ) : (
          <Empty>
            Nothing held yet. Choose two sites and a window, check availability, then hold it; a hold lasts two minutes until you commit it.
          </Empty>
        )}
      </Section>
    </div>
  );
}

function SiteSelect({
  id,
  label,
  error,
  value,
  onChange,
  sites,
}: {
  id: string;
  label: string;
  error?: string;
  value: string;
  onChange: (v: string) => void;
  sites: Site[];
}) {
  return (
    <Field id={id} label={label} error={error}>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)} aria-describedby={`${id}-error`}>
        {sites.map((s) => (
          <option key={s.id} value={s.id}>
            {s.code} — {s.name}
          </option>
        ))}
      </select>
    </Field>
  );
}

function TimeInput({
  id,
  label,
  error,
  value,
  onChange,
}: {
  id: string;
  label: string;
  error?: string;
  value: string;
  onChange: (v: string) => void;
}) {
  return (
    <Field id={id} label={label} error={error}>
      <input
        id={id}
        type="datetime-local"
        step={1}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-describedby={`${id}-error`}
      />
    </Field>
  );
}

function WindowFormView(props: {
  form: WindowForm;
  offices: Site[];
  dcs: Site[];
  rates: number[];
  errors: Errors;
  busy: boolean;
  onCheck: (event?: FormEvent) => Promise<void>;
  onHold: () => Promise<void>;
}) {
  const { form, errors, busy } = props;
  return (
    <form onSubmit={props.onCheck} aria-label="Book a lightpath" noValidate>
      <div className="row">
        <SiteSelect
          id="book-source"
          label="From (office site)"
          error={errors.source}
          value={form.source}
          onChange={form.setSource}
          sites={props.offices}
        />
        <SiteSelect
          id="book-destination"
          label="To (data center)"
          error={errors.destination}
          value={form.destination}
          onChange={form.setDestination}
          sites={props.dcs}
        />
        <Field id="book-rate" label="Line rate" error={errors.rate}>
          <select
            id="book-rate"
            value={form.rate}
            onChange={(e) => form.setRate(Number(e.target.value))}
            aria-describedby="book-rate-error"
          >
            {props.rates.map((r) => (
              <option key={r} value={r}>
                {r} Gbps
              </option>
            ))}
          </select>
        </Field>
      </div>
      <div className="row">
        <TimeInput id="book-start" label={`Start (${TIME_ZONE})`} error={errors.start} value={form.start} onChange={form.setStart} />
        <TimeInput id="book-end" label={`End (${TIME_ZONE})`} error={errors.end} value={form.end} onChange={form.setEnd} />
      </div>
      <div className="actions">
        <button type="submit" disabled={busy}>
          Check availability
        </button>
        <button type="button" onClick={props.onHold} disabled={busy}>
          Hold this window
        </button>
      </div>
      <ErrorText id="book-form-error" message={errors.form} />
    </form>
  );
}

function AvailabilityView({ availability, onUseEarliest }: { availability: Availability; onUseEarliest: () => void }) {
  return (
    <div className="availability" data-testid="availability" aria-live="polite">
      <p>
        <strong data-testid="fit-count">{availability.lightpaths}</strong> lightpath{availability.lightpaths === 1 ? '' : 's'} fit in this
        window.
      </p>
      {availability.earliestStart ? (
        <p>
          Earliest start for this duration: <Time at={availability.earliestStart} /> on channel {availability.earliestChannel} via{' '}
          {availability.earliestPath?.map((l) => l.code).join(' → ')}.{' '}
          <button type="button" onClick={onUseEarliest}>
            Use the earliest start
          </button>
        </p>
      ) : (
        <p>No start fits this duration within the search horizon; try a shorter window or another data center.</p>
      )}
    </div>
  );
}

const COMMIT = 'mutation($id: ID!) { commitReservation(id: $id) { ' + RESERVATION_FIELDS + ' } }';
const CANCEL = 'mutation($id: ID!) { cancelReservation(id: $id, reason: "cancelled in the console") { ' + RESERVATION_FIELDS + ' } }';
const EXTEND = 'mutation($id: ID!, $end: DateTime!) { extendReservation(id: $id, end: $end) { ' + RESERVATION_FIELDS + ' } }';

function BookingView(props: {
  booked: Reservation;
  busy: boolean;
  errors: Errors;
  setErrors: (errors: Errors) => void;
  newEnd: string;
  setNewEnd: (v: string) => void;
  act: (mutation: string, variables: Record<string, unknown>) => Promise<void>;
}) {
  const { booked, busy, act } = props;
  return (
    <div data-testid="booking" data-reservation-id={booked.id}>
      <p>
        <StateBadge state={booked.state} /> {booked.source.code} → {booked.destination.code}, channel {booked.channel} (
        {booked.frequencyThz.toFixed(2)} THz), <Time at={booked.start} /> to <Time at={booked.end} />
      </p>
      {booked.state === 'HELD' && booked.holdExpiresAt ? (
        <p>
          <Countdown
            until={booked.holdExpiresAt}
            onExpired={() => props.setErrors({ form: 'The hold expired; check availability and hold again.' })}
          />
        </p>
      ) : null}
      <div className="actions">
        {booked.state === 'HELD' ? (
          <button type="button" disabled={busy} onClick={() => act(COMMIT, { id: booked.id })}>
            Commit
          </button>
        ) : null}
        {['HELD', 'RESERVED'].includes(booked.state) ? (
          <button type="button" className="danger" disabled={busy} onClick={() => act(CANCEL, { id: booked.id })}>
            Cancel
          </button>
        ) : null}
      </div>
      {['RESERVED', 'ACTIVE', 'PROVISIONING'].includes(booked.state) ? (
        <form
          className="row"
          aria-label="Extend"
          onSubmit={(e) => {
            e.preventDefault();
            const d = fromLocalInput(props.newEnd);
            if (!d) return props.setErrors({ extend: 'Enter the new end.' });
            void act(EXTEND, { id: booked.id, end: d.toISOString() });
          }}
        >
          <TimeInput
            id="book-extend"
            label={`New end (${TIME_ZONE})`}
            error={props.errors.extend}
            value={props.newEnd}
            onChange={props.setNewEnd}
          />
          <button type="submit" disabled={busy}>
            Extend
          </button>
        </form>
      ) : null}
      <p className="hint">
        Follow it in <a href="#lightpaths">My lightpaths</a>: state changes arrive live.
      </p>
    </div>
  );
}
