import { Injectable } from '@nestjs/common';
import { badInput, notFound } from '../core/errors/app-error';
import { isUuid } from '../core/ids';
import { Link } from '../topology/topology.models';
import { TopologyService } from '../topology/topology.service';
import { LinkOccupancy, OCCUPANCY_BOUNDS } from './link-occupancy.models';
import { LinkOccupancyRepository } from './link-occupancy.repository';

/** A link's spectrum × time: which channel each booking used when, over a bounded span. */
@Injectable()
export class LinkOccupancyService {
  constructor(
    private readonly occupancy: LinkOccupancyRepository,
    private readonly topology: TopologyService,
  ) {}

  async read(linkId: string, from: Date, to: Date): Promise<LinkOccupancy> {
    if (!(to.getTime() > from.getTime())) throw badInput('to', 'to must be later than from.');
    if (to.getTime() - from.getTime() > OCCUPANCY_BOUNDS.maxSpanDays * 86_400_000) {
      throw badInput('to', `The span from \`from\` to \`to\` may be at most ${OCCUPANCY_BOUNDS.maxSpanDays} days.`);
    }
    const link = isUuid(linkId) ? (await this.topology.snapshot({ maxAgeMs: 1000 })).links.get(linkId) : undefined;
    if (!link) throw notFound('Link', linkId);
    const blocks = await this.occupancy.overlapping(linkId, from, to, OCCUPANCY_BOUNDS.maxBlocks + 1);
    return Object.assign(new LinkOccupancy(), {
      link: Link.from(link),
      from,
      to,
      blocks: blocks.slice(0, OCCUPANCY_BOUNDS.maxBlocks),
      truncated: blocks.length > OCCUPANCY_BOUNDS.maxBlocks,
    });
  }
}
