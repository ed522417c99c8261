export * from './executors.js';
export * from './platform.js';
