/**
 * The web console (console/, served by the gateway at /console) in headless Chromium against a real
 * platform: the key entered once, a function created, invoked with stdin, env and a timeout, its
 * history and output, an asynchronous invocation that becomes a dead letter, the metrics and the
 * pool. The screenshots it takes are the ones docs/console.md shows (docs/console/*.png), but a
 * plain run writes them to a temporary folder, removed at the end (TESTER_KEEP_SCREENSHOTS=1 keeps
 * it and prints where), so that a test run never changes tracked files; TESTER_UPDATE_DOCS=1
 * writes them into docs/console/ instead, to update the documentation's images. Either way each
 * one is checked to be a non-empty PNG.
 *
 * Needs Debian's chromium (`apt-get install -y chromium`; scripts/setup-host.sh installs it with
 * FAAS_SETUP_VM=1) and the console built (`npm run build`); FAAS_CHROMIUM names another binary.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { BUSYBOX } from '../support/images.js';
import { TEST_ADMIN_KEY } from '../support/keys.js';
import { REPO_ROOT } from '../support/paths.js';
import { usePlatform } from '../support/platform.js';

const CHROMIUM = process.env.FAAS_CHROMIUM || '/usr/bin/chromium';
/** What the element shows (textContent: <pre> keeps its newlines). */
const text = async (l: Locator): Promise<string> => (await l.textContent()) ?? '';
/** The documentation's images are rewritten only when asked: a test run leaves the checkout as it was. */
const UPDATE_DOCS = process.env.TESTER_UPDATE_DOCS === '1';
const KEEP_SHOTS = process.env.TESTER_KEEP_SCREENSHOTS === '1';
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const BUILT = existsSync(join(REPO_ROOT, 'console', 'dist', 'site', 'index.html'));

const skip = !existsSync(CHROMIUM)
  ? `chromium is not installed (${CHROMIUM}): install it with \`sudo apt-get install -y chromium\` (or set FAAS_CHROMIUM)`
  : !BUILT
    ? 'the console is not built: run `npm run build` (or `npm run build -w console`)'
    : false;
if (skip) console.log(`# console tests skipped: ${skip}`);

