export * from './limiter.js';
export * from './orchestrator.js';
