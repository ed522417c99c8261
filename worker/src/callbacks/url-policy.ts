/**
 * Where callbacks may go. A callback URL is chosen by whoever invokes a function, and the platform
 * then sends requests to it from inside the operator's network: without these rules it would be a
 * way to reach the host's own services, the private network and the cloud metadata endpoint
 * (server-side request forgery). So a URL is checked twice:
 *
 * - when a request names it (`validateCallbackUrl`): its form, and its address when it is a
 *   literal IP or a `localhost` name, so obvious mistakes are a 400 and not a failed delivery;
 * - before every attempt (`resolveCallbackTarget`): the name is resolved once, every address it
 *   resolves to must be allowed, and the attempt connects to that address and no other (the caller
 *   connects by IP), so a DNS answer that changes between the check and the connection (rebinding)
 *   cannot move the request to a refused address.
 *
 * Ranges are matched with `net.BlockList`, one list per class and family: a BlockList also matches
 * IPv4 rules against IPv4-mapped IPv6 addresses and IPv6 rules under ::/8 against every IPv4 one,
 * so the families are kept apart and the IPv4 inside mapped, NAT64 and 6to4 addresses is taken out
 * and judged as IPv4.
 */
import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { FaasError } from '@faas/common';

/** Longest callback URL accepted; longer ones are refused rather than cut. */
export const MAX_CALLBACK_URL_LENGTH = 2048;

export type AddressClass = 'public' | 'loopback' | 'unspecified' | 'link-local' | 'private' | 'multicast' | 'reserved' | 'metadata';

/** What FAAS_CALLBACK_ALLOW_PRIVATE=on lets through; metadata, multicast and reserved addresses never. */
const PRIVATE_CLASSES: ReadonlySet<AddressClass> = new Set(['loopback', 'link-local', 'private']);

