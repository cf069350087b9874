import { Type } from '@nestjs/common';
import { Field, ObjectType } from '@nestjs/graphql';
import { badInput } from '../errors/app-error';
import { isUuid } from '../ids';
import { parseInstant } from '../time';

@ObjectType()
export class PageInfo {
  @Field()
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

/** Builds a Relay connection type for T (`edges { cursor node }`, `pageInfo`). */
export function Connection<T>(node: Type<T>, name: string) {
  @ObjectType(`${name}Edge`)
  class Edge {
    @Field()
    cursor!: string;

    @Field(() => node)
    node!: T;
  }

  @ObjectType(`${name}Connection`, { isAbstract: true })
  abstract class ConnectionType {
    @Field(() => [Edge])
    edges!: Edge[];

    @Field(() => PageInfo)
    pageInfo!: PageInfo;
  }
  return ConnectionType;
}

/** Keyset cursor over (createdAt, id), stable under concurrent inserts. */
export function encodeCursor(createdAt: Date, id: string): string {
  return Buffer.from(`${createdAt.toISOString()}|${id}`).toString('base64url');
}

/** Reads a cursor back; anything this service did not issue is refused before it can reach a query. */
export function decodeCursor(cursor: string, field = 'after'): { createdAt: Date; id: string } {
  const parts = /^[A-Za-z0-9_-]{1,200}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8').split('|') : [];
  const instant = parts.length === 2 ? parseInstant(parts[0]) : null;
  if (!instant?.ok || !isUuid(parts[1])) {
    throw badInput(field, `${field} is not a cursor this service issued; pass an endCursor from a previous page.`);
  }
  return { createdAt: instant.date, id: parts[1] };
}

export const MAX_PAGE_SIZE = 100;

export function pageSize(first: number | null | undefined): number {
  if (first === null || first === undefined) return 20;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE_SIZE) {
    throw badInput('first', `first must be between 1 and ${MAX_PAGE_SIZE}.`);
  }
  return first;
}
