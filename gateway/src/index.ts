export * from './async-invoke.js';
export * from './invocation-merge.js';
export * from './results.js';
export * from './server.js';
export * from './validation.js';
