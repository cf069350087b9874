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

export function BookView() {
  const sites = useQuery<{ sites: Site[] }>(SITES);
  const offices = useMemo(() => sites.data?.sites.filter((s) => s.kind === 'USER_OFFICE') ?? [], [sites.data]);
  const dcs = useMemo(() => sites.data?.sites.filter((s) => s.kind !== 'USER_OFFICE') ?? [], [sites.data]);
  const [source, setSource] = useState('');
  const [destination, setDestination] = useState('');
  const [rate, setRate] = useState(100);
  const [start, setStart] = useState(() => toLocalInput(new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 5 * 60_000)));
  const [end, setEnd] = useState(() => toLocalInput(new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 65 * 60_000)));
  const [availability, setAvailability] = useState<Availability | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [booked, setBooked] = useState<Reservation | null>(null);
  const [newEnd, setNewEnd] = useState('');

  // The booking's own state changes (its hold expiring, its setup, its teardown) arrive live.
  const bookedId = booked?.id;
  useEffect(() => {
    if (!bookedId) return;
    return subscribe<{ reservationUpdated: { reservation: Reservation } }>(
      `subscription($id: ID) { reservationUpdated(id: $id) { reservation { ${RESERVATION_FIELDS} } } }`,
      { id: bookedId },
      ({ reservationUpdated }) => setBooked(reservationUpdated.reservation),
      (message) => setErrors({ form: `Live updates stopped: ${message}` }),
    );
  }, [bookedId]);

  useEffect(() => {
    if (!source && offices[0]) setSource(offices[0].id);
    if (!destination && dcs[0]) setDestination(dcs[0].id);
  }, [offices, dcs, source, destination]);

  const rates = useMemo(() => {
    const all = new Set<number>();
    for (const s of sites.data?.sites ?? []) for (const e of s.endpoints) all.add(e.rateGbps);
    return [...all].sort((a, b) => a - b);
  }, [sites.data]);

  const window = () => {
    const s = fromLocalInput(start);
    const e = fromLocalInput(end);
    const out: Errors = {};
    if (!s) out.start = 'Enter a start date and time.';
    if (!e) out.end = 'Enter an end date and time.';
    return { s, e, out };
  };

  const check = async (event?: FormEvent) => {
    event?.preventDefault();
    const { s, e, out } = window();
    setErrors(out);
    if (!s || !e) return;
    setBusy(true);
    try {
      const durationSeconds = Math.round((e.getTime() - s.getTime()) / 1000);
      const { availability: a } = await gql<{ availability: Availability }>(AVAILABILITY, {
        input: {
          sourceSiteId: source,
          destinationSiteId: destination,
          rateGbps: rate,
          start: s.toISOString(),
          end: e.toISOString(),
          durationSeconds: durationSeconds > 0 ? durationSeconds : undefined,
        },
      });
      setAvailability(a);
    } catch (error) {
      setAvailability(null);
      setErrors(errorsOf(error));
    } finally {
      setBusy(false);
    }
  };

  const useEarliest = () => {
    if (!availability?.earliestStart || !availability.earliestEnd) return;
    setStart(toLocalInput(new Date(availability.earliestStart)));
    setEnd(toLocalInput(new Date(availability.earliestEnd)));
  };

  const hold = async () => {
    const { s, e, out } = window();
    setErrors(out);
    if (!s || !e) return;
    const ports = (id: string) => sites.data?.sites.find((x) => x.id === id)?.endpoints.filter((p) => p.rateGbps === rate) ?? [];
    const sources = ports(source);
    const destinations = ports(destination);
    if (sources.length === 0) return setErrors({ source: `This site has no ${rate} Gbps port; pick another site or line rate.` });
    if (destinations.length === 0) return setErrors({ destination: `This site has no ${rate} Gbps port; pick another site or line rate.` });
    setBusy(true);
    try {
      // A port is exclusive per window: try the site's ports in turn until one pair is free.
      let last: unknown = null;
      for (let i = 0; i < Math.max(sources.length, destinations.length); i++) {
        try {
          const { reserveLightpath } = await gql<{ reserveLightpath: Reservation }>(RESERVE, {
            input: {
              sourceEndpointId: sources[Math.min(i, sources.length - 1)].id,
              destinationEndpointId: destinations[Math.min(i, destinations.length - 1)].id,
              rateGbps: rate,
              start: s.toISOString(),
              end: e.toISOString(),
            },
          });
          setBooked(reserveLightpath);
          setNewEnd(toLocalInput(new Date(Date.parse(reserveLightpath.end) + 3_600_000)));
          setErrors({});
          return;
        } catch (error) {
          last = error;
          if (!(error instanceof ApiError) || error.code !== 'NO_CAPACITY') break;
        }
      }
      setErrors(errorsOf(last));
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
        <form onSubmit={check} aria-label="Book a lightpath" noValidate>
          <div className="row">
            <Field id="book-source" label="From (office site)" error={errors.source}>
              <select id="book-source" value={source} onChange={(e) => setSource(e.target.value)} aria-describedby="book-source-error">
                {offices.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.code} — {s.name}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="book-destination" label="To (data center)" error={errors.destination}>
              <select
                id="book-destination"
                value={destination}
                onChange={(e) => setDestination(e.target.value)}
                aria-describedby="book-destination-error"
              >
                {dcs.map((s) => (
                  <option key={s.id} value={s.id}>
                    {s.code} — {s.name}
                  </option>
                ))}
              </select>
            </Field>
            <Field id="book-rate" label="Line rate" error={errors.rate}>
              <select id="book-rate" value={rate} onChange={(e) => setRate(Number(e.target.value))} aria-describedby="book-rate-error">
                {rates.map((r) => (
                  <option key={r} value={r}>
                    {r} Gbps
                  </option>
                ))}
              </select>
            </Field>
          </div>
          <div className="row">
            <Field id="book-start" label={`Start (${TIME_ZONE})`} error={errors.start}>
              <input
                id="book-start"
                type="datetime-local"
                step={1}
                value={start}
                onChange={(e) => setStart(e.target.value)}
                aria-describedby="book-start-error"
              />
            </Field>
            <Field id="book-end" label={`End (${TIME_ZONE})`} error={errors.end}>
              <input
                id="book-end"
                type="datetime-local"
                step={1}
                value={end}
                onChange={(e) => setEnd(e.target.value)}
                aria-describedby="book-end-error"
              />
            </Field>
          </div>
          <div className="actions">
            <button type="submit" disabled={busy}>
              Check availability
            </button>
            <button type="button" onClick={hold} disabled={busy}>
              Hold this window
            </button>
          </div>
          <ErrorText id="book-form-error" message={errors.form} />
        </form>
        {availability ? (
          <div className="availability" data-testid="availability" aria-live="polite">
            <p>
              <strong data-testid="fit-count">{availability.lightpaths}</strong> lightpath{availability.lightpaths === 1 ? '' : 's'} fit in
              this window.
            </p>
            {availability.earliestStart ? (
              <p>
                Earliest start for this duration: <Time at={availability.earliestStart} /> on channel {availability.earliestChannel} via{' '}
                {availability.earliestPath?.map((l) => l.code).join(' → ')}.{' '}
                <button type="button" onClick={useEarliest}>
                  Use the earliest start
                </button>
              </p>
            ) : (
              <p>No start fits this duration within the search horizon; try a shorter window or another data center.</p>
            )}
          </div>
        ) : null}
      </Section>
      <Section title="Your booking">
        {booked ? (
          <div data-testid="booking" data-reservation-id={booked.id}>
            <p>
              <StateBadge state={booked.state} /> {booked.source.code} → {booked.destination.code}, channel {booked.channel} (
              {booked.frequencyThz.toFixed(2)} THz), <Time at={booked.start} /> to <Time at={booked.end} />
            </p>
            {booked.state === 'HELD' && booked.holdExpiresAt ? (
              <p>
                <Countdown
                  until={booked.holdExpiresAt}
                  onExpired={() => setErrors({ form: 'The hold expired; check availability and hold again.' })}
                />
              </p>
            ) : null}
            <div className="actions">
              {booked.state === 'HELD' ? (
                <button
                  type="button"
                  disabled={busy}
                  onClick={() => act('mutation($id: ID!) { commitReservation(id: $id) { ' + RESERVATION_FIELDS + ' } }', { id: booked.id })}
                >
                  Commit
                </button>
              ) : null}
              {['HELD', 'RESERVED'].includes(booked.state) ? (
                <button
                  type="button"
                  className="danger"
                  disabled={busy}
                  onClick={() =>
                    act(
                      'mutation($id: ID!) { cancelReservation(id: $id, reason: "cancelled in the console") { ' +
                        RESERVATION_FIELDS +
                        ' } }',
                      { id: booked.id },
                    )
                  }
                >
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
                  const d = fromLocalInput(newEnd);
                  if (!d) return setErrors({ extend: 'Enter the new end.' });
                  void act('mutation($id: ID!, $end: DateTime!) { extendReservation(id: $id, end: $end) { ' + RESERVATION_FIELDS + ' } }', {
                    id: booked.id,
                    end: d.toISOString(),
                  });
                }}
              >
                <Field id="book-extend" label={`New end (${TIME_ZONE})`} error={errors.extend}>
                  <input
                    id="book-extend"
                    type="datetime-local"
                    step={1}
                    value={newEnd}
                    onChange={(e) => setNewEnd(e.target.value)}
                    aria-describedby="book-extend-error"
                  />
                </Field>
                <button type="submit" disabled={busy}>
                  Extend
                </button>
              </form>
            ) : null}
            <p className="hint">
              Follow it in <a href="#lightpaths">My lightpaths</a>: state changes arrive live.
            </p>
          </div>
        ) : (
          <Empty>
            Nothing held yet. Choose two sites and a window, check availability, then hold it; a hold lasts two minutes until you commit it.
          </Empty>
        )}
      </Section>
    </div>
  );
}
