import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FaasError } from '@faas/common';
import { AddressPolicy, classifyAddress, MAX_CALLBACK_URL_LENGTH, resolveCallbackTarget, validateCallbackUrl } from './url-policy.js';

const CLASSES: [string, string][] = [
  ['93.184.215.14', 'public'],
  ['8.8.8.8', 'public'],
  ['172.32.0.1', 'public'],
  ['2606:4700:4700::1111', 'public'],
  ['127.0.0.1', 'loopback'],
  ['127.255.255.254', 'loopback'],
  ['::1', 'loopback'],
  ['0.0.0.0', 'unspecified'],
  ['::', 'unspecified'],
  ['169.254.1.1', 'link-local'],
  ['fe80::1', 'link-local'],
  ['febf:ffff::1', 'link-local'],
  ['10.1.2.3', 'private'],
  ['172.16.0.1', 'private'],
  ['172.31.255.255', 'private'],
  ['192.168.1.1', 'private'],
  ['100.64.0.1', 'private'],
  ['100.127.255.255', 'private'],
  ['fc00::1', 'private'],
  ['fd12:3456::1', 'private'],
  ['224.0.0.1', 'multicast'],
  ['239.255.255.250', 'multicast'],
  ['ff02::1', 'multicast'],
  ['240.0.0.1', 'reserved'],
  ['255.255.255.255', 'reserved'],
  ['192.0.2.1', 'reserved'],
  ['198.18.0.1', 'reserved'],
  ['2001:db8::1', 'reserved'],
  ['100::1', 'reserved'],
  ['::2', 'reserved'],
  ['4000::1', 'reserved'],
  ['169.254.169.254', 'metadata'],
  ['100.100.100.200', 'metadata'],
  ['168.63.129.16', 'metadata'],
  ['fd00:ec2::254', 'metadata'],
  // IPv4 inside IPv6: mapped (both spellings), NAT64 and 6to4 carry the class of their IPv4 address.
  ['::ffff:127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', 'loopback'],
  ['::ffff:10.0.0.1', 'private'],
  ['::ffff:169.254.169.254', 'metadata'],
  ['::ffff:8.8.8.8', 'public'],
  ['64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b::a9fe:a9fe', 'metadata'],
  ['64:ff9b::808:808', 'public'],
  ['2002:c0a8:101::1', 'private'],
  ['2002:808:808::1', 'public'],
];

describe('classifyAddress', () => {
  for (const [address, expected] of CLASSES) {
    it(`${address} is ${expected}`, () => assert.equal(classifyAddress(address), expected));
  }
  it('throws for what is no address', () => assert.throws(() => classifyAddress('example.com'), TypeError));
});

describe('AddressPolicy', () => {
  it('allows public addresses and refuses every other class by default', () => {
    const policy = new AddressPolicy();
    for (const [address, cls] of CLASSES) assert.equal(policy.check(address).allowed, cls === 'public', address);
  });

  it('FAAS_CALLBACK_ALLOW_PRIVATE=on allows loopback, link-local and private, never metadata, multicast, reserved or unspecified', () => {
    const policy = new AddressPolicy({ allowPrivate: true });
    const open = new Set(['public', 'loopback', 'link-local', 'private']);
    for (const [address, cls] of CLASSES) assert.equal(policy.check(address).allowed, open.has(cls), address);
  });

  it('FAAS_CALLBACK_ALLOW_CIDRS allows exactly its ranges, metadata included when listed, and IPv4 inside IPv6', () => {
    const policy = new AddressPolicy({ allowCidrs: ['10.1.0.0/16', 'fd12::/16', '169.254.169.254/32'] });
    assert.equal(policy.check('10.1.2.3').allowed, true);
    assert.equal(policy.check('10.2.0.1').allowed, false);
    assert.equal(policy.check('::ffff:10.1.2.3').allowed, true);
    assert.equal(policy.check('fd12:3456::1').allowed, true);
    assert.equal(policy.check('fd13::1').allowed, false);
    assert.equal(policy.check('169.254.169.254').allowed, true);
    assert.equal(policy.check('127.0.0.1').allowed, false);
  });
});

function refusedCode(fn: () => unknown, field = 'callback_url'): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof FaasError);
    assert.equal(err.code, 'FAAS_ERR_INVALID_CALLBACK');
    assert.equal(err.status, 400);
    assert.equal(err.details?.field, field);
    return err.message;
  }
  assert.fail('not refused');
}

