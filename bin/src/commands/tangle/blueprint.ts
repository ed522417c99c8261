/**
 * `faas tangle blueprint create`: creates the faas blueprint on Tangle from its definition file
 * (blueprint/blueprint.json, or an edited copy: --definition), signed by the key --key-file names;
 * that account owns the blueprint. It sends the file's `createBlueprint` object as
 * `createBlueprint(definition)`, then reads the blueprint back and checks that the contract keeps
 * the definition it was sent (`blueprintDefinitionHash` is keccak256(abi.encode(definition))).
 */
import { createRequire } from 'node:module';
import { definitionHashOf, readBlueprintFile } from '@faas/blueprint';
import { Command } from 'commander';
import { type ConnectionOptions, connect, customerKey, printJson, requireContract, runTangle } from './connection.js';

interface CreateOptions extends ConnectionOptions {
  keyFile?: string;
  definition?: string;
  metadataUri?: string;
}

/** blueprint/blueprint.json as installed with @faas/blueprint. */
export function defaultDefinitionPath(): string {
  return createRequire(import.meta.url).resolve('@faas/blueprint/blueprint.json');
}

export function blueprintCommand(): Command {
  return new Command('blueprint')
    .summary('create the faas blueprint on Tangle from its definition file')
    .description(
      "The blueprint on chain: `create` registers faas's blueprint definition (blueprint/blueprint.json) with Tangle's createBlueprint, so that operators can register for it and customers request services of it.",
    )
    .helpOption('-h, --help', 'show this help and exit')
    .addCommand(
      new Command('create')
        .summary('send createBlueprint with the definition file and print the new blueprint id')
        .description(
          "Send the definition file's `createBlueprint` object (the BlueprintDefinition struct, field for field) to Tangle's createBlueprint, signed by the account of --key-file, which then owns the blueprint; wait until it is mined, read the blueprint back and check that the contract keeps the definition sent. Prints the blueprint id, the transaction and the definition's digest; --json prints them as JSON.",
        )
        .helpOption('-h, --help', 'show this help and exit')
        .option('--rpc-url <url>', 'RPC node of the chain (default FAAS_TANGLE_RPC_URL)')
        .option('--contract <address>', "Tangle's contract (default FAAS_TANGLE_CONTRACT)")
        .option('--key-file <path>', "file with the creating account's private key (mode 0600); it owns the blueprint")
        .option('--definition <path>', 'the definition file (default: blueprint/blueprint.json of this faas)')
        .option('--metadata-uri <uri>', "where the definition's metadata is published (default: the file's metadataUri)")
        .option('--json', 'print JSON instead of lines')
        .option('--dotenv <path>', 'read FAAS_TANGLE_* defaults from this file instead of .env')
        .addHelpText(
          'after',
          '\nExample:\n  faas tangle blueprint create --rpc-url http://127.0.0.1:8545 --contract 0x0165878A594ca255338adfa4d48449f69242Eb8F --key-file ./developer.key\n\nExit codes: 0 created, 1 the chain refused or did not answer, 2 a usage, configuration or definition error (nothing was sent).\nThe definition file: docs/tangle-jobs.md "The blueprint definition".',
        )
        .action(async (options: CreateOptions) => {
          let rpcUrl: string | undefined = options.rpcUrl;
          await runTangle(
            async () => {
              const path = options.definition ?? defaultDefinitionPath();
              const definition = readBlueprintFile(path, options.metadataUri === undefined ? {} : { metadataUri: options.metadataUri });
              const { client } = connect(options);
              rpcUrl = client.rpcUrl;
              const key = customerKey(options.keyFile);
              await requireContract(client);
              const created = await client.createBlueprint(key, definition);
              const expected = definitionHashOf(definition);
              const [kept, onChain] = await Promise.all([
                client.blueprintDefinitionHash(created.blueprintId),
                client.blueprintDefinition(created.blueprintId),
              ]);
              if (kept !== expected || onChain.jobs.length !== (definition.jobs as unknown[]).length) {
                throw new Error(
                  `blueprint ${created.blueprintId} was created, but the contract keeps another definition (digest ${kept}, ${onChain.jobs.length} jobs; sent ${expected})`,
                );
              }
              const out = {
                blueprint_id: created.blueprintId,
                owner: created.owner,
                tx: created.hash,
                block: created.blockNumber,
                jobs: onChain.jobs.length,
                metadata_uri: onChain.metadataUri,
                metadata_hash: onChain.metadataHash,
                definition_hash: kept,
                definition: path,
              };
              if (options.json) {
                printJson(out);
                return;
              }
              process.stdout.write(
                [
                  `blueprint ${created.blueprintId} created from ${path}, owned by ${created.owner}`,
                  `  transaction ${created.hash} in block ${created.blockNumber}`,
                  `  ${onChain.jobs.length} jobs; metadata ${onChain.metadataUri} (keccak256 ${onChain.metadataHash})`,
                  `  the contract keeps the definition sent: blueprintDefinitionHash ${kept}`,
                ].join('\n') + '\n',
              );
            },
            () => rpcUrl,
          );
        }),
    );
}
