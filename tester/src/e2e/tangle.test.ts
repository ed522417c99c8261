/**
 * The Tangle operator end to end, against Tangle's real contracts on a real EVM node: anvil from
 * npm with Tangle's deployment replayed (support/anvil.ts), service 0 and its operator account 1.
 * `faas serve` runs as a child process with the operator configured and the Docker executor;
 * anvil mines a block every second, and the operator waits one confirmation.
 *
 * Checked: both jobs run in a real sandbox and their results are on chain (completed in
 * getJobCall, decoded with the types of docs/tangle-jobs.md through viem, independently of the
 * operator's reader); malformed inputs get error results on chain; a SIGKILL mid-stream and a
 * restart neither lose nor repeat a call; a 10 s RPC outage (a TCP proxy taken down) delays
 * results and loses none.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  decodeWithSpec,
  encodeExecuteInputs,
  encodeInvokeInputs,
  type JobResultEvent,
  readJobSpec,
  type Submitted,
  TangleClient,
} from '@faas/blueprint';
import { decodeAbiParameters, type Hex, parseAbiParameters } from 'viem';
import {
  ACCOUNTS,
  type Anvil,
  anvilUnavailableReason,
  deployTangle,
  freePort,
  startAnvil,
  TANGLE_CONTRACT,
  writeKeyFiles,
} from '../support/anvil.js';
import { type RunningServer, runCli, startServe } from '../support/cli.js';
import { dockerApi, dockerUnavailableReason, managedContainers, waitForNoContainers } from '../support/docker.js';
import { HttpClient } from '../support/http.js';
import { BUSYBOX } from '../support/images.js';
import { REPO_ROOT } from '../support/paths.js';
import { freshDataDir } from '../support/platform.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const unavailable = anvilUnavailableReason() ?? (await dockerUnavailableReason());
if (unavailable) {
  process.stderr.write(
    `Tangle end-to-end tests skipped: ${unavailable}. They run wherever \`npm install\` brings anvil (linux or macOS) and a Docker engine runs.\n`,
  );
}

const spec = readJobSpec(join(REPO_ROOT, 'docs/tangle-jobs.md'));
const SERVICE = 0n;

describe("the Tangle operator on Tangle's contracts (anvil)", { skip: unavailable ?? false, timeout: 600_000 }, () => {
  let anvil: Anvil;
  let keys: ReturnType<typeof writeKeyFiles>;
  let client: TangleClient;

  before(async () => {
    anvil = await startAnvil();
    const deployed = await deployTangle(anvil);
    process.stderr.write(`tangle: ${deployed.transactions} deployment transactions replayed in ${Math.round(deployed.ms)} ms\n`);
    await anvil.rpc('evm_setIntervalMining', [1]);
    keys = writeKeyFiles();
    client = new TangleClient(anvil.url, TANGLE_CONTRACT);
  });

  after(async () => {
    await anvil?.stop();
    keys?.remove();
  });

  const operatorEnv = (rpcUrl: string, extra: Record<string, string> = {}) => ({
    FAAS_TANGLE_RPC_URL: rpcUrl,
    FAAS_TANGLE_CONTRACT: TANGLE_CONTRACT,
    FAAS_TANGLE_SERVICE_IDS: String(SERVICE),
    FAAS_TANGLE_KEY_FILE: keys.operator,
    FAAS_TANGLE_CONFIRMATIONS: '1',
    FAAS_TANGLE_POLL_MS: '200',
    ...extra,
  });

  const submit = (job: number, inputs: Hex): Promise<Submitted> => client.submit(ACCOUNTS.customer.key, SERVICE, job, inputs);

  /** The call's results on chain, decoded with the spec's types (viem), and getJobCall. */
  async function onChain(call: Submitted) {
    const results = await client.results(SERVICE, call.callId, call.blockNumber);
    const state = await client.jobCall(SERVICE, call.callId);
    return { results, state, decoded: results.map((r) => decodeResultWithSpec(r)) };
  }

  function decodeResultWithSpec(event: JobResultEvent): Record<string, unknown> {
    const fields = specDecode('result.v1', event.result);
    return { ...fields, statusName: spec.statuses.get(fields.status as number), stdoutText: hexText(fields.stdout as Hex) };
  }

  async function waitAnswered(call: Submitted, timeoutMs = 60_000) {
    await client.waitForResult(call, { timeoutMs, pollMs: 200 });
    return onChain(call);
  }

  describe('one operator serving both jobs', () => {
    let serve: RunningServer;
    let dataDir: string;

    before(async () => {
      dataDir = freshDataDir();
      serve = await startServe(operatorEnv(anvil.url, { FAAS_DATA_DIR: dataDir }));
    });

    after(async () => {
      const exit = await serve?.stop();
      if (exit && exit.code !== 0) process.stderr.write(`faas serve exited ${exit.code}: ${exit.stderr.slice(-2000)}\n`);
      if (serve) assert.deepEqual(await waitForNoContainers({ 'dev.faas.pid': String(serve.pid) }), []);
    });

    it('job 0 runs in a real sandbox and its result is on chain: completed, with the stdout and exit code', async () => {
      const inputs = encodeExecuteInputs({
        image: BUSYBOX,
        command: ['sh', '-c', 'cat; echo to-stderr >&2; exit 3'],
        stdin: Buffer.from('hello from the chain'),
        env: ['A=1'],
        timeoutMs: 20_000,
      });
      const call = await submit(0, inputs);
      // The inputs the chain emitted, read with the spec's layout.
      const [submittedLog] = await client.client.getLogs({
        address: TANGLE_CONTRACT,
        fromBlock: call.blockNumber,
        toBlock: call.blockNumber,
        topics: [null, `0x${SERVICE.toString(16).padStart(64, '0')}`, `0x${call.callId.toString(16).padStart(64, '0')}`],
      } as Parameters<typeof client.client.getLogs>[0]);
      assert.ok(submittedLog, 'JobSubmitted is on chain');
      assert.equal(submittedLog.topics.length, 3, 'the deployed contract emits jobIndex in the data, not as a topic');
      const [jobIndex, caller, emitted] = decodeAbiParameters(parseAbiParameters('uint8, address, bytes'), submittedLog.data);
      assert.equal(jobIndex, 0);
      assert.equal(caller, ACCOUNTS.customer.address);
      const sent = specDecode('execute.inputs.v1', emitted);
      assert.deepEqual(
        [sent.version, sent.image, sent.command, sent.env, sent.timeoutMs],
        [1, BUSYBOX, ['sh', '-c', 'cat; echo to-stderr >&2; exit 3'], ['A=1'], 20_000],
      );
      const { state, results, decoded } = await waitAnswered(call);
      assert.equal(state.completed, true);
      assert.equal(results.length, 1);
      assert.equal(results[0]?.operator.toLowerCase(), ACCOUNTS.operator.address.toLowerCase());
      const result = decoded[0] as Record<string, unknown>;
      assert.equal(result.version, 1);
      assert.equal(result.statusName, 'completed');
      assert.equal(result.exitCode, 3);
      assert.equal(result.stdoutText, 'hello from the chain');
      assert.equal(hexText(result.stderr as Hex), 'to-stderr\n');
      assert.equal(result.errorCode, '');
      assert.match(result.invocationId as string, /^[0-9a-f-]{36}$/);
      // The invocation is in the platform's history like an HTTP one.
      const http = new HttpClient(serve.url);
      const record = await http.request(`/invocations/${result.invocationId}`);
      assert.equal(record.status, 200, record.text);
    });

    it('job 1 invokes a registered function (with its secret) through `faas tangle submit`, which prints the decoded result', async () => {
      const http = new HttpClient(serve.url);
      const created = await http.request('/functions', {
        method: 'POST',
        body: {
          id: 'greet',
          image: BUSYBOX,
          command: ['sh', '-c', 'printf "%s %s" "$GREETING" "$(cat)"'],
          secrets: { GREETING: 'hello' },
        },
      });
      assert.equal(created.status, 201, created.text);
      const cli = await runCli(
        [
          'tangle',
          'submit',
          'invoke',
          '--function',
          'greet',
          '--stdin',
          'world',
          '--rpc-url',
          anvil.url,
          '--contract',
          TANGLE_CONTRACT,
          '--service',
          '0',
          '--key-file',
          keys.customer,
          '--wait-ms',
          '60000',
          '--json',
        ],
        {},
        90_000,
      );
      assert.equal(cli.code, 0, cli.stderr);
      const printed = JSON.parse(cli.stdout) as { call_id: string; submit_block: string; result: Record<string, unknown> };
      assert.equal(printed.result.status, 'completed');
      assert.equal(printed.result.exit_code, 0);
      // The function printed its secret: it reached the sandbox, and came back masked (a result
      // on chain is public).
      assert.equal(printed.result.stdout, '*** world');
      const call = { serviceId: SERVICE, callId: BigInt(printed.call_id), blockNumber: BigInt(printed.submit_block), hash: '0x' as Hex };
      const { state, decoded } = await onChain(call);
      assert.equal(state.completed, true);
      assert.equal(decoded[0]?.stdoutText, '*** world');
    });

    it('malformed inputs, unknown jobs and broken rules get error results on chain, and the operator goes on', async () => {
      const cases: { job: number; inputs: Hex; code: string }[] = [
        { job: 0, inputs: '0xdeadbeef', code: 'FAAS_ERR_INVALID_JOB_INPUT' },
        { job: 1, inputs: '0x', code: 'FAAS_ERR_INVALID_JOB_INPUT' },
        { job: 2, inputs: encodeInvokeInputs({ functionId: 'greet' }), code: 'FAAS_ERR_UNKNOWN_JOB' },
        { job: 0, inputs: encodeExecuteInputs({ image: 'Not An Image!', command: ['true'] }), code: 'FAAS_ERR_INVALID_IMAGE' },
        { job: 0, inputs: encodeExecuteInputs({ image: BUSYBOX, command: [] }), code: 'FAAS_ERR_INVALID_COMMAND' },
        { job: 1, inputs: encodeInvokeInputs({ functionId: 'nobody-registered-this' }), code: 'FAAS_ERR_FUNCTION_NOT_FOUND' },
      ];
      const calls: Submitted[] = [];
      for (const c of cases) calls.push(await submit(c.job, c.inputs));
      const good = await submit(0, encodeExecuteInputs({ image: BUSYBOX, command: ['echo', 'still serving'] }));
      for (const [i, call] of calls.entries()) {
        const { state, decoded } = await waitAnswered(call);
        assert.equal(state.completed, true, `case ${i}`);
        assert.equal(decoded[0]?.statusName, 'rejected', `case ${i}`);
        assert.equal(decoded[0]?.errorCode, cases[i]?.code, `case ${i}: ${decoded[0]?.errorMessage}`);
        assert.notEqual(decoded[0]?.errorMessage, '');
      }
      const { decoded } = await waitAnswered(good);
      assert.equal(decoded[0]?.stdoutText, 'still serving\n');
    });

    it('faas tangle status shows the service, its operators and a call with its decoded result', async () => {
      const call = await submit(0, encodeExecuteInputs({ image: BUSYBOX, command: ['echo', 'status'] }));
      await waitAnswered(call);
      const cli = await runCli(
        [
          'tangle',
          'status',
          '--json',
          '--rpc-url',
          anvil.url,
          '--contract',
          TANGLE_CONTRACT,
          '--service',
          '0',
          '--call',
          String(call.callId),
        ],
        {},
        30_000,
      );
      assert.equal(cli.code, 0, cli.stderr);
      const status = JSON.parse(cli.stdout) as {
        chain_id: number;
        services: { active: boolean; operators: string[] }[];
        call: { completed: boolean; results: { result: { stdout: string } }[] };
      };
      assert.equal(status.chain_id, 31337);
      assert.equal(status.services[0]?.active, true);
      assert.ok(status.services[0]?.operators.includes(ACCOUNTS.operator.address));
      assert.equal(status.call.completed, true);
      assert.equal(status.call.results[0]?.result.stdout, 'status\n');
      // The operator's metrics are beside the invocations' on /metrics.
      const metrics = await new HttpClient(serve.url).request('/metrics');
      assert.equal(metrics.status, 200);
      const value = (line: RegExp) => Number(line.exec(metrics.text)?.[1] ?? Number.NaN);
      assert.ok(value(/^faas_tangle_calls_seen_total\{service="0"\} (\d+)/m) >= 9);
      assert.ok(value(/^faas_tangle_calls_answered_total\{service="0",status="completed"\} (\d+)/m) >= 3);
      assert.ok(value(/^faas_tangle_calls_answered_total\{service="0",status="rejected"\} (\d+)/m) >= 6);
      assert.ok(value(/^faas_tangle_lag_blocks (\d+)/m) >= 0);
      // The call's block is finished once its answer is FAAS_TANGLE_CONFIRMATIONS deep, a block or so after it is mined.
      let lastBlock = value(/^faas_tangle_last_block (\d+)/m);
      for (const deadline = Date.now() + 15_000; !(lastBlock >= Number(call.blockNumber)) && Date.now() < deadline; ) {
        await new Promise((r) => setTimeout(r, 200));
        const again = await new HttpClient(serve.url).request('/metrics');
        lastBlock = Number(/^faas_tangle_last_block (\d+)/m.exec(again.text)?.[1] ?? Number.NaN);
      }
      assert.ok(lastBlock >= Number(call.blockNumber), `faas_tangle_last_block ${lastBlock} < ${call.blockNumber}`);
    });
    it('a reorg shallower than the confirmation depth: the call that vanished never runs, the call id goes to its new owner', async () => {
      // Mine by hand: one block with call A, then replace that block by an empty one (anvil_reorg),
      // then call B, which takes A's call id. The operator waits one confirmation, so it never saw A.
      const mineWith = async (pending: Promise<Submitted>) => {
        await new Promise((r) => setTimeout(r, 300));
        await anvil.rpc('evm_mine');
        return pending;
      };
      await anvil.rpc('evm_setIntervalMining', [0]);
      await anvil.rpc('evm_setAutomine', [false]);
      try {
        const a = await mineWith(submit(0, encodeExecuteInputs({ image: BUSYBOX, command: ['echo', 'vanished'] })));
        await new Promise((r) => setTimeout(r, 600)); // a few operator polls at this head
        await anvil.rpc('anvil_reorg', [1, []]);
        assert.equal((await client.jobCall(SERVICE, a.callId)).caller, '0x0000000000000000000000000000000000000000');
        const b = await mineWith(submit(0, encodeExecuteInputs({ image: BUSYBOX, command: ['echo', 'new owner'] })));
        assert.equal(b.callId, a.callId);
        await anvil.rpc('evm_setIntervalMining', [1]);
        const { results, decoded } = await waitAnswered(b);
        assert.equal(results.length, 1);
        assert.equal(decoded[0]?.stdoutText, 'new owner\n');
      } finally {
        await anvil.rpc('evm_setIntervalMining', [1]);
      }
    });

    it('an answer a reorg drops before it is confirmed is sent again: the call is answered once, not left unanswered', async () => {
      const mine = () => anvil.rpc('evm_mine');
      const operator = ACCOUNTS.operator.address;
      const pendingAnswers = async () =>
        Number(await anvil.rpc<Hex>('eth_getTransactionCount', [operator, 'pending'])) -
        Number(await anvil.rpc<Hex>('eth_getTransactionCount', [operator, 'latest']));
      await anvil.rpc('evm_setIntervalMining', [0]);
      await anvil.rpc('evm_setAutomine', [false]);
      try {
        // Malformed inputs: answered at once, without a sandbox.
        const pending = submit(0, '0xdeadbeef');
        await new Promise((r) => setTimeout(r, 300));
        await mine();
        const call = await pending;
        await mine(); // one confirmation: the operator reads the call now
        const deadline = Date.now() + 30_000;
        while ((await pendingAnswers()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        assert.equal(await pendingAnswers(), 1, 'the operator broadcast its answer');
        await mine(); // the answer is mined, not yet one block deep
        assert.equal((await client.jobCall(SERVICE, call.callId)).completed, true);
        await new Promise((r) => setTimeout(r, 1000)); // the operator sees its receipt
        // The block with the answer is replaced by an empty one, and the node forgets the transaction.
        await anvil.rpc('anvil_reorg', [1, []]);
        await anvil.rpc('anvil_dropAllTransactions');
        assert.equal((await client.jobCall(SERVICE, call.callId)).completed, false, 'the reorg took the answer away');
        await anvil.rpc('evm_setIntervalMining', [1]);
        const { results, decoded } = await waitAnswered(call, 60_000);
        assert.equal(results.length, 1);
        assert.equal(decoded[0]?.errorCode, 'FAAS_ERR_INVALID_JOB_INPUT');
      } finally {
        await anvil.rpc('evm_setIntervalMining', [1]);
      }
    });
  });

  it('start-up stops with one line and exit code 2 when the chain contradicts the configuration', async () => {
    // An address with no code (the customer's account).
    const noCode = await runCli(['serve'], operatorEnv(anvil.url, { FAAS_TANGLE_CONTRACT: ACCOUNTS.customer.address }), 60_000);
    assert.equal(noCode.code, 2, noCode.stderr);
    const noCodeLines = noCode.stderr.trim().split('\n');
    assert.equal(noCodeLines.length, 1, noCode.stderr);
    assert.match(noCodeLines[0] as string, /^faas: .*FAAS_TANGLE_CONTRACT=0x[0-9a-fA-F]{40} has no code on chain 31337/);
    // A service that does not exist.
    const noService = await runCli(['serve'], operatorEnv(anvil.url, { FAAS_TANGLE_SERVICE_IDS: '0,7' }), 60_000);
    assert.equal(noService.code, 2, noService.stderr);
    assert.equal(noService.stderr.trim().split('\n').length, 1, noService.stderr);
    assert.match(noService.stderr, /FAAS_TANGLE_SERVICE_IDS names service 7, which does not exist/);
  });

  it('an operator that stops after start-up makes /ready not ready, with the reason, and faas_tangle_operator_up 0', async () => {
    // The RPC is down at start-up, so the contract is checked only once it answers; it has no code.
    const proxy = new TcpProxy(await freePort(), anvil.port);
    let serve: RunningServer | undefined;
    try {
      serve = await startServe(operatorEnv(proxy.url, { FAAS_DATA_DIR: freshDataDir(), FAAS_TANGLE_CONTRACT: ACCOUNTS.customer.address }));
      const http = new HttpClient(serve.url);
      const up = (text: string) => Number(/^faas_tangle_operator_up (\d+)/m.exec(text)?.[1] ?? Number.NaN);
      const ready = await http.request('/ready');
      assert.equal(ready.status, 200, `an RPC that does not answer is no reason to be not ready: ${ready.text}`);
      assert.equal(up((await http.request('/metrics')).text), 1);
      await proxy.up();
      const deadline = Date.now() + 30_000;
      let answer = await http.request('/ready');
      while (answer.status === 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        answer = await http.request('/ready');
      }
      assert.equal(answer.status, 503, answer.text);
      const body = JSON.parse(answer.text) as { code: string; error: string };
      assert.equal(body.code, 'FAAS_ERR_TANGLE_OPERATOR_STOPPED');
      assert.match(body.error, /FAAS_TANGLE_CONTRACT=0x[0-9a-fA-F]{40} has no code/);
      assert.equal(up((await http.request('/metrics')).text), 0);
      // The rest of the platform serves on.
      assert.equal((await http.request('/health')).status, 200);
    } finally {
      await serve?.stop();
      await proxy.down();
    }
  });

  it('a SIGKILL mid-stream and a restart neither lose nor repeat a call: each runs at most once and gets exactly one result', async () => {
    const dataDir = freshDataDir();
    const env = operatorEnv(anvil.url, { FAAS_DATA_DIR: dataDir, FAAS_TANGLE_MAX_IN_FLIGHT: '2' });
    let serve: RunningServer | undefined = await startServe(env);
    const firstPid = serve.pid;
    const calls: Submitted[] = [];
    /** The calls (their i) whose command has run at most `seconds` in a sandbox of process `pid`. */
    const startedCalls = async (pid: number, seconds: number): Promise<number[]> => {
      const found: number[] = [];
      for (const container of await managedContainers({ 'dev.faas.pid': String(pid) })) {
        if (container.state !== 'running') continue;
        const top = await dockerApi('GET', `/containers/${container.id}/top?ps_args=${encodeURIComponent('-eo pid,etimes,args')}`);
        if (top.status !== 200) continue;
        for (const row of (JSON.parse(top.body) as { Processes?: string[][] }).Processes ?? []) {
          const match = /^\s*\d+\s+(\d+)\s.*echo call-(\d+)/.exec(row.join(' '));
          if (match && Number(match[1]) <= seconds) found.push(Number(match[2]));
        }
      }
      return found;
    };
    let runningAtKill: number[] = [];
    try {
      // Calls keep coming while the operator is killed and restarted: a stream, not a batch.
      const submitting = (async () => {
        for (let i = 0; i < 8; i++) {
          calls.push(await submit(0, encodeExecuteInputs({ image: BUSYBOX, command: ['sh', '-c', `sleep 4; echo call-${i}`] })));
        }
      })();
      // Kill the operator without warning once some calls, not all, are answered, and while one runs
      // with at least a second of its sleep left, so that it is still running when the kill lands.
      const deadline = Date.now() + 90_000;
      let answered = 0;
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        answered = (await Promise.all(calls.map((c) => client.jobCall(SERVICE, c.callId)))).filter((c) => c.completed).length;
        runningAtKill = answered >= 2 ? await startedCalls(firstPid, 2) : [];
        if (runningAtKill.length > 0) break;
      }
      await serve.stop('SIGKILL');
      await submitting;
      assert.ok(answered >= 2 && answered < calls.length, `killed with ${answered} of ${calls.length} answered`);
      assert.ok(runningAtKill.length > 0, 'a call was running when the operator was killed');
      process.stderr.write(
        `tangle: killed with ${answered} of ${calls.length} calls answered, calls ${runningAtKill.join(', ')} running\n`,
      );
      serve = await startServe(env);
      const answers: Record<string, unknown>[] = [];
      for (const [i, call] of calls.entries()) {
        const { state, results, decoded } = await waitAnswered(call, 90_000);
        assert.equal(state.completed, true, `call ${i}`);
        assert.equal(results.length, 1, `call ${i} has ${results.length} results`);
        const answer = decoded[0] as Record<string, unknown>;
        answers.push(answer);
        if (answer.errorCode === 'FAAS_ERR_WORKER_LOST') {
          // Cut off by the kill: answered so, with the invocation that ran, and not run again.
          assert.equal(answer.statusName, 'failed', `call ${i}`);
          assert.match(answer.errorMessage as string, /not run again/);
        } else {
          assert.ok(
            !runningAtKill.includes(i),
            `call ${i} was running when the operator was killed, and ran again: ${JSON.stringify(answer)}`,
          );
          assert.equal(answer.stdoutText, `call-${i}\n`, `call ${i}`);
        }
      }
      for (const i of runningAtKill) assert.equal(answers[i]?.errorCode, 'FAAS_ERR_WORKER_LOST', `call ${i} ran under the killed process`);
      // Nothing answered twice afterwards either (a late duplicate would show up here).
      await new Promise((r) => setTimeout(r, 3000));
      for (const call of calls) assert.equal((await client.results(SERVICE, call.callId, call.blockNumber)).length, 1);
      // The platform's history has exactly one invocation per call, the one its answer names: the
      // killed runs included (status error, FAAS_ERR_WORKER_LOST), and no second run of any call.
      const listed = await new HttpClient(serve.url).request(
        `/functions/tangle-${SERVICE}-${ACCOUNTS.customer.address.toLowerCase()}/invocations?limit=100`,
      );
      assert.equal(listed.status, 200, listed.text);
      const history = (JSON.parse(listed.text) as { invocations: { id: string; status: string; error_code: string | null }[] }).invocations;
      assert.deepEqual(history.map((r) => r.id).sort(), answers.map((a) => a.invocationId as string).sort(), 'one history record per call');
      for (const answer of answers) {
        const record = history.find((r) => r.id === answer.invocationId);
        if (answer.errorCode === 'FAAS_ERR_WORKER_LOST')
          assert.deepEqual([record?.status, record?.error_code], ['error', 'FAAS_ERR_WORKER_LOST']);
        else assert.equal(record?.status, 'completed');
      }
    } finally {
      const exit = await serve?.stop();
      if (exit && exit.code !== 0) process.stderr.write(`faas serve exited ${exit.code}: ${exit.stderr.slice(-2000)}\n`);
    }
    // The second run removed what the killed one left, and left nothing itself.
    assert.deepEqual(await waitForNoContainers({ 'dev.faas.pid': String(firstPid) }), []);
    assert.deepEqual(await waitForNoContainers({ 'dev.faas.pid': String(serve.pid) }), []);
  });

  it('a SIGTERM mid-stream: calls running are answered within the grace, calls not started are answered after the restart', async () => {
    const env = operatorEnv(anvil.url, { FAAS_DATA_DIR: freshDataDir(), FAAS_TANGLE_MAX_IN_FLIGHT: '1' });
    let serve: RunningServer | undefined = await startServe(env);
    const calls: Submitted[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        calls.push(await submit(0, encodeExecuteInputs({ image: BUSYBOX, command: ['sh', '-c', `sleep 2; echo term-${i}`] })));
      }
      await waitAnswered(calls[0] as Submitted);
      const exit = await serve.stop('SIGTERM');
      assert.equal(exit.code, 0, exit.stderr.slice(-2000));
      const answeredBefore = (await Promise.all(calls.map((c) => client.jobCall(SERVICE, c.callId)))).filter((c) => c.completed).length;
      assert.ok(answeredBefore < calls.length, 'some calls were left for the restart');
      serve = await startServe(env);
      for (const [i, call] of calls.entries()) {
        const { results, decoded } = await waitAnswered(call, 90_000);
        assert.equal(results.length, 1, `call ${i} has ${results.length} results`);
        assert.equal(decoded[0]?.stdoutText, `term-${i}\n`);
      }
    } finally {
      await serve?.stop();
    }
  });

  it('an RPC outage of 10 s delays results but loses none', async () => {
    const proxy = new TcpProxy(await freePort(), anvil.port);
    await proxy.up();
    let serve: RunningServer | undefined;
    try {
      serve = await startServe(operatorEnv(proxy.url, { FAAS_DATA_DIR: freshDataDir() }));
      const before = await submit(0, encodeExecuteInputs({ image: BUSYBOX, command: ['echo', 'before'] }));
      assert.equal((await waitAnswered(before)).decoded[0]?.stdoutText, 'before\n');
      await proxy.down();
      const downAt = await client.client.getBlockNumber();
      const during: Submitted[] = [];
      const started = Date.now();
      for (let i = 0; i < 3; i++) during.push(await submit(0, encodeExecuteInputs({ image: BUSYBOX, command: ['echo', `during-${i}`] })));
      await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - started))));
      // Nothing could be answered while the operator's RPC was gone.
      for (const call of during) assert.equal((await client.jobCall(SERVICE, call.callId)).completed, false);
      await proxy.up();
      for (const [i, call] of during.entries()) {
        const { results, decoded } = await waitAnswered(call, 90_000);
        assert.equal(results.length, 1);
        assert.ok((results[0]?.blockNumber ?? 0n) > downAt);
        assert.equal(decoded[0]?.stdoutText, `during-${i}\n`);
      }
    } finally {
      const exit = await serve?.stop();
      if (exit && exit.code !== 0) process.stderr.write(`faas serve exited ${exit.code}: ${exit.stderr.slice(-2000)}\n`);
      await proxy.down();
    }
  });
});

function specDecode(name: string, data: Hex): Record<string, unknown> {
  return decodeWithSpec(spec, name, data);
}

function hexText(hex: Hex): string {
  return Buffer.from(hex.slice(2), 'hex').toString('utf8');
}
