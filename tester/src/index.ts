/** What other packages may import from the tester: the executor contract suite. */
export { binaryPayload, type ContractOptions, runExecutorContract } from './contract/executor-contract.js';
