import { BlockList, isIP } from 'node:net';

/**
 * Which IP addresses a webhook may be delivered to. A subscriber chooses the URL, so without this rule a
 * subscription is a way to make the service send requests inside its own network (loopback services, the
 * cloud metadata endpoint, the database) and read the outcome back from the delivery log.
 *
 * Refused: every range of the IANA IPv4 and IPv6 special-purpose address registries (RFC 6890 and its
 * updates) that is not globally reachable, plus multicast, broadcast and everything outside IPv6 global
 * unicast (2000::/3). IPv6 forms that carry an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are
 * judged by the IPv4 address they carry, so `::ffff:127.0.0.1` is loopback like `127.0.0.1`.
 *
 * No I/O here: callers resolve host names and pass the addresses.
 */

export type Family = 'ipv4' | 'ipv6';

interface Range {
  readonly cidr: string;
  /** What the range is, as it is named in the registries; shown to the user. */
  readonly kind: string;
  readonly list: BlockList;
}

function range(cidr: string, kind: string): Range {
  const [network, prefix] = cidr.split('/');
  const list = new BlockList();
  list.addSubnet(network, Number(prefix), isIP(network) === 4 ? 'ipv4' : 'ipv6');
  return { cidr, kind, list };
}

// Most specific first: the first match names the reason.
const IPV4_REFUSED: readonly Range[] = [
  range('255.255.255.255/32', 'the limited broadcast address'),
  range('0.0.0.0/8', 'an unspecified ("this network") address'),
  range('10.0.0.0/8', 'a private address'),
  range('100.64.0.0/10', 'a carrier-grade NAT (shared) address'),
  range('127.0.0.0/8', 'a loopback address'),
  range('169.254.0.0/16', 'a link-local address (where cloud metadata services answer)'),
  range('172.16.0.0/12', 'a private address'),
  range('192.0.0.0/24', 'a reserved address (IETF protocol assignments)'),
  range('192.0.2.0/24', 'a reserved address (documentation)'),
  range('192.88.99.0/24', 'a reserved address (former 6to4 relay anycast)'),
  range('192.168.0.0/16', 'a private address'),
  range('198.18.0.0/15', 'a reserved address (benchmarking)'),
  range('198.51.100.0/24', 'a reserved address (documentation)'),
  range('203.0.113.0/24', 'a reserved address (documentation)'),
  range('224.0.0.0/4', 'a multicast address'),
  range('240.0.0.0/4', 'a reserved address'),
];

// Inside ::/96 (IPv4-compatible), so judged before the forms that carry an IPv4 address.
const IPV6_UNSPECIFIED_AND_LOOPBACK: readonly Range[] = [range('::/128', 'an unspecified address'), range('::1/128', 'a loopback address')];

const IPV6_REFUSED: readonly Range[] = [
  range('64:ff9b:1::/48', 'a reserved address (local-use NAT64)'),
  range('100::/64', 'a reserved address (discard-only)'),
  range('2001:db8::/32', 'a reserved address (documentation)'),
  range('2001::/23', 'a reserved address (IETF protocol assignments, incl. Teredo)'),
  range('3fff::/20', 'a reserved address (documentation)'),
  range('fc00::/7', 'a private (unique local) address'),
  range('fe80::/10', 'a link-local address'),
  range('fec0::/10', 'a site-local address'),
  range('ff00::/8', 'a multicast address'),
];

const IPV6_GLOBAL_UNICAST = range('2000::/3', 'global unicast');

/** IPv6 forms that carry an IPv4 address, where that address sits (byte offset) and what the form is called. */
const IPV4_CARRIERS: ReadonlyArray<{ range: Range; offset: number; form: string }> = [
  { range: range('::ffff:0:0/96', ''), offset: 12, form: 'IPv4-mapped' },
  { range: range('::/96', ''), offset: 12, form: 'IPv4-compatible' },
  { range: range('64:ff9b::/96', ''), offset: 12, form: 'NAT64' },
  { range: range('2002::/16', ''), offset: 2, form: '6to4' },
];

export type Verdict = { readonly refused: false } | { readonly refused: true; readonly reason: string };

const ALLOWED: Verdict = Object.freeze({ refused: false });

