import { isIPv4, isIPv6 } from 'node:net';

/**
 * A client address with its host part removed, so it names a network rather than a person (as
 * Google Analytics and Matomo do): IPv4 to its /24 (`203.0.113.57` → `203.0.113.0`), IPv6 to its /48
 * (`2001:db8:85a3:8d3:1319:8a2e:370:7348` → `2001:db8:85a3::`). An IPv4-mapped IPv6 address
 * (`::ffff:198.51.100.23`, what a dual-stack socket reports for an IPv4 client) is an IPv4 client: it
 * becomes its IPv4 /24 (`198.51.100.0`). Undefined for text that is not an address, which is then not
 * recorded at all.
 */
export function anonymizeIp(ip: string): string | undefined {
  if (isIPv4(ip)) return ipv4Network(ip);
  const address = ip.split('%')[0] ?? ip; // a zone (`fe80::1%eth0`) names a local interface: not kept
  if (!isIPv6(address)) return undefined;
  const groups = ipv6Groups(address);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [high = 0, low = 0] = groups.slice(6);
    return ipv4Network(`${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`);
  }
  return canonicalIpv6(
    `${groups
      .slice(0, 3)
      .map((g) => g.toString(16))
      .join(':')}::`,
  );
}

function ipv4Network(ip: string): string {
  return `${ip.slice(0, ip.lastIndexOf('.'))}.0`;
}

/** The eight 16-bit groups of an IPv6 address (any valid text form, embedded IPv4 included). */
function ipv6Groups(address: string): number[] {
  // The WHATWG URL parser writes IPv6 in hexadecimal groups only, `::` for the longest run of zeros.
  const [head = '', tail] = canonicalIpv6(address).split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const start = parse(head);
  const end = tail === undefined ? [] : parse(tail);
  return [...start, ...new Array<number>(8 - start.length - end.length).fill(0), ...end];
}

/** An IPv6 address in its canonical text (RFC 5952: lower case, shortest, `::` once). */
function canonicalIpv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}
