/**
 * The blueprint definition and the customer's commands on Tangle's real contracts (anvil from npm,
 * Tangle's deployment replayed: support/anvil.ts). No Docker: the test itself plays the operator
 * (anvil account 1) where a result is needed, posting it with submitResult as `faas serve` would.
 *
 * Checked: `faas tangle blueprint create` sends blueprint/blueprint.json to createBlueprint and the
 * contract keeps exactly that definition (read back with getBlueprintDefinition and
 * blueprintDefinitionHash, decoded with Tangle's published ABI); a service of the new blueprint
 * (an operator registers, a customer requests it, the operator approves) accepts both jobs'
 * ABI-encoded inputs and an ABI-encoded result, while a truthful TLV schema would have it refuse
 * them; `faas tangle submit` and `status` print lines for people (with a progress line while
 * waiting, on a terminal) and JSON with --json; the client reads only the variables it needs.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createBlueprintArgument,
  EXECUTE_INPUTS,
  encodeExecuteInputs,
  encodeInvokeInputs,
  encodeResult,
  JOBS,
  TANGLE_ABI,
  TangleClient,
} from '@faas/blueprint';
import {
  type Abi,
  type AbiFunction,
  concatHex,
  createPublicClient,
  createWalletClient,
  defineChain,
  encodeAbiParameters,
  type Hex,
  http,
  keccak256,
  parseEventLogs,
  toFunctionSelector,
  toHex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  ACCOUNTS,
  type Anvil,
  anvilUnavailableReason,
  deployTangle,
  startAnvil,
  TANGLE_CONTRACT,
  tangleFixtures,
  writeKeyFiles,
} from '../support/anvil.js';
import { runCli } from '../support/cli.js';
import { CLI_PATH, REPO_ROOT } from '../support/paths.js';
import { platformEnv } from '../support/platform.js';

const unavailable = anvilUnavailableReason();
if (unavailable) process.stderr.write(`Tangle blueprint tests skipped: ${unavailable}.\n`);

const DEFINITION = join(REPO_ROOT, 'blueprint/blueprint.json');

/** The parts of a BlueprintDefinition (the file's JSON form, or as the contract returns it) the checks read. */
interface Definition {
  metadataUri: string;
  metadataHash: Hex;
  hasConfig: boolean;
  config: { membership: number; pricing: number; minOperators: number };
  metadata: { name: string };
  jobs: { name: string; paramsSchema: Hex; resultSchema: Hex }[];
  supportedMemberships: readonly number[];
}
const ZERO = '0x0000000000000000000000000000000000000000';

