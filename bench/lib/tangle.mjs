/**
 * Job calls on Tangle in the bench (`--only tangle`): the time from a `submitJob` transaction mined
 * to the operator's `submitResult` mined, on a local chain (anvil with Tangle's contracts deployed,
 * tester/dist/support/anvil.js), side by side with the same invocation over HTTP on the same
 * platform: job 0 with `faas/busybox:latest` `true`, and POST /functions/{id}/invoke with that
 * SandboxConfig, alternated round by round.
 *
 * anvil mines each transaction as it arrives (automine), so "mined" is the moment the node accepts
 * the transaction; the operator waits no confirmation (FAAS_TANGLE_CONFIRMATIONS=0) and polls the
 * chain every 50 ms, and the bench polls for the receipt and for the result's log every 2 ms: the figure is the
 * operator's own path (poll, decode, invoke, sign, send), not a chain's block time, which adds
 * (confirmations + 1) block intervals on a real network.
 */
import http from 'node:http';
import { join } from 'node:path';
import { authHeaders, startPlatform } from './platform.mjs';
import { baseEnv, PLATFORMS } from './platforms.mjs';
import { summarize } from './stats.mjs';

const IMAGE = 'faas/busybox:latest';
const COMMAND = ['true'];
const HTTP_FUNCTION = 'bench-tangle-http';

