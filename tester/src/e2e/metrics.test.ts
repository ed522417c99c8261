/**
 * GET /metrics over HTTP: invocations are counted with their labels, the phase and per-function histograms fill,
 * and the exposition passes `promtool check metrics` where promtool is installed (docs/metrics.md).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { BUSYBOX } from '../support/images.js';
import { usePlatform } from '../support/platform.js';

/** Default metrics of prom-client 15 that promtool flags ("non-counter metrics should not have _total suffix"). */
describe('GET /metrics', () => {
  const p = usePlatform({ FAAS_POOL_MODE: 'reuse', FAAS_POOL_MIN_IDLE: '0' });

  it('counts two invocations with their labels and fills the phase histogram', async () => {
    for (let i = 0; i < 2; i++) await p.client.run('metrics-fn', { image: BUSYBOX, command: ['true'] });
    // The release phase is observed once the sandbox is back; the answer may come first.
    let text = '';
    for (let i = 0; i < 100; i++) {
      const res = await p.client.request('/metrics');
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
      text = res.text;
      if (/^faas_invocation_phase_seconds_count\{executor="docker",phase="release"\} 2$/m.test(text)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(text, /^faas_invocations_total\{function="metrics-fn",executor="docker",outcome="completed"\} 2$/m);
    // Latency per function: one label, the same id as the counter's.
    const observed = /^faas_function_duration_seconds_count\{function="metrics-fn"\} (\d+)$/m.exec(text);
    assert.ok(observed && Number(observed[1]) >= 1, 'faas_function_duration_seconds_count{function="metrics-fn"} >= 1');
    for (const phase of ['queue', 'acquire', 'run', 'release']) {
      assert.match(text, new RegExp(`^faas_invocation_phase_seconds_count\\{executor="docker",phase="${phase}"\\} 2$`, 'm'), phase);
    }
    assert.match(text, /^faas_invocation_phase_seconds_bucket\{le="\+Inf",executor="docker",phase="run"\} 2$/m);
    // Hit or miss depends on whether the first sandbox was back before the second call: both are counted.
    assert.match(text, /^faas_pool_misses_total\{executor="docker",isolation="reuse"\} [12]$/m);
    assert.match(text, /^faas_pool_hits_total\{executor="docker",isolation="reuse"\} [01]$/m);
    assert.match(text, /^faas_queue_depth 0$/m);
    assert.match(text, /^process_cpu_seconds_total /m);

    const head = await p.client.request('/metrics', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.text, '');
  });

  it('passes promtool check metrics', async (t) => {
    const probe = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    if (probe.error) {
      t.skip('promtool is not installed (Debian package prometheus); the exposition was not linted');
      return;
    }
    const res = await p.client.request('/metrics');
    const check = spawnSync('promtool', ['check', 'metrics'], { input: res.text, encoding: 'utf8' });
    const findings = `${check.stdout}${check.stderr}`.split('\n').filter((line) => line.trim() !== '');
    assert.deepEqual(findings, [], `promtool check metrics:\n${findings.join('\n')}`);
    assert.equal(check.status, 0, `promtool exited ${check.status}`);
  });
});
