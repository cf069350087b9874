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
  principal: Principal;
}

function principalOf(context: ExecutionContext): Principal | undefined {
  if (context.getType<string>() === 'graphql') {
    return GqlExecutionContext.create(context).getContext<RequestContext>().principal;
  }
  return (context.switchToHttp().getRequest() as { principal?: Principal }).principal;
}

/** The authenticated caller of the current GraphQL operation. */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const principal = principalOf(context);
  if (!principal) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Not authenticated.');
  return principal;
});

@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, [context.getHandler(), context.getClass()]);
    if (!roles || roles.length === 0) return true;
    const principal = principalOf(context);
    if (!principal) throw new AppError(ErrorCode.UNAUTHENTICATED, 'Not authenticated.');
    if (!roles.includes(principal.role)) {
      throw new AppError(
        ErrorCode.FORBIDDEN,
        `This operation needs role ${roles.join(' or ')}; your token has role ${principal.role}.`,
      );
    }
    return true;
  }
}
