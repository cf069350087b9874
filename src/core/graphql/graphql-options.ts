import { Logger } from '@nestjs/common';
import type { MercuriusDriverConfig } from '@nestjs/mercurius';
import type { FastifyRequest } from 'fastify';
import { GraphQLError, ValidationContext, ValidationRule } from 'graphql';
import depthLimit from 'graphql-depth-limit';
import { createComplexityRule, simpleEstimator } from 'graphql-query-complexity';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../config/config';
import { ErrorCode } from '../errors/app-error';

const logger = new Logger('GraphQL');
const KNOWN_CODES = new Set<string>(Object.values(ErrorCode));

/** What each resolver sees as its context. `principal` was set by the authentication hook. */
export function graphqlContext(request: FastifyRequest): Record<string, unknown> {
  return { principal: (request as FastifyRequest & { principal?: unknown }).principal, loaders: {} };
}

/** Depth and complexity limits, as validation rules (array form, so Mercurius can cache validated queries). */
export function protectionRules(config: AppConfig): ValidationRule[] {
  const depth = depthLimit(config.maxQueryDepth) as unknown as ValidationRule;
  const complexity = ((context: ValidationContext) =>
    createComplexityRule({
      maximumComplexity: config.maxQueryComplexity,
      estimators: [simpleEstimator({ defaultComplexity: 1 })],
      createError: (max, actual) =>
        new GraphQLError(
          `Query is too complex: ${actual} fields where at most ${max} are allowed; ask for fewer fields or page through lists.`,
          { extensions: { code: ErrorCode.BAD_USER_INPUT } },
        ),
    })(context)) as unknown as ValidationRule;
  return [depth, complexity];
}

/**
 * Every error leaves with one code of the closed set: errors raised before execution (syntax, validation,
 * variable coercion) are BAD_USER_INPUT; anything unexpected becomes INTERNAL with a reference to the log
 * line, never a stack trace or a driver message.
 */
export const errorFormatter: NonNullable<MercuriusDriverConfig['errorFormatter']> = (execution) => {
  const errors = execution.errors.map((error) => normalise(error));
  const beforeExecution = execution.data === undefined || execution.data === null
    ? errors.every((e) => !e.path)
    : false;
  const statusCode = beforeExecution && errors.some((e) => e.extensions.code === ErrorCode.BAD_USER_INPUT) ? 400 : 200;
  return {
    statusCode,
    response: { data: execution.data ?? null, errors: errors.map((e) => e.toJSON()) },
  };
};

function normalise(error: GraphQLError): GraphQLError {
  const original = error.originalError as (Error & { extensions?: Record<string, unknown>; errors?: GraphQLError[] }) | undefined;
  // Mercurius wraps validation failures in one error carrying the individual ones.
  const code = (error.extensions?.code ?? original?.extensions?.code) as string | undefined;
  if (code && KNOWN_CODES.has(code)) {
    return new GraphQLError(error.message, {
      path: error.path,
      nodes: error.nodes,
      extensions: { ...(original?.extensions ?? {}), ...error.extensions, code },
    });
  }
  if (!error.path) {
    return new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: ErrorCode.BAD_USER_INPUT } });
  }
  const reference = randomUUID();
  logger.error({ err: original ?? error, reference, path: error.path }, 'unexpected error in resolver');
  return new GraphQLError(`Internal error; quote reference ${reference} to the operator.`, {
    path: error.path,
    extensions: { code: ErrorCode.INTERNAL, reference },
  });
}
