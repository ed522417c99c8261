/**
 * The engine watch and the sweep plan without a Docker engine: a fake engine on a unix socket
 * streams events, goes away and comes back; the plan sorts a listing into leftovers and dead
 * sandboxes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LABEL_INSTANCE, LABEL_PID, LABEL_SANDBOX } from './container-spec.js';
import { DockerEngine, type EngineEvent } from './engine.js';
import { EngineWatch } from './engine-watch.js';
import { planSweep } from './sweep.js';

const dir = mkdtempSync(join(tmpdir(), 'faas-watch-'));
const socket = join(dir, 'docker.sock');
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fake engine whose /events streams what `push` sends, until `stop`. */
async function fakeEngine() {
  const streams = new Set<http.ServerResponse>();
  const queries: string[] = [];
  const server = http.createServer((req, res) => {
    queries.push(req.url ?? '');
    if (!req.url?.includes('/events')) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    streams.add(res);
    res.on('close', () => streams.delete(res));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    queries,
    push(event: EngineEvent) {
      for (const res of streams) res.write(`${JSON.stringify(event)}\n`);
    },
    get open() {
      return streams.size;
    },
    async stop() {
      for (const res of streams) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function until(what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`never: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('engine watch', () => {
  it('passes events on, says down when the stream ends and up when a new one opens', async () => {
    let engine = await fakeEngine();
    const seen: string[] = [];
    const watch = new EngineWatch(
      new DockerEngine({ host: `unix://${socket}` }),
      { type: ['container'], label: ['dev.faas.instance=x'] },
      {
        onEvent: (e) => seen.push(`event ${e.Action} ${e.Actor?.ID}`),
        onDown: () => seen.push('down'),
        onUp: () => seen.push('up'),
      },
      20,
    );
    watch.start();
    await until('the stream is open', () => engine.open === 1);
    assert.match(decodeURIComponent(engine.queries[0] ?? ''), /filters=.*dev\.faas\.instance=x/);
    engine.push({ Type: 'container', Action: 'die', Actor: { ID: 'c1' } });
    await until('the event arrives', () => seen.includes('event die c1'));
    await engine.stop();
    await until('down is reported', () => seen.includes('down'));
    assert.equal(watch.engineDown, true);
    // Reconnect attempts while it is away are not reported again.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(seen.filter((s) => s === 'down').length, 1);
    rmSync(socket, { force: true });
    engine = await fakeEngine();
    await until('up is reported', () => seen.includes('up'));
    assert.equal(watch.engineDown, false);
    engine.push({ Type: 'container', Action: 'kill', Actor: { ID: 'c2' } });
    await until('events flow again', () => seen.includes('event kill c2'));
    watch.close();
    await engine.stop();
    assert.deepEqual(seen, ['event die c1', 'down', 'up', 'event kill c2']);
  });
});

describe('sweep plan', () => {
  const mine = (sandbox: string | undefined, state: string) => ({
    Id: `c-${sandbox}-${state}`,
    State: state,
    Labels: { [LABEL_INSTANCE]: 'me', [LABEL_PID]: String(process.pid), ...(sandbox ? { [LABEL_SANDBOX]: sandbox } : {}) },
  });
  const live = new Set(['held', 'starting', 'died']);

  it("removes this executor's containers no sandbox holds and a dead process's, and finds dead sandboxes", () => {
    const plan = planSweep(
      [
        mine('held', 'running'),
        mine('starting', 'created'),
        mine('died', 'exited'),
        mine('forgotten', 'exited'),
        mine(undefined, 'running'),
        // Another executor of a live process (this one): not ours to touch.
        { Id: 'other-live', State: 'exited', Labels: { [LABEL_INSTANCE]: 'other', [LABEL_PID]: String(process.pid) } },
        // A platform process that is gone: a leftover for anyone.
        { Id: 'other-dead', State: 'running', Labels: { [LABEL_INSTANCE]: 'other', [LABEL_PID]: '999999999' } },
      ],
      'me',
      (id) => live.has(id),
    );
    assert.deepEqual(plan.leftovers.sort(), ['c-forgotten-exited', 'c-undefined-running', 'other-dead'].sort());
    assert.deepEqual([...plan.dead], [['died', 'exited']]);
    assert.deepEqual([...plan.present].sort(), ['died', 'held', 'starting']);
  });
});
