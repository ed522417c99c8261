/**
 * A real EVM node for the Tangle tests: anvil from npm (@foundry-rs/anvil, the version Tangle's
 * fixture was made for) on a free loopback port, with Tangle's own contracts deployed by replaying
 * their deployment transactions (../shared/tangle/localtestnet-broadcast.json, never copied into the
 * repository). After the replay, service 0 is active with anvil accounts 1 and 2 as operators.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { REPO_ROOT } from './paths.js';

/** Anvil's well-known test accounts (public knowledge, for local chains only). */
export const ACCOUNTS = {
  /** Account 0: the service's owner, allowed to submit jobs. */
  customer: {
    address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    key: '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  },
  /** Account 1: an operator of service 0. */
  operator: {
    address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    key: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  },
} as const;

export const TANGLE_CONTRACT = '0x0165878A594ca255338adfa4d48449f69242Eb8F';

/** Tangle's fixtures: FAAS_TANGLE_FIXTURES, else ../shared/tangle beside the repository. */
export function tangleFixtures(): string | undefined {
  const dir = process.env.FAAS_TANGLE_FIXTURES ?? resolve(REPO_ROOT, '..', 'shared', 'tangle');
  return existsSync(join(dir, 'localtestnet-broadcast.json')) ? dir : undefined;
}

function anvilBinary(): string | undefined {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const os = process.platform === 'win32' ? 'win32' : process.platform;
  try {
    const pkg = createRequire(import.meta.url).resolve(`@foundry-rs/anvil-${os}-${arch}/package.json`);
    const bin = join(dirname(pkg), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
    return existsSync(bin) ? bin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Undefined when the Tangle tests can run here; otherwise the one line that says why not and how
 * to run them elsewhere.
 */
export function anvilUnavailableReason(): string | undefined {
  if (!tangleFixtures()) {
    return "Tangle's fixtures are not in ../shared/tangle (set FAAS_TANGLE_FIXTURES to the folder with localtestnet-broadcast.json and ITangle.abi.json)";
  }
  if (!anvilBinary()) {
    return `no anvil binary for ${process.platform}-${process.arch}: run \`npm install\` (it installs @foundry-rs/anvil@1.7.1) on linux or macOS, x64 or arm64`;
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface Anvil {
  url: string;
  port: number;
  rpc<T = unknown>(method: string, params?: unknown[]): Promise<T>;
  stop(): Promise<void>;
}

/** Starts anvil as Tangle's local test network needs it, and resolves once it answers. */
export async function startAnvil(options: { port?: number } = {}): Promise<Anvil> {
  const bin = anvilBinary();
  if (!bin) throw new Error(anvilUnavailableReason());
  const port = options.port ?? (await freePort());
  const args = ['--base-fee', '0', '--gas-price', '0', '--disable-code-size-limit', '--hardfork', 'cancun'];
  args.push('--gas-limit', '1000000000', '--host', '127.0.0.1', '-p', String(port), '--silent');
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  let id = 0;
  const rpc = async <T>(method: string, params: unknown[] = []): Promise<T> => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++id, method, params }),
    });
    const body = (await res.json()) as { result?: T; error?: { message: string } };
    if (body.error) throw new Error(`${method}: ${body.error.message}`);
    return body.result as T;
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      await rpc('eth_chainId');
      break;
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`anvil did not start on port ${port}: ${(err as Error).message} ${stderr.slice(-500)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    url,
    port,
    rpc,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

interface BroadcastTx {
  transaction: { from: string; to?: string | null; input: string; value?: string };
}

/**
 * Replays Tangle's deployment on a fresh anvil: every transaction of the broadcast file, in order,
 * each required to succeed. The addresses follow from the deployers' nonces.
 */
export async function deployTangle(anvil: Anvil, fixtures = tangleFixtures()): Promise<{ transactions: number; ms: number }> {
  if (!fixtures) throw new Error(anvilUnavailableReason());
  const started = performance.now();
  const broadcast = JSON.parse(readFileSync(join(fixtures, 'localtestnet-broadcast.json'), 'utf8')) as { transactions: BroadcastTx[] };
  for (const [i, { transaction: tx }] of broadcast.transactions.entries()) {
    const hash = await anvil.rpc<string>('eth_sendTransaction', [
      {
        from: tx.from,
        ...(tx.to ? { to: tx.to } : {}),
        data: tx.input,
        ...(tx.value ? { value: tx.value } : {}),
        gas: '0x1dcd6500',
      },
    ]);
    let receipt = await anvil.rpc<{ status: string } | null>('eth_getTransactionReceipt', [hash]);
    for (let poll = 0; receipt === null && poll < 1000; poll++) {
      await new Promise((r) => setTimeout(r, 5));
      receipt = await anvil.rpc<{ status: string } | null>('eth_getTransactionReceipt', [hash]);
    }
    if (receipt?.status !== '0x1') throw new Error(`Tangle deployment transaction ${i} (${hash}) failed: ${JSON.stringify(receipt)}`);
  }
  return { transactions: broadcast.transactions.length, ms: performance.now() - started };
}

/** A folder with key files (mode 0600) for the operator and the customer; removed by `remove`. */
export function writeKeyFiles(): { operator: string; customer: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'faas-tangle-keys-'));
  const write = (name: string, key: string) => {
    const path = join(dir, name);
    writeFileSync(path, `${key}\n`, { mode: 0o600 });
    chmodSync(path, 0o600);
    return path;
  };
  return {
    operator: write('operator.key', ACCOUNTS.operator.key),
    customer: write('customer.key', ACCOUNTS.customer.key),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
