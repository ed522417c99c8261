export * from './base64.js';
export * from './config.js';
export * from './errors.js';
export * from './invocation.js';
export * from './log.js';
export * from './types.js';
