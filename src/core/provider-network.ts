// Where calls to outside providers may go. A provider host is entered through the configuration API, so
// without a rule anyone holding the manage scope could make this service call its own loopback, the
// cloud metadata address or the private network behind it (server-side request forgery). The rule:
// https only, and never to an address that is not public, unless the operator opts in
// (MFA_ALLOW_PRIVATE_PROVIDER_HOSTS, for local fakes in tests and providers on an internal network).
// The address is checked after resolution, on the address the connection is made to (see
// src/providers/http.ts); these are the pure decisions.
import { BlockList, isIP } from 'node:net';

export interface ProviderNetworkPolicy {
  /** Allows private, loopback and link-local addresses, and plain http. */
  readonly allowPrivateHosts: boolean;
}

export const STRICT_PROVIDER_NETWORK: ProviderNetworkPolicy = { allowPrivateHosts: false };

/** The setting that opts in, named in every refusal so an operator knows where to look. */
export const PRIVATE_HOSTS_SETTING = 'MFA_ALLOW_PRIVATE_PROVIDER_HOSTS';

const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", with the unspecified address
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // shared address space (carrier-grade NAT)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, with the cloud metadata address
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, with the broadcast address
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated, still routed by some)
  ['ff00::', 8], // multicast
] as const) {
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');
}

/** The 16 bytes of an IPv6 address in any textual form (compressed, with a dotted IPv4 tail); undefined if it is not one. */
export function ipv6Bytes(text: string): number[] | undefined {
  if (isIP(text) !== 6) return undefined;
  let groups = text;
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(groups);
  if (dotted) {
    tail.push(...dotted[1]!.split('.').map(Number));
    groups = groups.slice(0, -dotted[1]!.length) + '0:0';
  }
  const [head = '', rest] = groups.split('::');
  const left = head ? head.split(':') : [];
  const right = rest === undefined ? [] : rest ? rest.split(':') : [];
  const missing = 8 - left.length - right.length;
  const all = [...left, ...Array<string>(rest === undefined ? 0 : missing).fill('0'), ...right];
  if (all.length !== 8) return undefined;
  const bytes = all.flatMap((group) => {
    const value = parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

/**
 * The IPv4 address an IPv6 address stands for, when it carries one: IPv4-mapped (::ffff:a.b.c.d, how a
 * dual-stack socket shows an IPv4 peer), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96) and 6to4
 * (2002::/16). Checking only the IPv6 ranges would let ::ffff:127.0.0.1 through.
 */
export function embeddedIpv4(bytes: readonly number[]): string | undefined {
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  const v4 = (at: number) => bytes.slice(at, at + 4).join('.');
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return v4(12);
  if (zeros(0, 12) && !zeros(12, 16) && !(zeros(12, 15) && bytes[15] === 1)) return v4(12);
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12)) return v4(12);
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return v4(2);
  return undefined;
}

/**
 * Whether an IP address is one a provider must not be reached at: loopback, private, link-local,
 * unique-local, unspecified, multicast or reserved, in IPv4 or IPv6 (including IPv6 forms carrying an
 * IPv4 address). Anything that is not an IP address is blocked too: the caller passes resolved addresses.
 */
export function isBlockedAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return NOT_PUBLIC.check(bare, 'ipv4');
  if (family !== 6) return true;
  const bytes = ipv6Bytes(bare);
  if (!bytes) return true;
  const v4 = embeddedIpv4(bytes);
  if (v4 !== undefined && NOT_PUBLIC.check(v4, 'ipv4')) return true;
  return NOT_PUBLIC.check(bare, 'ipv6');
}

/**
 * Why this service will not call a provider at this URL, or undefined if it may (the resolved address is
 * checked again at connect time). Only what the URL itself shows: the scheme, and an address written as
 * an IP literal.
 */
export function providerUrlProblem(url: URL, policy: ProviderNetworkPolicy): string | undefined {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `only https is allowed, not ${url.protocol.replace(/:$/, '')}`;
  if (policy.allowPrivateHosts) return undefined;
  if (url.protocol === 'http:') return `only https is allowed; plain http needs ${PRIVATE_HOSTS_SETTING}=true`;
  const literal = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(literal) && isBlockedAddress(literal)) return `${literal} is not a public address; allowed only with ${PRIVATE_HOSTS_SETTING}=true`;
  return undefined;
}

/**
 * A provider's code, if it looks like one (Okta's E0000011, Duo's 40103, RSA's USER_NOT_FOUND), else
 * undefined. Codes are the only part of a provider's answer shown to callers: free text (messages,
 * summaries, bodies) goes to the log only, so a host that is not the provider cannot speak through us.
 */
export function safeProviderCode(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 1_000_000) return String(value);
  if (typeof value === 'string' && /^[A-Z][A-Z0-9_]{0,47}$|^\d{1,6}$/.test(value)) return value;
  return undefined;
}