describe('web console', { skip }, () => {
  const p = usePlatform({ FAAS_POOL_MODE: 'off', FAAS_ASYNC_RETRY_BASE_MS: '200', FAAS_ASYNC_RETRY_MAX_MS: '1000' });
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  let shots = '';

  before(async () => {
    if (UPDATE_DOCS) {
      shots = join(REPO_ROOT, 'docs', 'console');
      mkdirSync(shots, { recursive: true });
    } else {
      shots = mkdtempSync(join(tmpdir(), 'faas-console-shots-'));
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', (err) => errors.push(String(err)));
    // Nothing leaves the gateway's origin: no CDN, no font service.
    await page.route(
      (url) => !url.href.startsWith(p.url),
      (route) => {
        errors.push(`request outside the gateway: ${route.request().url()}`);
        return route.abort();
      },
    );
  });

  after(async () => {
    await browser?.close();
    if (UPDATE_DOCS || !shots) return;
    if (KEEP_SHOTS) console.log(`# console screenshots kept in ${shots}`);
    else rmSync(shots, { recursive: true, force: true });
  });

  const shot = async (name: string): Promise<void> => {
    const path = join(shots, `${name}.png`);
    await page.screenshot({ path, fullPage: true });
    const png = readFileSync(path);
    assert.ok(png.length > PNG_SIGNATURE.length && png.subarray(0, 8).equals(PNG_SIGNATURE), `${path} is not a non-empty PNG`);
  };
  const open = (hash: string) => page.goto(`${p.url}/console${hash}`);

  it('serves the page and its bundled assets without a key', async () => {
    const html = await fetch(`${p.url}/console`);
    assert.equal(html.status, 200);
    const body = await html.text();
    assert.match(body, /<div id="app">/);
    const assets = [...body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1] as string).filter((a) => !a.startsWith('data:'));
    assert.ok(assets.length >= 2, body);
    for (const asset of assets) {
      assert.match(asset, /^\/console\/assets\//, 'every asset is served by the gateway');
      assert.equal((await fetch(`${p.url}${asset}`)).status, 200, asset);
    }
    // The page is public; the API behind it is not.
    assert.equal((await fetch(`${p.url}/functions`)).status, 401);
  });

  it('asks for the key once and keeps it for the tab', async () => {
    await open('');
    await page.locator('#api-key').waitFor();
    await shot('key');
    await page.fill('#api-key', 'faas_wrong_key');
    await page.click('#use-key');
    await page.getByRole('alert').waitFor();
    assert.match(await text(page.getByRole('alert')), /FAAS_ERR_UNAUTHORIZED/);
    await page.fill('#api-key', TEST_ADMIN_KEY);
    await page.click('#use-key');
    await page.getByRole('heading', { name: 'Functions' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Functions' }).waitFor();
    assert.equal(await page.evaluate('sessionStorage.getItem("faas.console.apiKey")'), TEST_ADMIN_KEY);
  });

  it('creates a function', async () => {
    await open('#/functions');
    await page.click('#new-function');
    await page.fill('input[name=id]', 'console-echo');
    await page.fill('input[name=image]', BUSYBOX);
    await page.fill('textarea[name=command]', 'sh\n-c\necho "stdin: $(cat)"; echo "GREETING=$GREETING"; echo "to stderr" >&2');
    await page.fill('textarea[name=allowed_env_vars]', 'GREETING');
    await page.fill('input[name=description]', 'echoes its stdin and environment');
    await shot('create');
    await page.click('#save-function');
    await page.getByRole('heading', { name: 'Invoke console-echo' }).waitFor();
    const stored = (await p.client.request('/functions/console-echo')).json<{
      command: string[];
      description: string;
      allowed_env_vars: string[];
    }>();
    assert.equal(stored.command[0], 'sh');
    assert.deepEqual(stored.allowed_env_vars, ['GREETING'], 'the variables its callers may set');
    assert.equal(stored.description, 'echoes its stdin and environment');
  });

  it('invokes it with stdin, env and a timeout, and shows stdout, stderr, the exit code and the phases', async () => {
    await page.fill('textarea[name=stdin]', 'hello from the console');
    await page.locator('label:has(textarea[name=env])', { hasText: 'lets callers set GREETING' }).waitFor();
    await page.fill('textarea[name=env]', 'GREETING=hi');
    await page.fill('input[name=timeout_ms]', '20000');
    await page.click('#invoke');
    await page.locator('#result').waitFor({ timeout: 60_000 });
    assert.equal((await text(page.locator('#stdout'))).trim(), 'stdin: hello from the console\nGREETING=hi');
    assert.equal((await text(page.locator('#stderr'))).trim(), 'to stderr');
    assert.match(await text(page.locator('#exit-code')), /^0\b/);
    assert.match(await text(page.locator('[data-phase=run]')), /run \d/);
    await shot('invoke');
  });

  it('shows the history with its filters and each invocation with its output', async () => {
    await open('#/history/console-echo');
    const row = page.locator('tr[data-invocation]').first();
    await row.waitFor();
    await page.selectOption('select[name=status]', 'timed_out');
    await page.getByText('No invocation matches.').waitFor();
    await page.selectOption('select[name=status]', 'completed');
    await row.waitFor();
    await shot('history');
    await row.locator('a').first().click();
    await page.getByRole('heading', { name: /^Invocation / }).waitFor();
    await page.locator('#stdout').getByText('hello from the console').waitFor();
    assert.equal((await text(page.locator('#stderr'))).trim(), 'to stderr');
    await shot('invocation');
  });

  it('lists the functions with their recent outcomes', async () => {
    await open('#/functions');
    await page.locator('tr[data-function=console-echo] .recent .badge').first().waitFor();
    await shot('functions');
  });

  it('invokes asynchronously and shows the dead letter once its attempts are used up', async () => {
    const created = await p.client.request('/functions', {
      method: 'POST',
      body: {
        id: 'console-doomed',
        image: BUSYBOX,
        command: ['sh', '-c', 'echo failing >&2; exit 3'],
        max_attempts: 2,
        retry_on_failure: true,
      },
    });
    assert.equal(created.status, 201, created.text);
    await open('#/invoke/console-doomed');
    await page.check('input[name=async]');
    await page.click('#invoke');
    const accepted = page.locator('#result a');
    await accepted.waitFor();
    const id = await text(accepted);
    await open('#/async');
    await page.locator(`tr[data-dead-letter="${id}"]`).waitFor({ timeout: 60_000 });
    await page.locator(`tr[data-invocation="${id}"]`).getByText('dead').waitFor({ timeout: 15_000 });
    await shot('async');
  });

  it('charts the metrics and shows the pool and queue', async () => {
    await open('#/metrics');
    await page.locator('figure.chart svg').first().waitFor();
    await page.getByText('console-echo').first().waitFor();
    // A second scrape draws the rate chart.
    await page.locator('figure.chart polyline[points*=" "]').first().waitFor({ state: 'attached', timeout: 15_000 });
    await shot('metrics');
    await open('#/pool');
    await page.locator('#ready-status').getByText('ready').waitFor();
    await page.locator('#dead-letter-gauge').getByText('1').waitFor({ timeout: 15_000 });
    await shot('pool');
    assert.deepEqual(errors, []);
  });
});
