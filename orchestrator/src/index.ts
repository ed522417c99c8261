export * from './dispatch.js';
export * from './exec-policy.js';
export * from './layers/metrics.js';
export * from './limiter.js';
export * from './orchestrator.js';
export * from './outcome.js';
export * from './pool.js';
export * from './sandboxes.js';