describe("the blueprint definition on Tangle's contracts (anvil)", { skip: unavailable ?? false, timeout: 300_000 }, () => {
  let anvil: Anvil;
  let keys: ReturnType<typeof writeKeyFiles>;
  let client: TangleClient;
  /** Tangle's published interface (../shared/tangle), not the project's copy of it. */
  let published: Abi;
  let blueprintId: bigint;
  let serviceId: bigint;

  const file = JSON.parse(readFileSync(DEFINITION, 'utf8')) as { createBlueprint: Definition; metadata: unknown };
  const chainFlags = () => ['--rpc-url', anvil.url, '--contract', TANGLE_CONTRACT];

  before(async () => {
    anvil = await startAnvil();
    await deployTangle(anvil);
    keys = writeKeyFiles();
    client = new TangleClient(anvil.url, TANGLE_CONTRACT);
    published = JSON.parse(readFileSync(join(tangleFixtures() as string, 'ITangle.abi.json'), 'utf8')).abi as Abi;
  });

  after(async () => {
    await anvil?.stop();
    keys?.remove();
  });

  /** Sends a transaction to Tangle with its published ABI and waits for its receipt. */
  async function send(key: Hex, functionName: string, args: unknown[]) {
    const chain = defineChain({
      id: 31337,
      name: 'anvil',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [anvil.url] } },
    });
    const wallet = createWalletClient({ account: privateKeyToAccount(key), chain, transport: http(anvil.url) });
    const hash = await wallet.writeContract({ address: TANGLE_CONTRACT, abi: published, functionName, args } as never);
    const receipt = await client.client.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, 'success', `${functionName} reverted`);
    return receipt;
  }

  const read = <T>(functionName: string, args: unknown[]) =>
    client.client.readContract({ address: TANGLE_CONTRACT, abi: published, functionName, args } as never) as Promise<T>;

  type Event<A> = { args: A }[];

  /** A service of the blueprint with operator account 1: it registers, the customer requests, it approves. */
  async function serviceOf(blueprint: bigint): Promise<bigint> {
    const operator = privateKeyToAccount(ACCOUNTS.operator.key);
    await send(ACCOUNTS.operator.key, 'registerOperator', [blueprint, operator.publicKey, 'http://127.0.0.1:1']);
    const requested = await send(ACCOUNTS.customer.key, 'requestService', [
      blueprint,
      [operator.address],
      '0x',
      [ACCOUNTS.customer.address],
      0n,
      ZERO,
      0n,
      0,
    ]);
    const [request] = parseEventLogs({ abi: published, eventName: 'ServiceRequested', logs: requested.logs }) as unknown as Event<{
      requestId: bigint;
    }>;
    const approved = await send(ACCOUNTS.operator.key, 'approveService', [
      {
        requestId: request?.args.requestId,
        securityCommitments: [],
        blsPubkey: [0n, 0n, 0n, 0n],
        blsPopSignature: [0n, 0n],
        teeCommitments: [],
      },
    ]);
    const [activated] = parseEventLogs({ abi: published, eventName: 'ServiceActivated', logs: approved.logs }) as unknown as Event<{
      serviceId: bigint;
    }>;
    assert.ok(activated, 'the service is active');
    return activated.args.serviceId;
  }

  it('`faas tangle blueprint create` sends blueprint/blueprint.json to createBlueprint, and the contract keeps that definition', async () => {
    const countBefore = await read<bigint>('blueprintCount', []);
    const cli = await runCli(['tangle', 'blueprint', 'create', ...chainFlags(), '--key-file', keys.customer, '--json'], {}, 60_000);
    assert.equal(cli.code, 0, cli.stderr);
    const printed = JSON.parse(cli.stdout) as { blueprint_id: string; jobs: number; definition_hash: Hex; tx: Hex };
    blueprintId = BigInt(printed.blueprint_id);
    assert.equal(blueprintId, countBefore, 'the next blueprint id');
    assert.equal(await read('blueprintCount', []), countBefore + 1n);

    // Read back with the contract's getters, through Tangle's own ABI.
    const onChain = await read<Definition>('getBlueprintDefinition', [blueprintId]);
    const sent = file.createBlueprint;
    assert.equal(onChain.jobs.length, JOBS.length, 'one job per job index');
    assert.equal(printed.jobs, JOBS.length);
    for (const job of onChain.jobs) {
      assert.equal(job.paramsSchema, '0x');
      assert.equal(job.resultSchema, '0x');
    }
    assert.equal(onChain.metadataUri, sent.metadataUri);
    assert.equal(onChain.metadataHash, sent.metadataHash);
    assert.equal(onChain.metadataHash, keccak256(toHex(JSON.stringify(file.metadata))), 'the hash pins the metadata of the file');
    assert.equal(onChain.metadata.name, 'faas');
    assert.deepEqual([...onChain.supportedMemberships], sent.supportedMemberships);
    assert.deepEqual(
      [onChain.hasConfig, onChain.config.membership, onChain.config.pricing, onChain.config.minOperators],
      [sent.hasConfig, sent.config.membership, sent.config.pricing, sent.config.minOperators],
    );
    // Names, descriptions and sources are not stored but hashed: the whole definition, as the
    // file holds it and encoded with the published ABI, is what the contract was sent.
    const createBlueprint = published.find((e) => e.type === 'function' && e.name === 'createBlueprint') as AbiFunction;
    const expected = keccak256(encodeAbiParameters(createBlueprint.inputs, [createBlueprintArgument(file.createBlueprint)] as never));
    assert.equal(await read('blueprintDefinitionHash', [blueprintId]), expected);
    assert.equal(printed.definition_hash, expected);
    const blueprint = await read<{ owner: string; active: boolean }>('getBlueprint', [blueprintId]);
    assert.equal(blueprint.owner, ACCOUNTS.customer.address);
    assert.equal(blueprint.active, true);

    // The same for people.
    const human = await runCli(['tangle', 'blueprint', 'create', ...chainFlags(), '--key-file', keys.customer], {}, 60_000);
    assert.equal(human.code, 0, human.stderr);
    assert.match(
      human.stdout,
      new RegExp(`^blueprint ${blueprintId + 1n} created from .*blueprint\\.json, owned by ${ACCOUNTS.customer.address}\n`),
    );
    assert.match(human.stdout, new RegExp(`\n  ${JOBS.length} jobs; metadata ${sent.metadataUri} \\(keccak256 ${sent.metadataHash}\\)\n`));
    assert.match(human.stdout, new RegExp(`the contract keeps the definition sent: blueprintDefinitionHash ${expected}\n$`));
  });

  it("a service of the new blueprint takes both jobs' ABI-encoded inputs and an ABI-encoded result", async () => {
    serviceId = await serviceOf(blueprintId);
    const service = await client.service(serviceId);
    assert.equal(service.blueprintId, blueprintId);
    assert.deepEqual(service.operators, [ACCOUNTS.operator.address]);
    const execute = await client.submit(
      ACCOUNTS.customer.key,
      serviceId,
      0,
      encodeExecuteInputs({ image: 'faas/busybox:latest', command: ['true'] }),
    );
    const invoke = await client.submit(ACCOUNTS.customer.key, serviceId, 1, encodeInvokeInputs({ functionId: 'f' }));
    for (const call of [execute, invoke]) {
      await send(ACCOUNTS.operator.key, 'submitResult', [serviceId, call.callId, resultBytes('ok\n')]);
      assert.equal((await client.jobCall(serviceId, call.callId)).completed, true);
    }
  });

  it('a truthful TLV schema would make the contract refuse those ABI-encoded inputs (so the definition leaves the schemas empty)', async () => {
    const withSchema = structuredClone(file.createBlueprint);
    withSchema.jobs[0]!.paramsSchema = tlvSchema(EXECUTE_INPUTS);
    const created = await client.createBlueprint(ACCOUNTS.customer.key, createBlueprintArgument(withSchema));
    const strict = await serviceOf(created.blueprintId);
    await assert.rejects(
      client.submit(ACCOUNTS.customer.key, strict, 0, encodeExecuteInputs({ image: 'faas/busybox:latest', command: ['true'] })),
      (err: Error) => err.message.includes(toFunctionSelector('SchemaValidationFailed(uint8,uint64,uint64,uint256)')),
    );
  });

  it('`faas tangle submit` prints the result for people, with a progress line while it waits on a terminal; --json prints it as JSON', async () => {
    const args = ['tangle', 'submit', 'execute', ...chainFlags(), '--service', String(serviceId), '--key-file', keys.customer];
    args.push('--image', 'faas/busybox:latest', '--wait-ms', '60000', '--', 'echo', 'hello');

    const human = runOnTerminal(args);
    const first = await answerNextCall(resultBytes('hello\nworld\n', 'to stderr\n'), 2500);
    const out = await human;
    assert.equal(out.code, 0, out.text);
    assert.match(
      out.text,
      new RegExp(`call ${first} of service ${serviceId}: job 0 submitted in block \\d+ \\(transaction 0x[0-9a-f]{64}\\)\n`),
    );
    assert.match(out.text, /waiting for an operator's result/, 'the progress line');
    assert.match(out.text, new RegExp(`result from ${ACCOUNTS.operator.address} in block \\d+ \\(transaction 0x[0-9a-f]{64}\\):\n`));
    assert.match(out.text, /\nstatus: completed\nexit code: 0\n/);
    assert.match(out.text, /\nstdout \(12 bytes\):\n {2}hello\n {2}world\nstderr \(10 bytes\):\n {2}to stderr\n/);

    // Off a terminal: no progress line; --json: the same result as JSON.
    const json = runCli([...args.slice(0, -3), '--json', '--', 'echo', 'hello'], {}, 90_000);
    const second = await answerNextCall(resultBytes('json\n'), 0);
    const done = await json;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(done.stderr, '', 'nothing on stderr off a terminal');
    const printed = JSON.parse(done.stdout) as { call_id: string; operator: string; result: Record<string, unknown> };
    assert.equal(printed.call_id, String(second));
    assert.equal(printed.operator, ACCOUNTS.operator.address);
    assert.deepEqual([printed.result.status, printed.result.exit_code, printed.result.stdout], ['completed', 0, 'json\n']);

    // `faas tangle status` of that call: lines, and with --json the same as JSON.
    const status = ['tangle', 'status', ...chainFlags(), '--service', String(serviceId), '--call', String(first)];
    const lines = await runCli(status, {}, 30_000);
    assert.equal(lines.code, 0, lines.stderr);
    assert.match(lines.stdout, /^chain 31337, head block \d+, Tangle contract 0x0165878A594ca255338adfa4d48449f69242Eb8F\n/);
    assert.match(
      lines.stdout,
      new RegExp(`\nservice ${serviceId}: active, blueprint ${blueprintId}, owner ${ACCOUNTS.customer.address}\n`),
    );
    assert.match(
      lines.stdout,
      new RegExp(`\ncall ${first} of service ${serviceId}: job 0, caller ${ACCOUNTS.customer.address}, completed, 1 result\n`),
    );
    assert.match(lines.stdout, /\n {2}status: completed\n {2}exit code: 0\n/);
    const asJson = await runCli([...status, '--json'], {}, 30_000);
    assert.equal(asJson.code, 0, asJson.stderr);
    const parsed = JSON.parse(asJson.stdout) as {
      services: { blueprint_id: string }[];
      call: { completed: boolean; results: { result: { stdout: string } }[] };
    };
    assert.equal(parsed.services[0]?.blueprint_id, String(blueprintId));
    assert.equal(parsed.call.completed, true);
    assert.equal(parsed.call.results[0]?.result.stdout, 'hello\nworld\n');
  });

  it('the client commands read FAAS_TANGLE_* from the environment without the operator-only variables', async () => {
    const env = { FAAS_TANGLE_RPC_URL: anvil.url, FAAS_TANGLE_CONTRACT: TANGLE_CONTRACT, FAAS_TANGLE_SERVICE_IDS: String(serviceId) };
    const plain = await runCli(['tangle', 'status', '--json'], env, 30_000);
    assert.equal(plain.code, 0, plain.stderr);
    const status = JSON.parse(plain.stdout) as { services: { id: string; active: boolean; is_operator?: boolean }[] };
    assert.deepEqual(
      status.services.map((s) => [s.id, s.active, s.is_operator]),
      [[String(serviceId), true, undefined]],
    );
    // With the operator's key file named, it says whether that key serves the service.
    const withKey = await runCli(['tangle', 'status', '--json'], { ...env, FAAS_TANGLE_KEY_FILE: keys.operator }, 30_000);
    assert.equal(withKey.code, 0, withKey.stderr);
    assert.equal((JSON.parse(withKey.stdout) as typeof status).services[0]?.is_operator, true);
  });

  it('the client commands refuse a contract address with no code before sending anything (exit 2)', async () => {
    const nowhere = '0x000000000000000000000000000000000000dEaD';
    const flags = ['--rpc-url', anvil.url, '--contract', nowhere];
    const nonceBefore = await createPublicClient({ transport: http(anvil.url) }).getTransactionCount({
      address: privateKeyToAccount(ACCOUNTS.customer.key).address,
    });
    for (const args of [
      ['tangle', 'status', ...flags],
      ['tangle', 'blueprint', 'create', ...flags, '--key-file', keys.customer],
      ['tangle', 'submit', 'execute', ...flags, '--key-file', keys.customer, '--image', 'faas/busybox:latest', '--', 'true'],
    ]) {
      const run = await runCli(args, {}, 30_000);
      assert.equal(run.code, 2, `${args.slice(0, 3).join(' ')}: ${run.stderr}`);
      assert.match(run.stderr, /no contract at 0x000000000000000000000000000000000000dEaD/);
    }
    const nonceAfter = await createPublicClient({ transport: http(anvil.url) }).getTransactionCount({
      address: privateKeyToAccount(ACCOUNTS.customer.key).address,
    });
    assert.equal(nonceAfter, nonceBefore, 'no transaction was sent');
  });

  /** A result as the operator encodes it: completed, exit code 0. */
  function resultBytes(stdout: string, stderr = ''): Hex {
    return encodeResult({
      invocationId: 'inv-test',
      status: 'completed',
      exitCode: 0,
      signal: null,
      stdout: Buffer.from(stdout),
      stderr: Buffer.from(stderr),
      truncated: false,
      errorCode: null,
      error: null,
      durationMs: 5,
    });
  }

  /** Waits for the next JobSubmitted of the service, then (after `delayMs`) answers it as operator account 1. */
  async function answerNextCall(result: Hex, delayMs: number): Promise<bigint> {
    const from = await client.client.getBlockNumber();
    const deadline = Date.now() + 60_000;
    for (;;) {
      const logs = await client.client.getLogs({
        address: TANGLE_CONTRACT,
        // The event as the chain emits it (jobIndex in the data): abi/tangle.ts.
        event: TANGLE_ABI.find((e) => e.type === 'event' && e.name === 'JobSubmitted') as Extract<
          (typeof TANGLE_ABI)[number],
          { name: 'JobSubmitted' }
        >,
        args: { serviceId },
        fromBlock: from,
      });
      const answered = new Set<bigint>();
      for (const log of logs) {
        const callId = BigInt(log.topics[2] as Hex);
        if ((await client.jobCall(serviceId, callId)).completed) answered.add(callId);
        else {
          await new Promise((r) => setTimeout(r, delayMs));
          await send(ACCOUNTS.operator.key, 'submitResult', [serviceId, callId, result]);
          return callId;
        }
      }
      assert.ok(Date.now() < deadline, 'the CLI submitted a call');
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});

/** Runs `faas ARGS` with a terminal for its output (util-linux `script`), so that it shows progress. */
function runOnTerminal(args: string[]): Promise<{ code: number | null; text: string }> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  if (spawnSync('script', ['--version']).status !== 0) throw new Error('this test needs util-linux `script` for a terminal');
  // A scratch folder to run in, as runCli does, so that no developer .env leaks in.
  const cwd = mkdtempSync(join(tmpdir(), 'faas-cli-'));
  const child = spawn('script', ['-qfec', [process.execPath, CLI_PATH, ...args].map(quote).join(' '), '/dev/null'], {
    cwd,
    env: platformEnv({}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (c: Buffer) => {
    text += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`faas did not exit: ${text}`));
    }, 90_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      rmSync(cwd, { recursive: true, force: true });
      // A terminal ends lines with \r\n; the progress line is erased with \r\x1b[K.
      resolve({ code, text: text.replace(/\r\n/g, '\n') });
    });
  });
}

/** Tangle's TLV schema (SchemaLib.sol, version 2) of a parameter list: what a non-empty paramsSchema holds. */
function tlvSchema(params: readonly { name: string; type: string }[]): Hex {
  const KIND: Record<string, number> = { bool: 1, uint8: 2, int16: 5, uint32: 6, string: 17, bytes: 18 };
  const u16 = (n: number) => toHex(n, { size: 2 });
  const field = (type: string, name: string): Hex => {
    const header = (kind: number, children: number) =>
      concatHex([toHex(kind, { size: 1 }), u16(0), u16(children), toHex(name.length, { size: 1 }), toHex(name)]);
    if (type.endsWith('[]')) return concatHex([header(21, 1), field(type.slice(0, -2), '')]);
    return header(KIND[type] as number, 0);
  };
  return concatHex(['0x02', u16(params.length), ...params.map((p) => field(p.type, p.name))]);
}
