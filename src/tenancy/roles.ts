import { CanActivate, ExecutionContext, Injectable, SetMetadata, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { GqlExecutionContext } from '@nestjs/graphql';
import { AppError, ErrorCode } from '../core/errors/app-error';
import type { Principal } from './principal';
import { Role } from './tenancy.entities';

const ROLES_KEY = 'apn:roles';

/** Restricts a resolver (class or method) to the given roles. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

export interface RequestContext {
  principal?: Principal;
  /** Why a WebSocket's connection_init token was refused; its subscriptions fail with this error. */
  authError?: AppError;
}

/** The authenticated caller, or the reason there is none. */
function principalOf(context: ExecutionContext): Principal {
  const ctx: RequestContext =
    context.getType<string>() === 'graphql'
      ? GqlExecutionContext.create(context).getContext<RequestContext>()
      : context.switchToHttp().getRequest<RequestContext>();
  if (ctx.principal) return ctx.principal;
  throw (
    ctx.authError ??
    new AppError(
      ErrorCode.UNAUTHENTICATED,
      'Not authenticated: send the header Authorization: Bearer <token> (on a WebSocket, or the connection_init payload { "authorization": "Bearer <token>" }).',
    )
  );
}

/** The authenticated caller of the current GraphQL operation. */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => principalOf(context));

@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (!roles || roles.length === 0) return true;
    const principal = principalOf(context);
    if (!roles.includes(principal.role)) {
      throw new AppError(ErrorCode.FORBIDDEN, `This operation needs role ${roles.join(' or ')}; your token has role ${principal.role}.`);
    }
    return true;
  }
}
