/**
 * The blueprint definition an operator registers with: the jobs, the ABI of their inputs and
 * results, the result statuses and bounds, and what an operator runs. `blueprint/blueprint.json`
 * is generated from it (`npm run definition -w blueprint`), and a test fails when the file is stale.
 */
import { INPUT_VERSION, JOBS, RESULT_MAX_STREAM_BYTES, RESULT_MAX_TEXT_BYTES, RESULT_STATUSES, RESULT_VERSION } from './jobs.js';

export const BLUEPRINT_NAME = 'faas';

export function blueprintDefinition(version: string): Record<string, unknown> {
  return {
    $comment:
      'Generated from blueprint/src/jobs.ts by `npm run definition -w blueprint`; do not edit (a test fails when it is stale). The spec: docs/tangle-jobs.md.',
    name: BLUEPRINT_NAME,
    version,
    description:
      'Function-as-a-Service: run a command in an isolated sandbox (job 0) or invoke a function registered on the operator (job 1); the result carries the exit code or signal, stdout and stderr.',
    spec: 'docs/tangle-jobs.md',
    encoding: 'ABI-encoded parameter lists, a uint8 layout version first',
    inputVersion: INPUT_VERSION,
    resultVersion: RESULT_VERSION,
    jobs: JOBS.map((job) => ({
      index: job.index,
      name: job.name,
      description: job.description,
      inputs: job.inputs.map(({ name, type }) => ({ name, type })),
      result: job.result.map(({ name, type }) => ({ name, type })),
    })),
    resultStatuses: [...RESULT_STATUSES],
    resultLimits: { streamBytes: RESULT_MAX_STREAM_BYTES, textBytes: RESULT_MAX_TEXT_BYTES },
    registrationInputs: [],
    requestInputs: [],
    operator: {
      run: 'faas serve',
      configuration: [
        'FAAS_TANGLE_RPC_URL',
        'FAAS_TANGLE_CONTRACT',
        'FAAS_TANGLE_SERVICE_IDS',
        'FAAS_TANGLE_KEY_FILE',
        'FAAS_TANGLE_CONFIRMATIONS',
      ],
      documentation: 'README.md "Running faas as a Tangle operator"',
    },
  };
}

/** The file's text: the definition as pretty JSON with a final newline. */
export function blueprintDefinitionText(version: string): string {
  return `${JSON.stringify(blueprintDefinition(version), null, 2)}\n`;
}
