/**
 * The booking benchmark's figures (the summary table of `npm run bench`) and its report, from what
 * runBookingBench (bench/booking.bench.ts) measured.
 */
import type { BookingOutcome, StatementTimes } from './booking.bench';

export const GOAL_RPS = 500;
export const GOAL_P99_MS = 50;
/** Goal: contention costs a retry, not a second. */
export const GOAL_CONTENDED_RATIO = 0.5;

export const ms = (n: number) => `${n.toFixed(1)} ms`;
const pct = (share: number) => `${(share * 100).toFixed(0)} %`;
const line = (label: string, value: string) => console.log(`  ${label.padEnd(34)} ${value}`);

/** Successful responses (warm-up included), and requests still in flight when a run stopped: booked, but not read. */
function bookedAndUnanswered(o: BookingOutcome): { booked: number; unanswered: number } {
  const booked = o.warm.tally.ok + o.run.tally.ok + o.contended.tally.ok;
  const answered = o.warm.tally.responses + o.run.tally.responses + o.contended.tally.responses;
  return { booked, unanswered: o.bookingRequestsSent - answered };
}

function statementTotals(list: StatementTimes | null): { count: number; ms: number; commit?: { count: number; totalMs: number } } {
  return {
    count: list ? list.reduce((sum, [, e]) => sum + e.count, 0) : 0,
    ms: list ? list.reduce((sum, [, e]) => sum + e.totalMs, 0) : 0,
    commit: list?.find(([text]) => text === 'COMMIT')?.[1],
  };
}

/** CPU and event-loop figures of one phase, named for where the service ran. */
function cpuFigures(prefix: string, o: BookingOutcome, phase: BookingOutcome['run']): Record<string, number> {
  if (o.inProcess) {
    return { [`${prefix}.eventLoopUtilization`]: phase.eventLoopUtilization, [`${prefix}.nodeCpuMsPerRequest`]: phase.cpuMsPerRequest };
  }
  const serverCpu = phase.serverCpuMsPerRequest;
  return {
    [`${prefix}.clientEventLoopUtilization`]: phase.eventLoopUtilization,
    [`${prefix}.clientCpuMsPerRequest`]: phase.cpuMsPerRequest,
    ...(serverCpu === null
      ? {}
      : {
          [`${prefix}.serverCpuMsPerRequest`]: serverCpu,
          [`${prefix}.serverCpuShareOfCore`]: phase.serverCpuShare ?? 0,
          // Same meaning as in-process: all Node.js CPU (service + load generator) per request.
          [`${prefix}.nodeCpuMsPerRequest`]: serverCpu + phase.cpuMsPerRequest,
        }),
  };
}

/** The uncontended run's figures: load, CPU, what PostgreSQL did. */
function runFigures(o: BookingOutcome): Record<string, number> {
  const { run, activity } = o;
  const r = run.result;
  const perRequest = Math.max(1, r.requests.total);
  const statements = statementTotals(o.topStatements);
  return {
    'booking.inProcess': o.inProcess ? 1 : 0,
    'booking.reservationsPerSec': run.rps,
    'booking.p50Ms': r.latency.p50,
    'booking.p97_5Ms': r.latency.p97_5,
    'booking.p99Ms': r.latency.p99,
    'booking.maxMs': r.latency.max,
    'booking.requests': r.requests.total,
    'booking.succeeded': run.tally.ok,
    'booking.graphqlErrors': run.tally.graphqlErrors,
    'booking.errors': r.errors,
    'booking.timeouts': r.timeouts,
    'booking.non2xx': r.non2xx,
    'booking.seconds': r.duration,
    ...cpuFigures('booking', o, run),
    ...(run.machine ? { 'booking.machineBusyCores': run.machine.busyCores } : {}),
    'booking.pgActiveBackendsAvg': activity.active,
    'booking.pgWaitingAdvisoryLockAvg': activity.advisoryWaits,
    'booking.pgWaitingOtherLocksAvg': activity.otherLockWaits,
    'booking.pgIdleInTransactionAvg': activity.idleInTransaction,
    ...(o.inProcess
      ? {
          'booking.sqlQueriesPerRequest': o.sqlQueries / perRequest,
          'booking.sqlMsPerRequest': statements.ms / perRequest,
          'booking.commitAvgMs': statements.commit ? statements.commit.totalMs / statements.commit.count : 0,
        }
      : o.topStatements
        ? {
            // pg_stat_statements: server-side execution times, not comparable with the in-process call → result times.
            'booking.pgssStatementsPerRequest': statements.count / perRequest,
            'booking.pgssExecMsPerRequest': statements.ms / perRequest,
            'booking.pgssCommitExecAvgMs': statements.commit ? statements.commit.totalMs / statements.commit.count : 0,
          }
        : {}),
  };
}

