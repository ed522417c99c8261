export * from './limiter.js';
export * from './orchestrator.js';
export * from './pool.js';
