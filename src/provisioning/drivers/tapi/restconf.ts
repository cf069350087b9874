/**
 * RESTCONF (RFC 8040) details the TAPI driver needs and nothing TAPI-specific: finding the root, reading error
 * bodies, Retry-After and the reason behind a failed fetch.
 */

export const MEDIA_TYPE = 'application/yang-data+json';

export interface RestconfError {
  readonly tag?: string;
  readonly appTag?: string;
  readonly message?: string;
}

/**
 * The RESTCONF root from a /.well-known/host-meta answer (RFC 8040 §3.1): the href of the Link whose rel is
 * "restconf", in the XRD document RFC 6415 defines or its JSON form ({ "links": [{ "rel", "href" }] }).
 * Returns the path (an absolute href is reduced to its path when it is on the same origin), or null.
 */
export function parseHostMeta(text: string, baseUrl: string): string | null {
  let href: string | undefined;
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    try {
      const links = (JSON.parse(trimmed) as { links?: unknown }).links;
      const link = Array.isArray(links) ? (links as Array<Record<string, unknown>>).find((l) => l && l.rel === 'restconf') : undefined;
      href = typeof link?.href === 'string' ? link.href : undefined;
    } catch {
      return null;
    }
  } else {
    for (const match of trimmed.matchAll(/<Link\b([^>]*)>/gi)) {
      const attributes = match[1];
      const rel = /\brel\s*=\s*(["'])(.*?)\1/i.exec(attributes)?.[2];
      if (rel !== 'restconf') continue;
      href = /\bhref\s*=\s*(["'])(.*?)\1/i.exec(attributes)?.[2];
      break;
    }
  }
  if (href === undefined || href === '') return null;
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  const resolved = new URL(href, base);
  if (resolved.origin !== base.origin) return null;
  return normalizeRoot(resolved.pathname);
}

/** "/rests/" and "rests" → "/rests"; "/" → "" (the data resource then sits at /data). */
export function normalizeRoot(root: string): string {
  const trimmed = root.trim().replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/** The error list of an RFC 8040 §7.1 body: { "ietf-restconf:errors": { "error": [ {error-tag, error-message} ] } }. */
export function restconfErrors(body: unknown): RestconfError[] {
  if (typeof body !== 'object' || body === null) return [];
  const object = body as Record<string, unknown>;
  const container = object['ietf-restconf:errors'] ?? object.errors;
  if (typeof container !== 'object' || container === null) return [];
  const list = (container as Record<string, unknown>).error;
  const entries = Array.isArray(list) ? list : [list];
  return entries
    .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
    .map((e) => ({
      tag: typeof e['error-tag'] === 'string' ? e['error-tag'] : undefined,
      appTag: typeof e['error-app-tag'] === 'string' ? e['error-app-tag'] : undefined,
      message: typeof e['error-message'] === 'string' ? e['error-message'] : undefined,
    }));
}

/** Retry-After is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

export function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * undici reports "fetch failed" and hides the reason (ECONNREFUSED, ENOTFOUND, ...) in `cause`. Read by shape, not
 * instanceof: fetch's errors can come from another realm (as under Jest), where Error is a different class.
 */
export function describeNetworkError(error: unknown): string {
  const outer = error as { message?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  const cause = outer?.cause;
  if (cause && typeof cause === 'object') {
    const message = typeof cause.message === 'string' ? cause.message : '';
    if (typeof cause.code === 'string') return message ? `${cause.code} (${message})` : cause.code;
    if (message) return message;
  }
  return typeof outer?.message === 'string' ? outer.message : String(error);
}
