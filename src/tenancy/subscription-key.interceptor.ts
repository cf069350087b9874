import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { GqlContextType, GqlExecutionContext } from '@nestjs/graphql';
import type { GraphQLResolveInfo } from 'graphql';
import { mergeMap, type Observable } from 'rxjs';
import { ApiKeySessions, type SubscriptionSocket } from './api-key-sessions';
import type { Principal } from './principal';

interface SubscriptionContext {
  principal?: Principal;
  /** The WebSocket the subscription runs on (see subscriptionOptions). */
  socket?: SubscriptionSocket;
}

/**
 * Every GraphQL subscription, whatever its resolver, ends when the API key that opened it is revoked: the
 * event stream a subscription resolver returns is handed to ApiKeySessions before the server reads it.
 */
@Injectable()
export class SubscriptionKeyInterceptor implements NestInterceptor {
  constructor(private readonly sessions: ApiKeySessions) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType<GqlContextType>() !== 'graphql') return next.handle();
    const gql = GqlExecutionContext.create(context);
    if (gql.getInfo<GraphQLResolveInfo>().operation.operation !== 'subscription') return next.handle();
    const { principal, socket } = gql.getContext<SubscriptionContext>();
    return next.handle().pipe(mergeMap((events) => this.sessions.bind(principal, socket, events as AsyncIterableIterator<unknown>)));
  }
}