/** The figures of the summary table, in its order. */
export function bookingFigures(o: BookingOutcome): Record<string, number> {
  const { run, contended, trivial, contendedActivity, db } = o;
  const { booked, unanswered } = bookedAndUnanswered(o);
  return {
    ...runFigures(o),
    'contended.reservationsPerSec': contended.rps,
    'contended.p50Ms': contended.result.latency.p50,
    'contended.p99Ms': contended.result.latency.p99,
    'contended.maxMs': contended.result.latency.max,
    'contended.succeeded': contended.tally.ok,
    'contended.graphqlErrors': contended.tally.graphqlErrors,
    'contended.pgWaitingAdvisoryLockAvg': contendedActivity.advisoryWaits,
    'contended.pgWaitingOtherLocksAvg': contendedActivity.otherLockWaits,
    'contended.toUncontendedRatio': run.rps > 0 ? contended.rps / run.rps : 0,
    'trivial.reqPerSec': trivial.rps,
    'trivial.p50Ms': trivial.result.latency.p50,
    'trivial.p99Ms': trivial.result.latency.p99,
    'trivial.errors': trivial.result.errors + trivial.result.non2xx + trivial.tally.graphqlErrors,
    ...cpuFigures('trivial', o, trivial),
    'booking.toTrivialRatio': trivial.rps > 0 ? run.rps / trivial.rps : 0,
    'db.reservations': db.reservations,
    'db.reservedReservations': db.reserved,
    'db.auditEntriesCreated': db.auditEntries,
    'db.rollbacks': db.rollbacks,
    'db.linkOverlaps': db.linkOverlaps,
    'db.endpointOverlaps': db.endpointOverlaps,
    'db.bookedMinusOkResponses': db.reservations - booked,
    'db.unansweredAtRunEnds': unanswered,
  };
}

/** Throughput, latency and errors of the uncontended and contended runs. */
function printLoad(o: BookingOutcome): void {
  const { run, contended } = o;
  const r = run.result;
  line('reservations/s (successful)', `${run.rps.toFixed(1)} /s   (goal ≥ ${GOAL_RPS} /s)`);
  line(
    'latency p50 / p97.5 / p99 / max',
    `${ms(r.latency.p50)} / ${ms(r.latency.p97_5)} / ${ms(r.latency.p99)} / ${ms(r.latency.max)}   (goal p99 ≤ ${GOAL_P99_MS} ms)`,
  );
  line('requests sent / succeeded', `${r.requests.total} / ${run.tally.ok} in ${r.duration.toFixed(1)} s`);
  const contendedRatio = run.rps > 0 ? contended.rps / run.rps : 0;
  line(
    'contended: reservations/s',
    `${contended.rps.toFixed(1)} /s = ${contendedRatio.toFixed(2)} × uncontended   (goal ≥ ${GOAL_CONTENDED_RATIO}; ${contendedRatio >= GOAL_CONTENDED_RATIO ? 'met' : 'NOT met'})`,
  );
  line(
    'contended: p50 / p99 / max',
    `${ms(contended.result.latency.p50)} / ${ms(contended.result.latency.p99)} / ${ms(contended.result.latency.max)};  ` +
      `${contended.tally.graphqlErrors} GraphQL errors${contended.tally.sampleError ? ` e.g. ${contended.tally.sampleError}` : ''}`,
  );
  line('connection errors / timeouts', `${r.errors} / ${r.timeouts}`);
  line('non-2xx responses', `${r.non2xx}${run.tally.sampleBadStatus ? `   e.g. ${run.tally.sampleBadStatus}` : ''}`);
  line(
    'GraphQL errors',
    `${run.tally.graphqlErrors}${run.tally.errorCodes.size ? ` (${[...run.tally.errorCodes].map(([c, n]) => `${c} ×${n}`).join(', ')})` : ''}` +
      `${run.tally.sampleError ? `   e.g. ${run.tally.sampleError}` : ''}`,
  );
}

/** Where the CPU went: this process, the service process, the machine. */
function printCpu(o: BookingOutcome): void {
  const { run, inProcess, serverPid } = o;
  const serverCpu = run.serverCpuMsPerRequest;
  if (inProcess) {
    line('Node event-loop utilisation', `${pct(run.eventLoopUtilization)}   (server and client share it)`);
    line('Node CPU per request', `${run.cpuMsPerRequest.toFixed(2)} ms   (server + client)`);
  } else {
    line(
      'service CPU per request',
      serverCpu === null
        ? `not available (/proc/${serverPid}/stat unreadable)`
        : `${serverCpu.toFixed(2)} ms   (${pct(run.serverCpuShare ?? 0)} of one core, from /proc/${serverPid}/stat, all threads)`,
    );
    line('client CPU per request', `${run.cpuMsPerRequest.toFixed(2)} ms   (${pct(run.cpuShare)} of one core; autocannon and the sampler)`);
    line('client event-loop utilisation', `${pct(run.eventLoopUtilization)}   (the service’s own loop cannot be seen from here)`);
  }
  if (run.machine) {
    const m = run.machine;
    const ours = inProcess ? run.cpuShare : run.cpuShare + (run.serverCpuShare ?? 0);
    line(
      'machine CPU (all processes)',
      `${m.busyCores.toFixed(2)} of ${m.cores} cores busy, ${m.iowaitCores.toFixed(2)} in iowait; ` +
        `${(m.busyCores - ours).toFixed(2)} cores outside ${inProcess ? 'this process' : 'service and client'} (PostgreSQL, Redis, others)`,
    );
  }
}

