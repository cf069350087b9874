/**
 * A booking request and the checks it must pass before any capacity is read: a window in the future of at
 * least the minimum duration, existing endpoints of the requested rate at two different sites.
 */
import { createHash } from 'node:crypto';
import { isUuid } from '../core/ids';
import { badInput } from '../core/errors/app-error';
import { type WindowLimits, windowProblem } from '../core/time';
import type { TopologySnapshot } from '../topology/topology.service';

export interface ReserveRequest {
  sourceEndpointId: string;
  destinationEndpointId: string;
  rateGbps: number;
  start: Date;
  end: Date;
  idempotencyKey?: string | null;
  autoCommit?: boolean | null;
  tenantId?: string | null;
  requireLinkEncryption?: boolean | null;
}

/** Grace for a start slightly in the past (clock skew, a request composed "now"). */
const PAST_START_GRACE_MS = 5 * 60_000;

export interface BookingLimits extends WindowLimits {
  minDurationSeconds: number;
}

export function validateBooking(
  snapshot: TopologySnapshot,
  input: ReserveRequest,
  config: BookingLimits,
): { sourceNodeId: string; destinationNodeId: string } {
  const now = Date.now();
  if (input.start.getTime() >= input.end.getTime()) {
    throw badInput('input.end', `end (${input.end.toISOString()}) must be after start (${input.start.toISOString()}).`);
  }
  if (input.end.getTime() <= now) {
    throw badInput('input.end', `end (${input.end.toISOString()}) is in the past; book a window that ends in the future.`);
  }
  if (input.start.getTime() < now - PAST_START_GRACE_MS) {
    throw badInput('input.start', `start (${input.start.toISOString()}) is in the past; use a start at or after now.`);
  }
  const durationS = (input.end.getTime() - input.start.getTime()) / 1000;
  if (durationS < config.minDurationSeconds) {
    throw badInput('input.end', `The window lasts ${durationS} s; the minimum is ${config.minDurationSeconds} s. Move end later.`);
  }
  const unbounded = windowProblem({ start: 'input.start', end: 'input.end' }, input.start, input.end, config, now);
  if (unbounded) throw badInput(unbounded.field, unbounded.message);
  if (
    input.idempotencyKey !== undefined &&
    input.idempotencyKey !== null &&
    (input.idempotencyKey.length < 1 || input.idempotencyKey.length > 200)
  ) {
    throw badInput('input.idempotencyKey', 'idempotencyKey must be 1 to 200 characters.');
  }
  const ends = (['source', 'destination'] as const).map((side) => {
    const field = `input.${side}EndpointId`;
    const id = side === 'source' ? input.sourceEndpointId : input.destinationEndpointId;
    const endpoint = isUuid(id) ? snapshot.endpoints.get(id) : undefined;
    if (!endpoint) throw badInput(field, `${field}: endpoint ${id} does not exist; list endpoints with the endpoints query.`);
    if (endpoint.rateGbps !== input.rateGbps) {
      throw badInput(
        field,
        `${field}: endpoint ${endpoint.code} runs at ${endpoint.rateGbps} Gbps, not ${input.rateGbps}; pick an endpoint of that rate or set rateGbps to ${endpoint.rateGbps}.`,
      );
    }
    if (input.requireLinkEncryption && !endpoint.encryption) {
      throw badInput(
        field,
        `${field}: the transponder of endpoint ${endpoint.code} cannot encrypt, and requireLinkEncryption asks for both ends to; pick an endpoint with encryption (see endpoints { code encryption }).`,
      );
    }
    const nodeId = snapshot.nodeOfEndpoint(endpoint);
    if (!nodeId) throw badInput(field, `${field}: the site of endpoint ${endpoint.code} is not attached to an APN node.`);
    return { endpoint, nodeId };
  });
  if (ends[0].endpoint.siteId === ends[1].endpoint.siteId) {
    throw badInput('input.destinationEndpointId', 'Source and destination are at the same site; a lightpath joins two different sites.');
  }
  return { sourceNodeId: ends[0].nodeId, destinationNodeId: ends[1].nodeId };
}

/** What makes two requests with the same idempotency key the same request. */
export function fingerprintOf(tenantId: string, input: ReserveRequest): string {
  return createHash('sha256')
    .update(
      JSON.stringify([
        tenantId,
        input.sourceEndpointId,
        input.destinationEndpointId,
        input.rateGbps,
        input.start.toISOString(),
        input.end.toISOString(),
        Boolean(input.autoCommit),
        // Appended only when asked, so the fingerprints of earlier bookings stay what they were.
        ...(input.requireLinkEncryption ? ['requireLinkEncryption'] : []),
      ]),
    )
    .digest('hex');
}
