import { Args, ID, Query, Resolver } from '@nestjs/graphql';
import { Roles } from '../tenancy/roles';
import { Role } from '../tenancy/tenancy.entities';
import { LinkOccupancy, OCCUPANCY_BOUNDS } from './link-occupancy.models';
import { LinkOccupancyService } from './link-occupancy.service';

@Resolver()
@Roles(Role.OPERATOR)
export class LinkOccupancyResolver {
  constructor(private readonly occupancy: LinkOccupancyService) {}

  @Query(() => LinkOccupancy, {
    description: `Which channel of a link each booking uses over [from, to) (at most ${OCCUPANCY_BOUNDS.maxSpanDays} days), in every state. Operator only.`,
  })
  linkOccupancy(
    @Args('linkId', { type: () => ID }) linkId: string,
    @Args('from') from: Date,
    @Args('to') to: Date,
  ): Promise<LinkOccupancy> {
    return this.occupancy.read(linkId, from, to);
  }
}
