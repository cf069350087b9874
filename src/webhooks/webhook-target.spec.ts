import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppConfig } from '../core/config/config';
import { TargetRefused, WebhookTargets } from './webhook-target';

/** Real sockets on loopback: what a delivery connects to, whatever the name resolves to by then. */
describe('webhook targets on the wire', () => {
  let server: Server;
  let port: number;
  const hosts: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      hosts.push(String(req.headers.host));
      req.resume();
      req.on('end', () => {
        res.statusCode = 204;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const targets = (networks: string[] = [], names: string[] = []) =>
    new WebhookTargets({ webhookAllowedTargets: { networks, hosts: names } } as unknown as AppConfig);

  it('connects to the checked address and never resolves the name again', async () => {
    // `.invalid` never resolves (RFC 6761): the request can only reach the server through the checked address.
    const url = new URL(`http://billing.invalid:${port}/hook`);
    const status = await targets().post(
      { url, addresses: [{ address: '127.0.0.1', family: 4 }] },
      { 'content-type': 'application/json' },
      '{}',
      AbortSignal.timeout(5000),
    );
    expect(status).toBe(204);
    expect(hosts).toContain(`billing.invalid:${port}`);
  });

  it('refuses a name resolving inside the network, and lets an allowed one through', async () => {
    const url = new URL(`http://localhost:${port}/hook`);
    await expect(targets().vet(url, AbortSignal.timeout(5000))).rejects.toThrow(TargetRefused);
    await expect(targets().vet(url, AbortSignal.timeout(5000))).rejects.toThrow(/localhost resolves to 127\.0\.0\.1, a loopback address/);
    await expect(targets(['127.0.0.1/32']).vet(url, AbortSignal.timeout(5000))).resolves.toMatchObject({
      addresses: [{ address: '127.0.0.1', family: 4 }],
    });
    await expect(targets([], ['localhost']).vet(url, AbortSignal.timeout(5000))).resolves.toMatchObject({ addresses: null });
  });
});