/** Checked in this order, so the metadata addresses win over the link-local and private ranges holding them. */
const IPV4_RANGES: [AddressClass, string[]][] = [
  // AWS, GCP and Azure IMDS; Alibaba Cloud's; Azure's WireServer (168.63.129.16, a public address
  // that every Azure VM reaches as its host's agent endpoint: Azure, "What is IP address 168.63.129.16?").
  ['metadata', ['169.254.169.254/32', '100.100.100.200/32', '168.63.129.16/32']],
  ['unspecified', ['0.0.0.0/8']],
  ['loopback', ['127.0.0.0/8']],
  ['link-local', ['169.254.0.0/16']],
  ['private', ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10']],
  ['multicast', ['224.0.0.0/4']],
  // IETF assignments, documentation, 6to4 relays, benchmarking, the old class E and broadcast.
  ['reserved', ['192.0.0.0/24', '192.0.2.0/24', '192.88.99.0/24', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '240.0.0.0/4']],
];

const IPV6_RANGES: [AddressClass, string[]][] = [
  ['metadata', ['fd00:ec2::254/128']],
  ['unspecified', ['::/128']],
  ['loopback', ['::1/128']],
  ['link-local', ['fe80::/10']],
  // Unique local, the deprecated site-local, and the local-use NAT64 prefix.
  ['private', ['fc00::/7', 'fec0::/10', '64:ff9b:1::/48']],
  ['multicast', ['ff00::/8']],
  ['reserved', ['100::/64', '2001::/23', '2001:db8::/32', '3fff::/20']],
];

function blockLists(ranges: [AddressClass, string[]][], type: 'ipv4' | 'ipv6'): [AddressClass, BlockList][] {
  return ranges.map(([name, cidrs]) => {
    const list = new BlockList();
    for (const cidr of cidrs) {
      const [network = '', prefix = ''] = cidr.split('/');
      list.addSubnet(network, Number(prefix), type);
    }
    return [name, list];
  });
}

const IPV4_LISTS = blockLists(IPV4_RANGES, 'ipv4');
const IPV6_LISTS = blockLists(IPV6_RANGES, 'ipv6');
const GLOBAL_UNICAST_V6 = blockLists([['public', ['2000::/3']]], 'ipv6')[0]?.[1] as BlockList;

/**
 * The 16 bytes of an IPv6 address (no zone), or undefined when it is none. The URL parser first
 * rewrites it in hexadecimal words only (a trailing dotted quad becomes two words).
 */
function ipv6Bytes(text: string): Uint8Array | undefined {
  if (isIP(text) !== 6) return undefined;
  const canonical = new URL(`http://[${text}]/`).hostname.slice(1, -1);
  const words = (part: string) => (part === '' ? [] : part.split(':').map((w) => Number.parseInt(w, 16)));
  const [left = '', right] = canonical.split('::');
  const head = words(left);
  const tail = right === undefined ? [] : words(right);
  const all = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((w, i) => {
    bytes[i * 2] = w >> 8;
    bytes[i * 2 + 1] = w & 0xff;
  });
  return bytes;
}

/** The IPv4 address an IPv6 one carries: mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96) or 6to4 (2002::/16). */
function embeddedIpv4(address: string): { ipv4: string; kind: 'mapped' | 'nat64' | '6to4' } | undefined {
  const b = ipv6Bytes(address);
  if (!b) return undefined;
  const quad = (at: number) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
  const zeros = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return { ipv4: quad(12), kind: 'mapped' };
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return { ipv4: quad(12), kind: 'nat64' };
  if (b[0] === 0x20 && b[1] === 0x02) return { ipv4: quad(2), kind: '6to4' };
  return undefined;
}

function classifyV4(address: string): AddressClass {
  for (const [name, list] of IPV4_LISTS) if (list.check(address, 'ipv4')) return name;
  return 'public';
}

/**
 * The class of an IP address. An IPv6 address carrying an IPv4 one takes the IPv4 one's class when
 * that is not public; IPv6 outside 2000::/3 (global unicast) that no row names is reserved.
 */
export function classifyAddress(address: string): AddressClass {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return classifyV4(bare);
  if (family !== 6) throw new TypeError(`not an IP address: ${address}`);
  const inner = embeddedIpv4(bare);
  if (inner !== undefined) {
    const innerClass = classifyV4(inner.ipv4);
    // Mapped and NAT64 addresses reach their IPv4 address; a 6to4 one is judged by it unless it is public.
    if (innerClass !== 'public' || inner.kind !== '6to4') return innerClass;
  }
  for (const [name, list] of IPV6_LISTS) if (list.check(bare, 'ipv6')) return name;
  return GLOBAL_UNICAST_V6.check(bare, 'ipv6') ? 'public' : 'reserved';
}

export interface AddressVerdict {
  address: string;
  class: AddressClass;
  allowed: boolean;
}

export interface AddressPolicyOptions {
  /** FAAS_CALLBACK_ALLOW_PRIVATE: loopback, link-local and private addresses are allowed. */
  allowPrivate?: boolean;
  /** FAAS_CALLBACK_ALLOW_CIDRS: `address/prefix` ranges allowed whatever their class. */
  allowCidrs?: readonly string[];
}

/** The operator's rules: public addresses are allowed, others only as FAAS_CALLBACK_ALLOW_* say. */
export class AddressPolicy {
  readonly allowPrivate: boolean;
  private readonly allowList = new BlockList();
  private readonly hasAllowList: boolean;

  constructor(options: AddressPolicyOptions = {}) {
    this.allowPrivate = options.allowPrivate ?? false;
    const cidrs = options.allowCidrs ?? [];
    for (const cidr of cidrs) {
      const [network = '', prefix] = cidr.split('/');
      const family = isIP(network);
      if (family === 0) throw new TypeError(`not an address range: ${cidr}`);
      this.allowList.addSubnet(network, prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
    }
    this.hasAllowList = cidrs.length > 0;
  }

  check(address: string): AddressVerdict {
    const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
    const cls = classifyAddress(bare);
    if (cls === 'public') return { address: bare, class: cls, allowed: true };
    if (this.allowed(bare)) return { address: bare, class: cls, allowed: true };
    return { address: bare, class: cls, allowed: this.allowPrivate && PRIVATE_CLASSES.has(cls) };
  }

  private allowed(address: string): boolean {
    if (!this.hasAllowList) return false;
    const family = isIP(address);
    if (family === 4) return this.allowList.check(address, 'ipv4');
    if (this.allowList.check(address, 'ipv6')) return true;
    const inner = embeddedIpv4(address);
    return inner !== undefined && this.allowList.check(inner.ipv4, 'ipv4');
  }
}

function invalid(message: string, field: string): FaasError {
  return new FaasError('FAAS_ERR_INVALID_CALLBACK', message, { details: { field } });
}

/** `localhost` and names under it always mean this host (RFC 6761), whatever DNS says. */
function isLocalhostName(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

/** The host of a URL without IPv6 brackets. */
export function bareHostname(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/**
 * Checks a callback URL when a request or a function definition names it, and returns it parsed.
 * Throws FAAS_ERR_INVALID_CALLBACK (with `field`) for anything but an absolute http or https URL of
 * at most MAX_CALLBACK_URL_LENGTH characters without credentials, and for a literal address or a
 * `localhost` name the policy refuses. Host names are resolved only at delivery time.
 */
export function validateCallbackUrl(raw: unknown, policy: AddressPolicy, field = 'callback_url'): URL {
  if (typeof raw !== 'string') throw invalid(`${field} must be a string (an http or https URL)`, field);
  if (raw.length > MAX_CALLBACK_URL_LENGTH) {
    throw invalid(`${field} is ${raw.length} characters long; at most ${MAX_CALLBACK_URL_LENGTH} are accepted`, field);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u0020\u007f]/.test(raw)) throw invalid(`${field} contains spaces or control characters`, field);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw invalid(`${field} is not an absolute URL (use https://host/path)`, field);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(`${field} uses ${url.protocol.replace(/:$/, '')}: only http and https callbacks are sent`, field);
  }
  if (url.username !== '' || url.password !== '') {
    throw invalid(
      `${field} carries credentials (user:password@): put a token in the path or query, or verify the signature instead`,
      field,
    );
  }
  if (url.hostname === '') throw invalid(`${field} names no host`, field);
  if (url.port === '0') throw invalid(`${field} names port 0`, field);
  const host = bareHostname(url);
  const literal = isIP(host) !== 0 ? host : isLocalhostName(host) ? '127.0.0.1' : undefined;
  if (literal !== undefined) {
    const verdict = policy.check(literal);
    if (!verdict.allowed)
      throw invalid(`${field} targets a ${verdict.class} address (${host}), which callbacks may not reach${hint(verdict.class)}`, field);
  }
  return url;
}

/** How an operator could allow a refused class, for messages. */
function hint(cls: AddressClass): string {
  return PRIVATE_CLASSES.has(cls)
    ? ' unless the operator sets FAAS_CALLBACK_ALLOW_PRIVATE=on or lists it in FAAS_CALLBACK_ALLOW_CIDRS'
    : ' unless the operator lists it in FAAS_CALLBACK_ALLOW_CIDRS';
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to all its addresses; `dns.lookup` (the system resolver, /etc/hosts included) by default. */
export type LookupAll = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemLookup: LookupAll = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/** Where one attempt connects: the URL, and the one address checked for it. */
export interface PinnedTarget {
  url: URL;
  /** The host name as the URL spells it, for Host and TLS server name. */
  hostname: string;
  address: string;
  family: 4 | 6;
}

export type TargetResult =
  | { ok: true; target: PinnedTarget }
  /** `final`: refused by policy, retrying cannot help; otherwise a resolution failure worth retrying. */
  | { ok: false; final: boolean; reason: string };

/**
 * Resolves the URL's host once and checks every address it resolves to: one refused address
 * refuses the target, since a resolver may hand out any of them. The first address is the one to
 * connect to. A literal address is not resolved.
 */
export async function resolveCallbackTarget(url: URL, policy: AddressPolicy, lookup: LookupAll = systemLookup): Promise<TargetResult> {
  const hostname = bareHostname(url);
  let addresses: ResolvedAddress[];
  if (isIP(hostname) !== 0) {
    addresses = [{ address: hostname, family: isIP(hostname) }];
  } else {
    try {
      addresses = await lookup(hostname);
    } catch (err) {
      return {
        ok: false,
        final: false,
        reason: `cannot resolve ${hostname}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      };
    }
    if (isLocalhostName(hostname)) addresses = [...addresses, { address: '127.0.0.1', family: 4 }];
  }
  if (addresses.length === 0) return { ok: false, final: false, reason: `${hostname} resolves to no address` };
  for (const { address } of addresses) {
    if (isIP(address) === 0) return { ok: false, final: true, reason: `${hostname} resolves to ${address}, which is no IP address` };
    const verdict = policy.check(address);
    if (!verdict.allowed) {
      return {
        ok: false,
        final: true,
        reason: `${hostname} resolves to a ${verdict.class} address (${verdict.address}), which callbacks may not reach${hint(verdict.class)}`,
      };
    }
  }
  const first = addresses[0] as ResolvedAddress;
  const address = first.address.replace(/%.*$/, '');
  return { ok: true, target: { url, hostname, address, family: isIP(address) === 6 ? 6 : 4 } };
}
