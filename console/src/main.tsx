import { useEffect, useState, type FormEvent } from 'react';
import { createRoot } from 'react-dom/client';
import './console.css';
import { closeWs, gql, session } from './api';
import { BookView } from './book';
import { LightpathsView } from './lightpaths';
import { AuditView, FaultsView, QueuesView, TenantsView, TopologyView, WebhooksView } from './operator';
import { OccupancyView } from './occupancy';
import { PlanView } from './plan';
import { StorageView } from './storage';
import { ErrorText, messageOf, TIME_ZONE } from './ui';

export interface Me {
  role: 'OPERATOR' | 'TENANT' | 'BILLING';
  tenantId: string | null;
  keyId: string | null;
}

interface View {
  id: string;
  label: string;
  render: (me: Me) => JSX.Element;
}

const TENANT_VIEWS: View[] = [
  { id: 'book', label: 'Book', render: () => <BookView /> },
  { id: 'lightpaths', label: 'My lightpaths', render: (me) => <LightpathsView me={me} /> },
  { id: 'storage', label: 'Storage', render: () => <StorageView /> },
  { id: 'plan', label: 'Plan and prove', render: (me) => <PlanView me={me} /> },
];

const OPERATOR_VIEWS: View[] = [
  { id: 'topology', label: 'Topology', render: () => <TopologyView /> },
  { id: 'spectrum', label: 'Spectrum', render: () => <OccupancyView /> },
  { id: 'lightpaths', label: 'Reservations', render: (me) => <LightpathsView me={me} /> },
  { id: 'faults', label: 'Faults', render: () => <FaultsView /> },
  { id: 'tenants', label: 'Tenants and keys', render: () => <TenantsView /> },
  { id: 'audit', label: 'Audit', render: () => <AuditView /> },
  { id: 'webhooks', label: 'Webhooks', render: () => <WebhooksView /> },
  { id: 'queues', label: 'Queues', render: () => <QueuesView /> },
  { id: 'plan', label: 'Plan and prove', render: (me) => <PlanView me={me} /> },
];

const BILLING_VIEWS: View[] = [{ id: 'plan', label: 'Usage and invoices', render: (me) => <PlanView me={me} /> }];

function viewsOf(me: Me): View[] {
  return me.role === 'OPERATOR' ? OPERATOR_VIEWS : me.role === 'TENANT' ? TENANT_VIEWS : BILLING_VIEWS;
}

function SignIn({ onSignedIn }: { onSignedIn: (me: Me) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const { me } = await gql<{ me: Me }>('{ me { role tenantId keyId } }', {}, token.trim());
      session.set(token.trim());
      onSignedIn(me);
    } catch (e) {
      setError(messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <form onSubmit={submit} className="card" aria-label="Sign in">
        <h1>apn-orchestrator</h1>
        <p>Sign in with a tenant API key or the operator token. It is kept in this browser tab only and forgotten when the tab closes.</p>
        <div className={`field${error ? ' has-error' : ''}`}>
          <label htmlFor="signin-token">API key or operator token</label>
          <input
            id="signin-token"
            type="password"
            autoComplete="off"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            required
            aria-describedby="signin-token-error"
          />
          <ErrorText id="signin-token-error" message={error} />
        </div>
        <button type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [checking, setChecking] = useState(session.token() !== null);
  const [hash, setHash] = useState(location.hash.slice(1));

  useEffect(() => {
    const onHash = () => setHash(location.hash.slice(1));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    if (!session.token()) return;
    gql<{ me: Me }>('{ me { role tenantId keyId } }')
      .then(({ me }) => setMe(me))
      .catch(() => session.clear())
      .finally(() => setChecking(false));
  }, []);

  if (checking) return <p className="loading">Checking your session…</p>;
  if (!me) return <SignIn onSignedIn={setMe} />;

  const views = viewsOf(me);
  const current = views.find((v) => v.id === hash) ?? views[0];
  const signOut = () => {
    session.clear();
    closeWs();
    setMe(null);
  };
  return (
    <div className="shell">
      <header className="top">
        <span className="brand">apn-orchestrator</span>
        <nav aria-label="Views">
          {views.map((v) => (
            <a key={v.id} href={`#${v.id}`} aria-current={v.id === current.id ? 'page' : undefined}>
              {v.label}
            </a>
          ))}
        </nav>
        <span className="who" data-testid="who">
          <span className="role">{me.role}</span>
          {me.tenantId ? <span title={`tenant ${me.tenantId}`}> tenant {me.tenantId.slice(0, 8)}</span> : null}
          <span className="zone" title="Times are shown in this zone; hover a time for UTC.">
            {' '}
            · {TIME_ZONE}
          </span>
          <button type="button" className="link" onClick={signOut}>
            Sign out
          </button>
        </span>
      </header>
      <main id="view" key={current.id}>
        {current.render(me)}
      </main>
    </div>
  );
}

createRoot(document.getElementById('root')!).render(<App />);
