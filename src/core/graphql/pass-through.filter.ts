import { ArgumentsHost, Catch } from '@nestjs/common';
import { GqlExceptionFilter } from '@nestjs/graphql';

/**
 * Hands every resolver error to GraphQL unchanged, where the error formatter gives it its code and logs
 * only the unexpected ones: user errors (BAD_USER_INPUT, NO_CAPACITY, …) are answers, not incidents.
 */
@Catch()
export class PassThroughGqlFilter implements GqlExceptionFilter {
  catch(exception: unknown, _host: ArgumentsHost): unknown {
    return exception;
  }
}
