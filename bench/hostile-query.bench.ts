/**
 * One tenant's expensive queries must not slow the others down. The service runs on a scratch database of
 * a real PostgreSQL server (BENCH_DATABASE_URL), with Redis when it answers. Another tenant books lightpaths
 * one after another, and /health is probed, first alone, then while a hostile tenant sends the most
 * expensive query the cost limit accepts (sites → endpoints → site → endpoints, every field) from
 * BENCH_HOSTILE_CLIENTS loops (default 4). Printed: the booking and /health latencies in both phases and
 * their ratio, and how many hostile queries were answered or told to slow down (each caller's share of
 * query cost per second, APN_QUERY_COST_PER_SECOND); the refused deeper nesting is checked too.
 *
 * Run: npm run build && node dist/bench/hostile-query.bench.js
 */
import { performance } from 'node:perf_hooks';
import { benchRedisUrl, benchServerUrl, createTenantKey, gql, redisReachable, ScratchRun, type EndpointRow } from './booking.bench';

const BOOKINGS_PER_PHASE = 60;
const RESERVE = 'mutation($input: ReserveLightpathInput!) { reserveLightpath(input: $input) { id } }';

function nested(levels: number): string {
  let q = 'id code name kind pue';
  for (let i = 0; i < levels; i++) q = `endpoints { id code rateGbps site { ${q} } }`;
  return `{ sites { ${q} } }`;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
};

type Timings = { bookings: number[]; health: number[] };

/** BOOKINGS_PER_PHASE bookings by another tenant, one after the other, each followed by a /health probe. */
function bookingPhase(url: string, booker: string, endpoints: EndpointRow[]): () => Promise<Timings> {
  const id = (code: string) => endpoints.find((e) => e.code === code)!.id;
  let slot = 0;
  const base = Math.ceil((Date.now() + 3 * 86_400_000) / 3_600_000) * 3_600_000;
  return async () => {
    const bookings: number[] = [];
    const health: number[] = [];
    for (let i = 0; i < BOOKINGS_PER_PHASE; i++) {
      const start = base + slot++ * 2 * 60_000;
      const t0 = performance.now();
      await gql(url, booker, RESERVE, {
        input: {
          sourceEndpointId: id('OTE-HQ-100G-1'),
          destinationEndpointId: id('TAM-GDC-100G-1'),
          rateGbps: 100,
          autoCommit: true,
          start: new Date(start).toISOString(),
          end: new Date(start + 60_000).toISOString(),
        },
      });
      bookings.push(performance.now() - t0);
      const h0 = performance.now();
      const res = await fetch(`${url}/health`);
      if (res.status !== 200) throw new Error(`/health answered ${res.status}`);
      health.push(performance.now() - h0);
    }
    return { bookings, health };
  };
}

/** `clients` hostile clients sending the worst query accepted, as fast as answered, while `during` runs. */
async function underStorm(url: string, hostile: string, clients: number, during: () => Promise<Timings>) {
  const worst = nested(2);
  let storming = true;
  let answered = 0;
  let throttled = 0;
  const storm = Promise.all(
    Array.from({ length: clients }, async () => {
      while (storming) {
        const res = await fetch(`${url}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${hostile}` },
          body: JSON.stringify({ query: worst }),
        });
        const body = (await res.json()) as { data?: { sites?: unknown[] } | null; errors?: Array<{ extensions?: { code?: string } }> };
        if (body.data?.sites) answered += 1;
        else if (body.errors?.[0]?.extensions?.code === 'NO_CAPACITY') throttled += 1;
      }
    }),
  );
  const t0 = performance.now();
  const timings = await during();
  const stormSeconds = (performance.now() - t0) / 1000;
  storming = false;
  await storm;
  return { timings, answeredPerSec: answered / stormSeconds, throttledPerSec: throttled / stormSeconds };
}

export async function runHostileQueryBench(): Promise<Record<string, number>> {
  const hostileClients = Number(process.env.BENCH_HOSTILE_CLIENTS ?? 4);
  const redisUrl = benchRedisUrl();
  const scratch = await ScratchRun.open(benchServerUrl(), (await redisReachable(redisUrl)) ? redisUrl : null);
  try {
    const service = await scratch.startChild(scratch.serviceEnv());
    const url = service.url;
    const booker = await createTenantKey(url, service.adminToken, 'bench-booker', 'hostile-query benchmark');
    const hostile = await createTenantKey(url, service.adminToken, 'bench-hostile', 'hostile-query benchmark');
    const { endpoints } = await gql<{ endpoints: EndpointRow[] }>(url, booker, '{ endpoints { id code rateGbps site { code } } }');
    const refused = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${hostile}` },
      body: JSON.stringify({ query: nested(3) }),
    });
    console.log(`  the next level of nesting is refused before it runs: HTTP ${refused.status}`);

    const phase = bookingPhase(url, booker, endpoints);
    const alone = await phase();
    const { timings: during, answeredPerSec, throttledPerSec } = await underStorm(url, hostile, hostileClients, phase);
    const figures = {
      'hostile.clients': hostileClients,
      'hostile.queriesPerSec': answeredPerSec,
      'hostile.throttledPerSec': throttledPerSec,
      'hostile.bookingP50AloneMs': percentile(alone.bookings, 50),
      'hostile.bookingP99AloneMs': percentile(alone.bookings, 99),
      'hostile.bookingP50DuringMs': percentile(during.bookings, 50),
      'hostile.bookingP99DuringMs': percentile(during.bookings, 99),
      'hostile.healthP99AloneMs': percentile(alone.health, 99),
      'hostile.healthP99DuringMs': percentile(during.health, 99),
      'hostile.bookingP50Ratio': percentile(during.bookings, 50) / percentile(alone.bookings, 50),
    };
    printHostileFigures(figures);
    return figures;
  } finally {
    await scratch.close();
  }
}

function printHostileFigures(figures: Record<string, number>): void {
  console.log(
    `  ${figures['hostile.clients']} hostile clients: ${figures['hostile.queriesPerSec'].toFixed(1)} worst-case queries/s answered, ` +
      `${figures['hostile.throttledPerSec'].toFixed(1)}/s told to slow down (NO_CAPACITY)`,
  );
  console.log(
    `  another tenant's bookings p50/p99: alone ${figures['hostile.bookingP50AloneMs'].toFixed(1)}/${figures['hostile.bookingP99AloneMs'].toFixed(1)} ms, ` +
      `during ${figures['hostile.bookingP50DuringMs'].toFixed(1)}/${figures['hostile.bookingP99DuringMs'].toFixed(1)} ms (p50 ×${figures['hostile.bookingP50Ratio'].toFixed(2)})`,
  );
  console.log(
    `  /health p99: alone ${figures['hostile.healthP99AloneMs'].toFixed(1)} ms, during ${figures['hostile.healthP99DuringMs'].toFixed(1)} ms; every probe answered 200`,
  );
}

if (require.main === module) {
  runHostileQueryBench().then(
    () => process.exit(0),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