describe('validateCallbackUrl', () => {
  const policy = new AddressPolicy();

  it('accepts http and https URLs with any port, path and query', () => {
    for (const url of [
      'https://hooks.example.com/faas?token=abc',
      'http://example.com:8443/x',
      'https://[2606:4700:4700::1111]/',
      'https://93.184.215.14/',
    ]) {
      assert.equal(validateCallbackUrl(url, policy).href, new URL(url).href);
    }
  });

  it('refuses what is not an absolute http(s) URL, credentials, port 0, control characters and overlong URLs', () => {
    for (const bad of [42, null, '', 'example.com/hook', '/relative', 'ftp://example.com/', 'file:///etc/passwd', 'javascript:alert(1)']) {
      refusedCode(() => validateCallbackUrl(bad, policy));
    }
    assert.match(
      refusedCode(() => validateCallbackUrl('https://user:pw@example.com/', policy)),
      /credentials/,
    );
    assert.match(
      refusedCode(() => validateCallbackUrl('https://user@example.com/', policy)),
      /credentials/,
    );
    assert.match(
      refusedCode(() => validateCallbackUrl('http://example.com:0/', policy)),
      /port 0/,
    );
    assert.match(
      refusedCode(() => validateCallbackUrl('https://example.com/a b', policy)),
      /control characters/,
    );
    assert.match(
      refusedCode(() => validateCallbackUrl('https://example.com/\n', policy)),
      /control characters/,
    );
    const long = `https://example.com/${'a'.repeat(MAX_CALLBACK_URL_LENGTH)}`;
    assert.match(
      refusedCode(() => validateCallbackUrl(long, policy)),
      /at most 2048/,
    );
    refusedCode(() => validateCallbackUrl('ftp://example.com/', policy, 'callback.url'), 'callback.url');
  });

  it('refuses literal addresses and localhost names the policy refuses, in every spelling the URL parser knows', () => {
    for (const url of [
      'http://127.0.0.1/',
      'http://2130706433/',
      'http://0x7f.1/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://0.0.0.0/',
      'http://10.0.0.1/',
      'http://169.254.169.254/latest/meta-data/',
      'http://[fd00:ec2::254]/',
      'http://100.100.100.200/',
      'http://224.0.0.1/',
      'http://localhost:8080/',
      'http://LOCALHOST./',
      'http://api.localhost/',
    ]) {
      assert.match(
        refusedCode(() => validateCallbackUrl(url, policy)),
        /address/,
        url,
      );
    }
    assert.match(
      refusedCode(() => validateCallbackUrl('http://10.0.0.1/', policy)),
      /FAAS_CALLBACK_ALLOW_PRIVATE=on/,
    );
    assert.doesNotMatch(
      refusedCode(() => validateCallbackUrl('http://169.254.169.254/', policy)),
      /ALLOW_PRIVATE/,
    );
    // Allowed by the operator: the same URLs pass.
    const open = new AddressPolicy({ allowPrivate: true });
    assert.equal(validateCallbackUrl('http://localhost:8080/', open).port, '8080');
    assert.equal(validateCallbackUrl('http://10.0.0.1/', open).hostname, '10.0.0.1');
    refusedCode(() => validateCallbackUrl('http://169.254.169.254/', open));
  });
});

describe('resolveCallbackTarget', () => {
  const policy = new AddressPolicy();
  const lookupOf = (...addresses: string[]) => {
    const calls: string[] = [];
    const lookup = async (host: string) => {
      calls.push(host);
      return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };
    return { lookup, calls };
  };

  it('pins the first address when every address is allowed; a literal address is not looked up', async () => {
    const { lookup, calls } = lookupOf('93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c');
    const r = await resolveCallbackTarget(new URL('https://hooks.example.com/x'), policy, lookup);
    assert.deepEqual(r.ok && { address: r.target.address, family: r.target.family, hostname: r.target.hostname }, {
      address: '93.184.215.14',
      family: 4,
      hostname: 'hooks.example.com',
    });
    const literal = await resolveCallbackTarget(new URL('https://[2606:4700:4700::1111]/'), policy, lookup);
    assert.equal(literal.ok && literal.target.address, '2606:4700:4700::1111');
    assert.deepEqual(calls, ['hooks.example.com']);
  });

  it('refuses, for good, when any resolved address is refused, wherever it is in the answer', async () => {
    for (const answer of [
      ['93.184.215.14', '127.0.0.1'],
      ['127.0.0.1', '93.184.215.14'],
      ['93.184.215.14', '::ffff:10.0.0.1'],
      ['169.254.169.254'],
      ['fe80::1'],
    ]) {
      const r = await resolveCallbackTarget(new URL('https://rebind.test/'), policy, lookupOf(...answer).lookup);
      assert.equal(r.ok, false, answer.join());
      assert.equal(!r.ok && r.final, true);
      assert.match((!r.ok && r.reason) || '', /callbacks may not reach/);
    }
  });

  it('a name that does not resolve is worth retrying; one that resolves to nothing too', async () => {
    const failing = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.test'), { code: 'ENOTFOUND' });
    };
    const r = await resolveCallbackTarget(new URL('https://nowhere.test/'), policy, failing);
    assert.deepEqual(r, { ok: false, final: false, reason: 'cannot resolve nowhere.test: ENOTFOUND' });
    const empty = await resolveCallbackTarget(new URL('https://empty.test/'), policy, lookupOf().lookup);
    assert.equal(!empty.ok && empty.final, false);
  });

  it('with the system resolver, localhost is refused as loopback', async () => {
    const r = await resolveCallbackTarget(new URL('http://localhost:9/'), policy);
    assert.equal(r.ok, false);
    assert.match((!r.ok && r.reason) || '', /loopback/);
  });
});
