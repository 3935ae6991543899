// Defends the provider address rule as a pure decision: every kind of address that is not public
// (loopback, private, link-local, unique-local, unspecified, and IPv6 forms carrying such an IPv4
// address) is blocked, public ones are not, and a URL is refused for its scheme or an IP literal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { embeddedIpv4, ipv6Bytes, isBlockedAddress, providerUrlProblem, safeProviderCode } from '../../src/core/provider-network.js';

const STRICT = { allowPrivateHosts: false };
const OPTED_IN = { allowPrivateHosts: true };

describe('isBlockedAddress', () => {
  for (const address of [
    '127.0.0.1',
    '127.255.0.9',
    '10.0.0.1',
    '10.255.255.255',
    '172.16.0.1',
    '172.31.255.254',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '224.0.0.1',
    '::',
    '::1',
    'fd00::1',
    'fc00::',
    'fe80::1',
    'fe80::1%eth0',
    '[::1]',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.1.2.3',
    '::ffff:169.254.169.254',
    '0:0:0:0:0:ffff:c0a8:0101',
    '::127.0.0.1',
    '64:ff9b::10.0.0.1',
    '2002:0a00:0001::1',
    'ff02::1',
    'localhost',
    'not an address',
  ]) {
    it(`blocks ${address}`, () => assert.equal(isBlockedAddress(address), true));
  }
  for (const address of ['8.8.8.8', '93.184.216.34', '172.32.0.1', '192.169.0.1', '100.128.0.1', '2001:4860:4860::8888', '2606:4700::1111', '::ffff:8.8.8.8', '64:ff9b::8.8.8.8']) {
    it(`allows ${address}`, () => assert.equal(isBlockedAddress(address), false));
  }
});

describe('IPv6 parsing', () => {
  it('expands compressed forms and dotted tails', () => {
    assert.deepEqual(ipv6Bytes('::1'), [...Array(15).fill(0), 1]);
    assert.deepEqual(ipv6Bytes('::ffff:127.0.0.1'), [...Array(10).fill(0), 0xff, 0xff, 127, 0, 0, 1]);
    assert.deepEqual(ipv6Bytes('1:2:3:4:5:6:7:8'), [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
    assert.equal(ipv6Bytes('127.0.0.1'), undefined);
  });
  it('finds the IPv4 address in mapped, NAT64 and 6to4 forms, and none in ::1 or a global address', () => {
    assert.equal(embeddedIpv4(ipv6Bytes('::ffff:7f00:1')!), '127.0.0.1');
    assert.equal(embeddedIpv4(ipv6Bytes('64:ff9b::a00:1')!), '10.0.0.1');
    assert.equal(embeddedIpv4(ipv6Bytes('2002:c0a8:101::')!), '192.168.1.1');
    assert.equal(embeddedIpv4(ipv6Bytes('::1')!), undefined);
    assert.equal(embeddedIpv4(ipv6Bytes('2001:db8::1')!), undefined);
  });
});

describe('providerUrlProblem', () => {
  it('refuses plain http and other schemes, allows https to a name', () => {
    assert.match(providerUrlProblem(new URL('http://example.okta.com'), STRICT)!, /only https.*MFA_ALLOW_PRIVATE_PROVIDER_HOSTS/);
    assert.match(providerUrlProblem(new URL('ftp://example.okta.com'), OPTED_IN)!, /only https/);
    assert.equal(providerUrlProblem(new URL('https://example.okta.com'), STRICT), undefined);
  });
  it('refuses a non-public IP literal, in every spelling the URL parser accepts', () => {
    for (const url of ['https://127.0.0.1', 'https://2130706433', 'https://0x7f.1', 'https://[::1]:8443', 'https://[::ffff:127.0.0.1]', 'https://169.254.169.254/latest', 'https://0.0.0.0']) {
      assert.match(providerUrlProblem(new URL(url), STRICT) ?? '', /not a public address/, url);
    }
    assert.equal(providerUrlProblem(new URL('https://8.8.8.8'), STRICT), undefined);
  });
  it('with the opt-in allows http and private addresses', () => {
    assert.equal(providerUrlProblem(new URL('http://127.0.0.1:8080'), OPTED_IN), undefined);
    assert.equal(providerUrlProblem(new URL('https://[fd00::1]'), OPTED_IN), undefined);
  });
});

describe('safeProviderCode', () => {
  it('keeps codes and drops free text', () => {
    assert.equal(safeProviderCode('E0000011'), 'E0000011');
    assert.equal(safeProviderCode(40103), '40103');
    assert.equal(safeProviderCode('USER_NOT_FOUND'), 'USER_NOT_FOUND');
    assert.equal(safeProviderCode('Invalid token provided'), undefined);
    assert.equal(safeProviderCode('<html>'), undefined);
    assert.equal(safeProviderCode('x'.repeat(10)), undefined);
    assert.equal(safeProviderCode(undefined), undefined);
  });
});
