import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyInstance } from 'fastify';
import type { DataSource } from 'typeorm';
import { AppError, ErrorCode } from '../errors/app-error';

/** Marks the error a request gets once its time budget is spent; the error formatter answers it once. */
export const BUDGET_EXCEEDED = 'REQUEST_BUDGET_EXCEEDED';

/**
 * What one GraphQL request may use: a deadline after which it starts no new database work, and a share of
 * the connection pool, so that one request (a wide query resolving thousands of fields in parallel) can
 * neither run for long nor take every connection while other tenants' requests wait.
 */
export class RequestBudget {
  readonly deadline: number;
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    readonly budgetMs: number,
    readonly connections: number,
  ) {
    this.deadline = Date.now() + budgetMs;
  }

  expired(): boolean {
    return Date.now() > this.deadline;
  }

  exceeded(): AppError {
    return new AppError(
      ErrorCode.BAD_USER_INPUT,
      `The request ran past its budget of ${this.budgetMs} ms and was stopped; ask for fewer nested lists or smaller pages.`,
      { details: { reason: BUDGET_EXCEEDED, budgetMs: this.budgetMs } },
    );
  }

  /** Waits for one of the request's connections; the slot passes straight to the next waiter on release. */
  async acquire(): Promise<void> {
    if (this.expired()) throw this.exceeded();
    if (this.active < this.connections) {
      this.active += 1;
      return;
    }
    await new Promise<void>((resolveSlot) => this.waiting.push(resolveSlot));
    if (this.expired()) {
      this.release();
      throw this.exceeded();
    }
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active -= 1;
  }
}

const budgets = new AsyncLocalStorage<RequestBudget>();

/** Runs `work` (and everything it starts) under `budget`. */
export function withBudget<T>(budget: RequestBudget, work: () => T): T {
  return budgets.run(budget, work);
}

/** Runs `work` outside any request's budget: for timers and listeners that outlive the request starting them. */
export function outsideRequestBudget<T>(work: () => T): T {
  return budgets.exit(work);
}

/**
 * Gives every GraphQL request over HTTP its budget, for all the work it causes (the store follows its
 * promises). WebSocket subscriptions live for hours and are not budgeted.
 */
export function registerRequestBudget(fastify: FastifyInstance, options: { budgetMs: number; connections: number; route: string }): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (request.routeOptions.url !== options.route || request.headers.upgrade?.toLowerCase() === 'websocket') {
      done();
      return;
    }
    withBudget(new RequestBudget(options.budgetMs, options.connections), done);
  });
}

/**
 * Every database connection taken on behalf of a budgeted request counts against its share, and none is
 * taken once its deadline has passed. Wraps the driver's one place where pool connections are taken.
 */
export function gateConnectionsByRequest(dataSource: DataSource): void {
  const driver = dataSource.driver as unknown as {
    obtainMasterConnection(): Promise<[unknown, (error?: unknown) => unknown]>;
  };
  const obtain = driver.obtainMasterConnection.bind(driver);
  driver.obtainMasterConnection = async () => {
    const budget = budgets.getStore();
    if (!budget) return obtain();
    await budget.acquire();
    try {
      const [connection, release] = await obtain();
      let released = false;
      return [
        connection,
        (error?: unknown) => {
          if (!released) {
            released = true;
            budget.release();
          }
          return release(error);
        },
      ];
    } catch (error) {
      budget.release();
      throw error;
    }
  };
}
