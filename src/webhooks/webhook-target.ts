import { Inject, Injectable } from '@nestjs/common';
import { promises as dns, type LookupAddress } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { APP_CONFIG, type AppConfig } from '../core/config/config';
import { TargetAllowList, classifyAddress, unbracket, vetAddresses } from './target-address';

/** What an operator does about a refused target that is a legitimate on-premises billing system. */
export const ALLOW_LIST_HINT = 'the operator can list its address, network or host name in APN_WEBHOOK_ALLOWED_TARGETS';

/** The target is inside the network and not allowed: no retry can change that. */
export class TargetRefused extends Error {}

/** The host name did not resolve, so its addresses cannot be checked; DNS failures may pass. */
export class TargetUnresolved extends Error {}

export interface VettedTarget {
  readonly url: URL;
  /** Every address the connection may use, each checked; null for an allowed host name (any address goes). */
  readonly addresses: readonly LookupAddress[] | null;
}

/**
 * Where webhooks may go, and the one way they are sent. A target's host is resolved and every address
 * checked (target-address.ts); the request then connects to those very addresses, never resolving the
 * name again, so a DNS answer that changes between the check and the connection (DNS rebinding) cannot
 * lead inside. Redirects are not followed: a 3xx answer is a failed attempt like any other non-2xx.
 */
@Injectable()
export class WebhookTargets {
  private readonly allow: TargetAllowList;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.allow = new TargetAllowList(config.webhookAllowedTargets);
  }

  /** Throws TargetRefused or TargetUnresolved; `signal` bounds the DNS lookup. */
  async vet(url: URL, signal: AbortSignal): Promise<VettedTarget> {
    const host = unbracket(url.hostname);
    const version = isIP(host);
    if (version !== 0) {
      const verdict = this.allow.allowsAddress(host) ? null : classifyAddress(host);
      if (verdict?.refused) throw new TargetRefused(`${host} is ${verdict.reason}`);
      return { url, addresses: [{ address: host, family: version }] };
    }
    if (this.allow.allowsHost(host)) return { url, addresses: null };
    const addresses = await resolve(host, signal);
    const vetting = vetAddresses(
      addresses.map((a) => a.address),
      this.allow,
    );
    if (vetting.refused) throw new TargetRefused(`${host} resolves to ${vetting.address}, ${vetting.reason}`);
    return { url, addresses };
  }

  /** POSTs `body` to a vetted target; resolves with the answer's status once its headers arrive. */
  post(target: VettedTarget, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<number> {
    const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolvePromise, reject) => {
      const request = send(
        target.url,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          // A fresh connection per delivery: a pooled socket would skip the check of this delivery's addresses.
          agent: false,
          ...(target.addresses ? { lookup: pinnedLookup(target.addresses) } : {}),
          signal,
        },
        (response) => {
          resolvePromise(response.statusCode ?? 0);
          response.destroy();
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }
}

async function resolve(host: string, signal: AbortSignal): Promise<LookupAddress[]> {
  if (signal.aborted) throw new TargetUnresolved(`${host} did not resolve in time`);
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new TargetUnresolved(`${host} did not resolve in time`));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    // getaddrinfo, as the connection itself would use: /etc/hosts and the system's resolver both count.
    return await Promise.race([dns.lookup(host, { all: true, verbatim: true }), aborted]);
  } catch (error) {
    if (error instanceof TargetUnresolved) throw error;
    throw new TargetUnresolved(`${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** A `lookup` that answers with the checked addresses only, whatever DNS says by now. */
function pinnedLookup(addresses: readonly LookupAddress[]): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 4 || options.family === 'IPv4' ? 4 : options.family === 6 || options.family === 'IPv6' ? 6 : 0;
    const usable = family === 0 ? [...addresses] : addresses.filter((a) => a.family === family);
    if (usable.length === 0) {
      callback(Object.assign(new Error(`${hostname} has no checked IPv${family} address`), { code: 'ENOTFOUND' }), '', 0);
    } else if (options.all) {
      callback(null, usable);
    } else {
      callback(null, usable[0].address, usable[0].family);
    }
  };
}
