export { readOrCreateKeyFile } from './key-files.js';
export { SCHEMA_VERSION } from './migrations.js';
export { openSqliteStore, type SqliteStoreOptions } from './sqlite.js';
export * from './types.js';
