export * from './abi/events.js';
export * from './abi/inputs.js';
export * from './abi/results.js';
export * from './abi/strict.js';
export * from './abi/tangle.js';
export * from './definition.js';
export * from './jobs.js';
