import { request as httpRequest } from 'node:http';
import { startTestService, TestService } from './support/service';

/** Sends a request with the path exactly as written (no client-side normalisation). */
function raw(
  base: string,
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolvePromise, reject) => {
    const req = httpRequest(
      {
        hostname,
        port,
        path,
        method,
        headers: { ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: text }));
      },
    );
    // The HTTP parser refuses some request targets outright by closing the connection: nothing answered.
    req.on('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNRESET' ? resolvePromise({ status: 0, body: '' }) : reject(error),
    );
    req.end(body);
  });
}

/** Every spelling of `path` a router might decode, fold or normalise back into the route itself. */
function spellings(path: string): string[] {
  const hex = (c: string) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  const out = new Set<string>([path, path.toUpperCase(), path[0] + path[1].toUpperCase() + path.slice(2)]);
  for (let i = 1; i < path.length; i++) {
    out.add(path.slice(0, i) + hex(path[i]) + path.slice(i + 1));
    out.add(path.slice(0, i) + hex(path[i]).toUpperCase() + path.slice(i + 1));
  }
  out.add(`/${[...path.slice(1)].map(hex).join('')}`);
  out.add(`/${[...path.slice(1)].map((c) => (c === '/' ? c : hex(c))).join('')}`);
  out.add(path.replace(/^\//, '/%2f'));
  out.add(path.replace(/\//g, '%2F'));
  out.add(`/%25${path.charCodeAt(1).toString(16)}${path.slice(2)}`);
  for (const suffix of ['/', '//', '/.', '/..', '%00', ';', ';x=1', '?', '?x=1', '#', '%20', '%09', '.']) out.add(path + suffix);
  for (const prefix of ['/', '/.', '/./', '/x/..']) out.add(prefix + path);
  return [...out];
}

describe('authentication holds for every route, however the path is spelled (e2e over HTTP)', () => {
  let t: TestService;
  const query = JSON.stringify({ query: '{ sites { id code } tenants { id } }' });

  beforeAll(async () => {
    t = await startTestService();
  });
  afterAll(() => t?.stop());

  it('answers no protected route without a token, whatever the encoding, case or suffix', async () => {
    const protectedRoutes: Array<{ method: string; path: string; body?: string; suffix?: string }> = [
      { method: 'POST', path: '/graphql', body: query },
      { method: 'GET', path: '/graphql', suffix: `?query=${encodeURIComponent('{ sites { id code } }')}` },
      { method: 'GET', path: '/usage/export', suffix: '?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z' },
    ];
    const leaks: string[] = [];
    let tried = 0;
    for (const route of protectedRoutes) {
      for (const spelled of spellings(route.path)) {
        const path = spelled.includes('?') || spelled.includes('#') ? spelled : spelled + (route.suffix ?? '');
        const r = await raw(t.url, route.method, path, route.body);
        tried += 1;
        // Either the route was matched and the token demanded, or nothing was matched at all.
        if (r.status === 401) {
          const code = JSON.parse(r.body).errors?.[0]?.extensions?.code ?? JSON.parse(r.body).error?.code;
          if (code !== 'UNAUTHENTICATED') leaks.push(`${route.method} ${path} → 401 with ${r.body}`);
        } else if (r.status !== 404 && r.status !== 400 && r.status !== 0) {
          leaks.push(`${route.method} ${path} → ${r.status} ${r.body.slice(0, 120)}`);
        }
        if (/"code":"(OTE|TAM)|"sites"\s*:\s*\[/.test(r.body)) leaks.push(`${route.method} ${path} leaked data: ${r.body.slice(0, 120)}`);
      }
    }
    expect(tried).toBeGreaterThan(100);
    expect(leaks).toEqual([]);
  });

  it('the encoded spellings the router does match reach GraphQL once a token is given', async () => {
    for (const path of ['/%67raphql', '/graph%71l', '/%67%72%61%70%68%71%6c']) {
      const without = await raw(t.url, 'POST', path, query);
      expect(without.status).toBe(401);
      const withToken = await raw(t.url, 'POST', path, query, { authorization: `Bearer ${t.adminToken}` });
      expect(withToken.status).toBe(200);
      expect(JSON.parse(withToken.body).data.sites.length).toBeGreaterThan(0);
    }
  });

  it('leaves the allow-list open: health, metrics and the console need no token', async () => {
    expect((await raw(t.url, 'GET', '/health')).status).toBe(200);
    expect((await raw(t.url, 'GET', '/%68ealth')).status).toBe(200);
    expect((await raw(t.url, 'GET', '/metrics')).status).toBe(200);
    expect((await raw(t.url, 'GET', '/graphiql')).status).toBe(200);
  });
});