/** Whether `address` (an IPv4 or IPv6 address as `net.isIP` accepts it, without brackets) may be a target. */
export function classifyAddress(address: string): Verdict {
  const version = isIP(address);
  if (version === 4) {
    const hit = IPV4_REFUSED.find((r) => r.list.check(address, 'ipv4'));
    return hit ? { refused: true, reason: `${hit.kind} (${hit.cidr})` } : ALLOWED;
  }
  if (version !== 6) return { refused: true, reason: 'not an IP address' };
  const local = IPV6_UNSPECIFIED_AND_LOOPBACK.find((r) => r.list.check(address, 'ipv6'));
  if (local) return { refused: true, reason: `${local.kind} (${local.cidr})` };
  for (const carrier of IPV4_CARRIERS) {
    if (!carrier.range.list.check(address, 'ipv6')) continue;
    const embedded = embeddedIpv4(address, carrier.offset);
    const inner = classifyAddress(embedded);
    if (inner.refused) return { refused: true, reason: `the ${carrier.form} form of ${embedded}, ${inner.reason}` };
    // IPv4-compatible addresses are deprecated (RFC 4291 §2.5.5.1): nothing legitimate uses them.
    if (carrier.form === 'IPv4-compatible')
      return { refused: true, reason: `a deprecated IPv4-compatible address (${carrier.range.cidr})` };
    return ALLOWED;
  }
  const hit = IPV6_REFUSED.find((r) => r.list.check(address, 'ipv6'));
  if (hit) return { refused: true, reason: `${hit.kind} (${hit.cidr})` };
  if (!IPV6_GLOBAL_UNICAST.list.check(address, 'ipv6')) return { refused: true, reason: 'outside IPv6 global unicast (2000::/3)' };
  return ALLOWED;
}

/** The IPv4 address found at `offset` in the 16 bytes of an IPv6 address. */
function embeddedIpv4(ipv6: string, offset: number): string {
  return Array.from(ipv6Bytes(ipv6).subarray(offset, offset + 4)).join('.');
}

/** The 16 bytes of a valid IPv6 address, dotted-quad tail and `::` included. */
export function ipv6Bytes(address: string): Uint8Array {
  let text = address;
  const groups: number[] = [];
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number);
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const before = parse(head);
  const after = parse(tail);
  groups.push(...before);
  if (tail !== undefined) groups.push(...new Array<number>(8 - before.length - after.length).fill(0));
  groups.push(...after);
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** `[::1]` → `::1`: URL host names keep IPv6 literals in brackets. */
export function unbracket(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/**
 * The operator's exceptions (`APN_WEBHOOK_ALLOWED_TARGETS`): networks whose addresses may be targets, and
 * host names that may be targets whatever they resolve to. For on-premises billing systems.
 */
export class TargetAllowList {
  private readonly networks = new BlockList();
  private readonly hosts: ReadonlySet<string>;
  readonly empty: boolean;

  constructor(entries: { networks: readonly string[]; hosts: readonly string[] }) {
    for (const cidr of entries.networks) {
      const [network, prefix] = cidr.split('/');
      this.networks.addSubnet(network, Number(prefix), isIP(network) === 4 ? 'ipv4' : 'ipv6');
    }
    this.hosts = new Set(entries.hosts.map(normalHostName));
    this.empty = entries.networks.length === 0 && entries.hosts.length === 0;
  }

  /** `hostname` as in a URL (lower case, IPv6 in brackets). */
  allowsHost(hostname: string): boolean {
    return this.hosts.has(normalHostName(hostname));
  }

  allowsAddress(address: string): boolean {
    const version = isIP(address);
    if (version === 0) return false;
    // An IPv4-mapped address is the IPv4 address itself: the allow-list need not list both forms.
    const family: Family = version === 4 ? 'ipv4' : 'ipv6';
    return this.networks.check(address, family);
  }
}

/** Host names compare without case and without the root's trailing dot. */
function normalHostName(hostname: string): string {
  return hostname.toLowerCase().replace(/\.$/, '');
}

export type Vetting =
  | { readonly refused: false; readonly addresses: readonly string[] }
  | { readonly refused: true; readonly address: string; readonly reason: string };

/**
 * Judges what a host resolved to: every address must be allowed, since the connection may use any of
 * them (a name answering with one public and one internal address is refused).
 */
export function vetAddresses(addresses: readonly string[], allow: TargetAllowList): Vetting {
  for (const address of addresses) {
    if (allow.allowsAddress(address)) continue;
    const verdict = classifyAddress(address);
    if (verdict.refused) return { refused: true, address, reason: verdict.reason };
  }
  return { refused: false, addresses };
}