function invokeHttp(agent, url) {
  const payload = Buffer.from(JSON.stringify({ image: IMAGE, command: COMMAND }));
  const target = new URL(`/functions/${HTTP_FUNCTION}/invoke`, url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        agent,
        headers: { ...authHeaders(), 'content-type': 'application/json', 'content-length': payload.length },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP invoke answered ${res.statusCode}`))));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * Runs the section; returns { skipped } where anvil or Tangle's fixtures are missing, or the build
 * has no operator. `rounds` measured rounds after `warmup` unrecorded ones.
 */
export async function measureTangle(ctx, { rounds, warmup }, log) {
  let anvilSupport;
  let blueprint;
  let viem;
  try {
    anvilSupport = await import(join(ctx.root, 'tester/dist/support/anvil.js'));
    blueprint = await import(join(ctx.root, 'blueprint/dist/index.js'));
    viem = await import('viem');
  } catch (err) {
    return { skipped: `this build has no Tangle operator (${err.message.split('\n')[0]})` };
  }
  const reason = anvilSupport.anvilUnavailableReason();
  if (reason) return { skipped: reason };
  const { ACCOUNTS, TANGLE_CONTRACT } = anvilSupport;
  const errors = [];
  const anvil = await anvilSupport.startAnvil();
  const keys = anvilSupport.writeKeyFiles();
  let platform;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const deployed = await anvilSupport.deployTangle(anvil);
    log(`tangle: Tangle deployed on anvil (${deployed.transactions} transactions, ${Math.round(deployed.ms)} ms)`);
    const settings = {
      ...PLATFORMS['single-use'],
      FAAS_TANGLE_RPC_URL: anvil.url,
      FAAS_TANGLE_CONTRACT: TANGLE_CONTRACT,
      FAAS_TANGLE_SERVICE_IDS: '0',
      FAAS_TANGLE_KEY_FILE: keys.operator,
      FAAS_TANGLE_CONFIRMATIONS: '0',
      FAAS_TANGLE_POLL_MS: '50',
    };
    platform = await startPlatform({ root: ctx.root, env: { ...baseEnv(false), ...settings } });
    const client = new blueprint.TangleClient(anvil.url, TANGLE_CONTRACT);
    const account = (await import('viem/accounts')).privateKeyToAccount(ACCOUNTS.customer.key);
    const chain = viem.defineChain({
      id: await client.client.getChainId(),
      name: 'anvil',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [anvil.url] } },
    });
    const wallet = viem.createWalletClient({ account, chain, transport: viem.http(anvil.url) });
    const inputs = blueprint.encodeExecuteInputs({ image: IMAGE, command: COMMAND });

    const chainSample = async () => {
      const hash = await wallet.writeContract({
        address: TANGLE_CONTRACT,
        abi: blueprint.TANGLE_ABI,
        functionName: 'submitJob',
        args: [0n, 0, inputs],
      });
      // Automine mines the transaction on arrival; "mined" is when its receipt is first there.
      let receipt;
      while (!receipt) receipt = await client.client.getTransactionReceipt({ hash }).catch(() => undefined);
      const mined = performance.now();
      const [event] = viem.parseEventLogs({ abi: blueprint.TANGLE_ABI, eventName: 'JobSubmitted', logs: receipt.logs, strict: false });
      const deadline = Date.now() + 60_000;
      for (;;) {
        const [result] = await client.results(0n, event.args.callId, receipt.blockNumber);
        if (result) {
          const answered = performance.now() - mined;
          const decoded = blueprint.decodeResult(viem.hexToBytes(result.result));
          if (decoded.status !== 'completed' || decoded.exitCode !== 0) throw new Error(`job 0 ended ${decoded.status}: ${decoded.error}`);
          return answered;
        }
        if (Date.now() > deadline) throw new Error(`no result for call ${event.args.callId} within 60 s`);
        await new Promise((r) => setTimeout(r, 2));
      }
    };
    const httpSample = async () => {
      const t0 = performance.now();
      await invokeHttp(agent, platform.url);
      return performance.now() - t0;
    };

    const samples = { chain: [], http: [] };
    for (let round = -warmup; round < rounds && !ctx.stopped(); round++) {
      // Alternate which goes first, so drift hits both alike.
      const order = round % 2 === 0 ? ['chain', 'http'] : ['http', 'chain'];
      for (const which of order) {
        try {
          const ms = which === 'chain' ? await chainSample() : await httpSample();
          if (round >= 0) samples[which].push(ms);
        } catch (err) {
          errors.push(`tangle ${which}: ${err.message.split('\n')[0]}`);
          if (errors.length > 5) throw new Error(`tangle: too many failures (${errors.at(-1)})`);
        }
      }
      if (round >= 0 && (round + 1) % 10 === 0) log(`tangle: ${round + 1}/${rounds} rounds`);
    }
    return {
      settings,
      rounds,
      chain: summarize(samples.chain),
      http: summarize(samples.http),
      errors,
    };
  } catch (err) {
    errors.push(`tangle: ${err.message.split('\n')[0]}`);
    return { errors, failed: err.message.split('\n')[0] };
  } finally {
    agent.destroy();
    await platform?.stop().catch((err) => errors.push(`tangle platform stop: ${err.message}`));
    await anvil.stop();
    keys.remove();
  }
}

const ms = (v) => (Number.isFinite(v) ? `${v.toFixed(1)}` : '-');

/** The section of the report. */
export function renderTangleMarkdown(tangle) {
  if (!tangle) return [];
  const out = ['', '## Job calls on Tangle (local chain)', ''];
  if (tangle.skipped) return [...out, `Skipped: ${tangle.skipped}.`, ''];
  if (tangle.failed) return [...out, `Failed: ${tangle.failed}.`, ''];
  out.push(
    'The same invocation (`faas/busybox:latest` `true`, ad hoc, warm single-use pool) as Tangle job 0 and over HTTP, alternated.',
    "On chain: from `submitJob` mined to the operator's `submitResult` mined, on anvil with Tangle's contracts, mining each",
    "transaction on arrival; the operator waits no confirmation and polls every 50 ms. Over HTTP: the request's round trip.",
    '',
    '| path | n | p50 ms | p90 ms | p99 ms | max ms |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const [name, s] of [
    ['Tangle job 0 (submitJob mined -> submitResult mined)', tangle.chain],
    ['HTTP POST /functions/{id}/invoke', tangle.http],
  ]) {
    out.push(`| ${name} | ${s.n} | ${ms(s.p50)} | ${ms(s.p90)} | ${ms(s.p99)} | ${ms(s.max)} |`);
  }
  out.push(
    '',
    `The chain path costs ${ms(tangle.chain.p50 - tangle.http.p50)} ms more at the median: the operator's poll (25 ms on average), reading the call (getJobCall), estimating gas, signing and sending submitResult, and the bench's own 2 ms poll for the result. On a public network add the confirmation depth times the block interval.`,
    '',
  );
  return out;
}
