export * from './docker/executor.js';
export * from './executor.js';
export * from './output.js';
