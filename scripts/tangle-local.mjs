#!/usr/bin/env node
// A local Tangle chain for trying the operator by hand: anvil (from `npm install`) on 127.0.0.1,
// Tangle's contracts deployed by replaying ../shared/tangle/localtestnet-broadcast.json (or
// --fixtures DIR), then a block every --block-time seconds. Runs in the foreground; Ctrl-C stops it.
// Needs the build (`npx tsc -b`): it uses the tests' own set-up, tester/dist/support/anvil.js.
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8545' },
    'block-time': { type: 'string', default: '1' },
    fixtures: { type: 'string' },
  },
});
if (values.fixtures) process.env.FAAS_TANGLE_FIXTURES = values.fixtures;
const support = await import(new URL('../tester/dist/support/anvil.js', import.meta.url).href).catch(() => {
  process.stderr.write('tangle-local: build first: npx tsc -b\n');
  process.exit(2);
});
const reason = support.anvilUnavailableReason();
if (reason) {
  process.stderr.write(`tangle-local: ${reason}\n`);
  process.exit(2);
}
const anvil = await support.startAnvil({ port: Number(values.port) });
const deployed = await support.deployTangle(anvil);
await anvil.rpc('evm_setIntervalMining', [Number(values['block-time'])]);
process.stdout.write(
  [
    `anvil on ${anvil.url}: Tangle deployed (${deployed.transactions} transactions, ${Math.round(deployed.ms)} ms), a block every ${values['block-time']} s`,
    `Tangle contract: ${support.TANGLE_CONTRACT}; service 0, owner (customer) account 0 ${support.ACCOUNTS.customer.address}`,
    `operators: account 1 ${support.ACCOUNTS.operator.address} and account 2 (anvil's well-known test keys)`,
    'Ctrl-C stops the chain (its state is not kept).',
    '',
  ].join('\n'),
);
const stop = async () => {
  await anvil.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
setInterval(() => {}, 1 << 30);
