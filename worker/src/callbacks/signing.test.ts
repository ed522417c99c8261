import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { loadConfig } from '@faas/common';
import { loadCallbackSecret, signBody, verifySignature } from './signing.js';
import { captureLog } from './test-fixtures.js';

const SECRET = 'a-callback-secret-of-at-least-32-characters';
const BODY = '{"invocation_id":"4f0c5a4e","state":"succeeded","result":{"exit_code":0}}';
const NOW = 1_800_000_000;

describe('signBody and verifySignature', () => {
  it('signs t and v1 as HMAC-SHA256(secret, "<t>.<body>") in hex', () => {
    const header = signBody(BODY, SECRET, NOW);
    const expected = createHmac('sha256', SECRET).update(`${NOW}.${BODY}`).digest('hex');
    assert.equal(header, `t=${NOW},v1=${expected}`);
  });

  it('verifies its own signature, for text and bytes alike', () => {
    const header = signBody(BODY, SECRET, NOW);
    assert.equal(verifySignature(BODY, header, SECRET, 300, NOW), true);
    assert.equal(verifySignature(Buffer.from(BODY), header, SECRET, 300, NOW), true);
  });

  it('detects a changed body, timestamp, signature or secret', () => {
    const header = signBody(BODY, SECRET, NOW);
    assert.equal(verifySignature(BODY.replace('succeeded', 'failed'), header, SECRET, 300, NOW), false);
    assert.equal(verifySignature(`${BODY} `, header, SECRET, 300, NOW), false);
    assert.equal(verifySignature(BODY, header.replace(`t=${NOW}`, `t=${NOW + 1}`), SECRET, 300, NOW), false);
    const flipped = header.slice(0, -1) + (header.endsWith('0') ? '1' : '0');
    assert.equal(verifySignature(BODY, flipped, SECRET, 300, NOW), false);
    assert.equal(verifySignature(BODY, header, `${SECRET}x`, 300, NOW), false);
  });

  it('refuses a signature outside the tolerance, in the past (a replay) or the future', () => {
    const header = signBody(BODY, SECRET, NOW);
    assert.equal(verifySignature(BODY, header, SECRET, 300, NOW + 300), true);
    assert.equal(verifySignature(BODY, header, SECRET, 300, NOW + 301), false);
    assert.equal(verifySignature(BODY, header, SECRET, 300, NOW - 301), false);
    assert.equal(verifySignature(BODY, header, SECRET, 3600, NOW + 3600), true);
  });

  it('accepts any matching v1 among several (secret rotation), and malformed headers are false, never a throw', () => {
    const good = signBody(BODY, SECRET, NOW);
    const other = signBody(BODY, 'another-secret-of-at-least-32-characters!', NOW);
    assert.equal(verifySignature(BODY, `${other},${good.split(',')[1]}`, SECRET, 300, NOW), true);
    for (const bad of [
      undefined,
      '',
      't=',
      `t=${NOW}`,
      'v1=abc',
      `t=abc,${good.split(',')[1]}`,
      `t=${NOW},v1=zz`,
      `t=${NOW},v1=${'0'.repeat(63)}`,
      '=,=,=',
    ]) {
      assert.equal(verifySignature(BODY, bad, SECRET, 300, NOW), false, String(bad));
    }
  });
});

describe('the verification snippets of docs/API.md "Callbacks"', () => {
  const doc = readFileSync(new URL('../../../docs/API.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Callbacks'), doc.indexOf('\n## ', doc.indexOf('## Callbacks') + 1));
  const blocks = (lang: string) => [...section.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] as string);
  const dir = mkdtempSync(join(tmpdir(), 'faas-callback-snippets-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const now = Math.floor(Date.now() / 1000);
  const good = signBody(BODY, SECRET, now);
  const cases: [string, string, boolean][] = [
    ['valid', good, true],
    ['changed body', good, false],
    ['old', signBody(BODY, SECRET, now - 400), false],
    ['future', signBody(BODY, SECRET, now + 400), false],
    ['wrong secret', signBody(BODY, `${SECRET}x`, now), false],
    ['rotation', `${signBody(BODY, `${SECRET}x`, now)},${good.split(',')[1]}`, true],
    ['malformed', 't=x,v1=y', false],
  ];
  const bodyOf = (name: string) => (name === 'changed body' ? `${BODY}\n` : BODY);

  it('the Node.js snippet agrees with verifySignature', async () => {
    const snippet = blocks('js').find((b) => b.includes('export function verifyFaasSignature'));
    assert.ok(snippet, 'no Node.js verification snippet in docs/API.md "Callbacks"');
    const file = join(dir, 'verify.mjs');
    writeFileSync(file, snippet);
    const { verifyFaasSignature } = (await import(pathToFileURL(file).href)) as {
      verifyFaasSignature: (body: Buffer, header: string, secret: string) => boolean;
    };
    for (const [name, header, expected] of cases) {
      assert.equal(verifySignature(bodyOf(name), header, SECRET), expected, `verifySignature: ${name}`);
      assert.equal(verifyFaasSignature(Buffer.from(bodyOf(name)), header, SECRET), expected, `snippet: ${name}`);
    }
  });

  it('the Python snippet agrees with verifySignature', (t) => {
    const snippet = blocks('python')[0];
    assert.ok(snippet, 'no Python verification snippet in docs/API.md "Callbacks"');
    const file = join(dir, 'verify.py');
    writeFileSync(
      file,
      `${snippet}\nimport json, sys\ncases = json.load(sys.stdin)\nprint(json.dumps([verify_faas_signature(c[0].encode(), c[1], c[2]) for c in cases]))\n`,
    );
    const input = JSON.stringify(cases.map(([name, header]) => [bodyOf(name), header, SECRET]));
    const run = spawnSync('python3', [file], { input, encoding: 'utf8' });
    if ((run.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return t.skip('python3 is not installed');
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(
      JSON.parse(run.stdout),
      cases.map(([, , expected]) => expected),
    );
  });
});

describe('loadCallbackSecret', () => {
  it('takes FAAS_CALLBACK_SECRET, or creates <dataDir>/callback.key once (mode 0600) and reads it back; never logs it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faas-callback-key-'));
    try {
      const { log, lines } = captureLog();
      const explicit = loadConfig({ FAAS_DATA_DIR: dir, FAAS_CALLBACK_SECRET: SECRET });
      assert.equal(loadCallbackSecret(explicit, log), SECRET);
      const config = loadConfig({ FAAS_DATA_DIR: dir });
      const first = loadCallbackSecret(config, log);
      assert.match(first, /^[0-9a-f]{64}$/);
      assert.equal(statSync(join(dir, 'callback.key')).mode & 0o777, 0o600);
      assert.equal(loadCallbackSecret(config, log), first);
      assert.ok(lines.some((l) => l.includes('created the callback signing secret')));
      assert.ok(!lines.join('').includes(first) && !lines.join('').includes(SECRET));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the configuration refuses a short secret without showing it', () => {
    assert.throws(
      () => loadConfig({ FAAS_CALLBACK_SECRET: 'short-secret' }),
      (err: Error & { code?: string }) =>
        err.code === 'FAAS_ERR_CONFIG' && /FAAS_CALLBACK_SECRET/.test(err.message) && !err.message.includes('short-secret'),
    );
  });
});
