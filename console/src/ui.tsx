import { useCallback, useEffect, useState, type ReactNode } from 'react';
import { ApiError, gql } from './api';

const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
export const TIME_ZONE = zone;

const local = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const short = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });

/** A moment in the browser's time zone, with UTC on hover. */
export function Time({ at, compact }: { at: string | Date | null | undefined; compact?: boolean }) {
  if (!at) return <span>—</span>;
  const d = typeof at === 'string' ? new Date(at) : at;
  return (
    <time
      dateTime={d.toISOString()}
      title={`${d
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, ' UTC')}`}
    >
      {(compact ? short : local).format(d)}
    </time>
  );
}

export function utcTitle(d: Date | string): string {
  return new Date(d)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
}

export function formatLocal(d: Date | string): string {
  return local.format(new Date(d));
}

/** A value for <input type="datetime-local">, in the browser's zone, to the second. */
export function toLocalInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function fromLocalInput(value: string): Date | null {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function Empty({ children }: { children: ReactNode }) {
  return (
    <div className="empty" role="status">
      {children}
    </div>
  );
}

export function ErrorText({ id, message }: { id?: string; message?: string | null }) {
  if (!message) return null;
  return (
    <p className="error" id={id} role="alert">
      {message}
    </p>
  );
}

/** A labelled control, with the error the API gave for it right below. */
export function Field({
  id,
  label,
  error,
  children,
  hint,
}: {
  id: string;
  label: string;
  error?: string | null;
  hint?: ReactNode;
  children: ReactNode;
}) {
  return (
    <div className={`field${error ? ' has-error' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint ? <small className="hint">{hint}</small> : null}
      <ErrorText id={`${id}-error`} message={error} />
    </div>
  );
}

export function messageOf(error: unknown): string {
  if (error instanceof ApiError || error instanceof Error) return error.message;
  return String(error);
}

/** Runs a query on mount (and on `reload`), keeping data, error and loading state. */
export function useQuery<T>(query: string, variables: Record<string, unknown> = {}, deps: unknown[] = []) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const key = JSON.stringify(variables);
  const reload = useCallback(async () => {
    setLoading(true);
    try {
      setData(await gql<T>(query, JSON.parse(key) as Record<string, unknown>));
      setError(null);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setLoading(false);
    }
  }, [query, key, ...deps]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, loading, reload, setData };
}

export function Section({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <section className="card" aria-label={title}>
      <header className="card-head">
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

export const STATE_COLOURS: Record<string, string> = {
  HELD: '#c9a227',
  RESERVED: '#3b82c4',
  PROVISIONING: '#7c5cc4',
  ACTIVE: '#2e9d5b',
  RELEASING: '#5aa5a0',
  RELEASED: '#8a9199',
  CANCELLED: '#b9bec4',
  EXPIRED: '#c4b49a',
  FAILED: '#c0392b',
  NEEDS_CLEANUP: '#d35400',
};

export function StateBadge({ state }: { state: string }) {
  return (
    <span className={`badge state-${state.toLowerCase()}`} data-state={state}>
      {state}
    </span>
  );
}

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
