import { TargetAllowList, classifyAddress, ipv6Bytes, unbracket, vetAddresses } from './target-address';

const reasonOf = (address: string) => {
  const verdict = classifyAddress(address);
  return verdict.refused ? verdict.reason : null;
};

/** The host name the WHATWG URL parser (and so the delivery) ends up with. */
const hostOf = (url: string) => unbracket(new URL(url).hostname);

describe('webhook target addresses', () => {
  it.each([
    ['127.0.0.1', /loopback/],
    ['127.255.0.9', /loopback/],
    ['0.0.0.0', /unspecified/],
    ['0.1.2.3', /unspecified/],
    ['10.1.2.3', /private.*10\.0\.0\.0\/8/],
    ['172.16.0.1', /private.*172\.16\.0\.0\/12/],
    ['172.31.255.255', /private/],
    ['192.168.1.1', /private.*192\.168\.0\.0\/16/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['100.127.255.254', /carrier-grade NAT/],
    ['169.254.169.254', /link-local.*metadata/],
    ['192.0.0.8', /reserved/],
    ['192.0.2.10', /documentation/],
    ['198.18.0.1', /benchmarking/],
    ['198.51.100.7', /documentation/],
    ['203.0.113.7', /documentation/],
    ['224.0.0.1', /multicast/],
    ['239.255.255.250', /multicast/],
    ['240.0.0.1', /reserved/],
    ['255.255.255.255', /broadcast/],
  ])('refuses IPv4 %s', (address, reason) => {
    expect(reasonOf(address)).toMatch(reason);
  });

  it.each([
    ['::1', /loopback/],
    ['::', /unspecified/],
    ['fe80::1', /link-local/],
    ['febf:ffff::1', /link-local/],
    ['fc00::1', /unique local/],
    ['fd12:3456::1', /unique local/],
    ['fec0::1', /site-local/],
    ['ff02::1', /multicast/],
    ['2001:db8::1', /documentation/],
    ['2001:0:4136:e378::1', /Teredo/],
    ['100::1', /discard/],
    ['64:ff9b:1::1', /local-use NAT64/],
    ['4000::1', /outside IPv6 global unicast/],
  ])('refuses IPv6 %s', (address, reason) => {
    expect(reasonOf(address)).toMatch(reason);
  });

  it.each([
    ['::ffff:127.0.0.1', /IPv4-mapped form of 127\.0\.0\.1, a loopback/],
    ['::ffff:7f00:1', /IPv4-mapped form of 127\.0\.0\.1, a loopback/],
    ['0:0:0:0:0:ffff:a9fe:a9fe', /IPv4-mapped form of 169\.254\.169\.254, a link-local/],
    ['::ffff:10.0.0.1', /IPv4-mapped form of 10\.0\.0\.1, a private/],
    ['::127.0.0.1', /IPv4-compatible form of 127\.0\.0\.1, a loopback/],
    ['::7f00:1', /IPv4-compatible form of 127\.0\.0\.1/],
    ['::8.8.8.8', /deprecated IPv4-compatible/],
    ['64:ff9b::a00:1', /NAT64 form of 10\.0\.0\.1/],
    ['2002:7f00:1::1', /6to4 form of 127\.0\.0\.1/],
    ['2002:c0a8:101::1', /6to4 form of 192\.168\.1\.1/],
  ])('judges the IPv4 address inside %s', (address, reason) => {
    expect(reasonOf(address)).toMatch(reason);
  });

  it.each([
    '8.8.8.8',
    '93.184.215.14',
    '172.32.0.1',
    '100.128.0.1',
    '192.169.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('accepts the public address %s', (address) => {
    expect(classifyAddress(address)).toEqual({ refused: false });
  });
});

describe('webhook target addresses in other spellings', () => {
  it('refuses what is not an address', () => {
    expect(reasonOf('localhost')).toBe('not an IP address');
    expect(reasonOf('0177.0.0.1')).toBe('not an IP address');
  });

  it.each([
    'http://127.0.0.1/',
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0177.0.0.1/',
    'http://127.1/',
    'http://0x7f.1/',
    'http://%31%32%37.0.0.1/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:7f00:1]/',
    'http://[0:0:0:0:0:ffff:127.0.0.1]/',
  ])('sees loopback in every spelling the URL parser normalises: %s', (url) => {
    expect(reasonOf(hostOf(url))).toMatch(/loopback/);
  });

  it('reads the bytes of IPv6 addresses in every notation', () => {
    expect(Array.from(ipv6Bytes('::1'))).toEqual([...new Array(15).fill(0), 1]);
    expect(Array.from(ipv6Bytes('::ffff:127.0.0.1').subarray(10))).toEqual([0xff, 0xff, 127, 0, 0, 1]);
    expect(Array.from(ipv6Bytes('2001:db8::8:800:200c:417a'))).toEqual([
      0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0x08, 0x08, 0, 0x20, 0x0c, 0x41, 0x7a,
    ]);
    expect(Array.from(ipv6Bytes('1:2:3:4:5:6:7:8'))).toEqual([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
    expect(Array.from(ipv6Bytes('fe80::'))).toEqual([0xfe, 0x80, ...new Array(14).fill(0)]);
  });
});

describe('the operator allow-list for webhook targets', () => {
  const allow = new TargetAllowList({ networks: ['10.20.0.0/16', '127.0.0.1/32', 'fd00:1::/32'], hosts: ['billing.corp.internal'] });

  it('lets listed networks through, and nothing beside them', () => {
    expect(allow.allowsAddress('10.20.3.4')).toBe(true);
    expect(allow.allowsAddress('10.21.0.1')).toBe(false);
    expect(allow.allowsAddress('127.0.0.1')).toBe(true);
    expect(allow.allowsAddress('127.0.0.2')).toBe(false);
    expect(allow.allowsAddress('fd00:1:ffff::1')).toBe(true);
    expect(allow.allowsAddress('fd00:2::1')).toBe(false);
    expect(allow.allowsAddress('not-an-address')).toBe(false);
  });

  it('treats an IPv4-mapped address as the IPv4 address', () => {
    expect(allow.allowsAddress('::ffff:127.0.0.1')).toBe(true);
    expect(allow.allowsAddress('::ffff:7f00:2')).toBe(false);
  });

  it('matches host names without case or trailing dot, and not their subdomains', () => {
    expect(allow.allowsHost('billing.corp.internal')).toBe(true);
    expect(allow.allowsHost('BILLING.corp.internal.')).toBe(true);
    expect(allow.allowsHost('evil.billing.corp.internal')).toBe(false);
    expect(allow.allowsHost('localhost')).toBe(false);
  });

  it('refuses a name when any address it resolves to is refused', () => {
    expect(vetAddresses(['93.184.215.14', '127.0.0.1'], new TargetAllowList({ networks: [], hosts: [] }))).toEqual({
      refused: true,
      address: '127.0.0.1',
      reason: 'a loopback address (127.0.0.0/8)',
    });
    expect(vetAddresses(['93.184.215.14', '10.20.0.9'], allow)).toEqual({ refused: false, addresses: ['93.184.215.14', '10.20.0.9'] });
    expect(vetAddresses(['127.0.0.1', '::1'], allow)).toMatchObject({ refused: true, address: '::1' });
  });
});
