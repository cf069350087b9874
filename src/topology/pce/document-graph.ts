import type { PceLink, PceNode } from './types';

/** The parts of a topology document (see reference-topology.json) the engine needs, keyed by code. */
export interface GraphDocument {
  nodes: ReadonlyArray<{ code: string }>;
  links: ReadonlyArray<{ code: string; a: string; b: string; lengthKm: number; channelCount: number }>;
}

/** Nodes and links of a topology document with their codes as ids, for tests and benchmarks of the engine. */
export function graphFromDocument(doc: GraphDocument): { nodes: PceNode[]; links: PceLink[] } {
  return {
    nodes: doc.nodes.map((n) => ({ id: n.code })),
    links: doc.links.map((l) => ({ id: l.code, a: l.a, b: l.b, lengthKm: l.lengthKm, channelCount: l.channelCount })),
  };
}