/** What PostgreSQL backends waited on, and the statements by time spent. */
function printSql(o: BookingOutcome, out: Record<string, number>): void {
  const { activity, topStatements, inProcess } = o;
  const perRequest = Math.max(1, o.run.result.requests.total);
  line(
    'PostgreSQL backends (avg sampled)',
    `${activity.active.toFixed(1)} active, ${activity.advisoryWaits.toFixed(1)} waiting on advisory locks, ` +
      `${activity.otherLockWaits.toFixed(1)} on other locks, ${activity.idleInTransaction.toFixed(1)} idle in transaction`,
  );
  if (!topStatements) {
    line('SQL per request', '(in-process mode only: BENCH_INPROCESS=1; pg_stat_statements is not preloaded on this server)');
    return;
  }
  if (inProcess) {
    line(
      'SQL per request (service, via pg)',
      `${(o.sqlQueries / perRequest).toFixed(1)} statements, ${ms(out['booking.sqlMsPerRequest'])} summed statement time (call → result)`,
    );
  } else {
    const totals = statementTotals(topStatements);
    line(
      'SQL/request (pg_stat_statements)',
      `${(totals.count / perRequest).toFixed(1)} statements, ${ms(totals.ms / perRequest)} summed execution time (inside PostgreSQL)`,
    );
  }
  for (const [text, e] of topStatements.slice(0, 16)) {
    console.log(`      ${(e.count / perRequest).toFixed(2).padStart(5)}× ${ms(e.totalMs / e.count).padStart(9)} avg  ${text}`);
  }
}

/** The trivial query's figures and the throughput ratio. */
function printTrivial(o: BookingOutcome, out: Record<string, number>): void {
  const { trivial, inProcess } = o;
  const trivialServerCpu = trivial.serverCpuMsPerRequest;
  line(
    'trivial query ({ me { role } })',
    `${trivial.rps.toFixed(1)} req/s, p50 ${ms(trivial.result.latency.p50)}, p99 ${ms(trivial.result.latency.p99)}, ` +
      `${out['trivial.errors']} errors; ` +
      (inProcess
        ? `event loop ${pct(trivial.eventLoopUtilization)}, Node CPU ${trivial.cpuMsPerRequest.toFixed(2)} ms/request`
        : `CPU per request: service ${trivialServerCpu === null ? 'n/a' : `${trivialServerCpu.toFixed(2)} ms (${pct(trivial.serverCpuShare ?? 0)} of a core)`}, ` +
          `client ${trivial.cpuMsPerRequest.toFixed(2)} ms (${pct(trivial.cpuShare)} of a core); client event loop ${pct(trivial.eventLoopUtilization)}`),
  );
  line('booking / trivial throughput', `${out['booking.toTrivialRatio'].toFixed(3)}`);
}

/** What the database holds, and the verdict. */
function printDatabase(o: BookingOutcome): void {
  const { run, db } = o;
  const r = run.result;
  const { booked, unanswered } = bookedAndUnanswered(o);
  line(
    'reservations in the database',
    `${db.reservations} (${db.reserved} RESERVED; ${booked} successful responses incl. warm-up, ` +
      `${unanswered} requests unanswered when a run stopped)`,
  );
  line('overlapping allocations', `links ${db.linkOverlaps}, endpoints ${db.endpointOverlaps}   (must be 0)`);
  const met = run.rps >= GOAL_RPS && r.latency.p99 <= GOAL_P99_MS;
  line(
    'verdict',
    met
      ? 'goal MET'
      : `goal MISSED (${run.rps < GOAL_RPS ? 'throughput' : ''}${run.rps < GOAL_RPS && r.latency.p99 > GOAL_P99_MS ? ' and ' : ''}${r.latency.p99 > GOAL_P99_MS ? 'p99 latency' : ''})`,
  );
  if (db.linkOverlaps > 0 || db.endpointOverlaps > 0)
    console.log('  !! overlapping allocations found: the exclusion guarantees are broken');
  if (run.tally.errorCodes.has('INTERNAL')) console.log('  INTERNAL errors: BENCH_LOG_LEVEL=error shows their cause in the service log');
  const consistent = db.reservations >= booked && db.reservations <= booked + unanswered;
  if (!consistent) {
    console.log(
      `  !! ${db.reservations} reservations in the database, but ${booked} successful responses and ${unanswered} unanswered requests`,
    );
  }
}

export function printBookingReport(o: BookingOutcome, out: Record<string, number>): void {
  console.log('');
  printLoad(o);
  printCpu(o);
  printSql(o, out);
  printTrivial(o, out);
  printDatabase(o);
}
