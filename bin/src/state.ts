/**
 * The platform's own state, opened once at start-up: the data folder (FAAS_DATA_DIR), the secrets
 * key and the admin key (from the environment, or generated once into key files there), the
 * SQLite store, and the background retention of the invocation history (and of ended asynchronous
 * invocations).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { ADMIN_KEY_RULE, type Config, FaasError, isUsableAdminKey, type Logger, parseSecretsKey } from '@faas/common';
import { openSqliteStore, readOrCreateKeyFile, type Store } from '@faas/store';

/** How often retention runs (and once at start-up). */
export const RETENTION_INTERVAL_MS = 60_000;

export interface PlatformState {
  store: Store;
  /** The admin key in keys mode; undefined in open mode. */
  adminKey: string | undefined;
  /** Stops retention and closes the store. */
  close(): Promise<void>;
}

export function openPlatformState(config: Readonly<Config>, log: Logger): PlatformState {
  const secretsKey = config.secretsKey ?? generatedSecretsKey(config.dataDir, log);
  const store = openSqliteStore({ dataDir: config.dataDir, secretsKey, log });
  let adminKey: string | undefined;
  if (config.auth.mode === 'open') {
    log.warn(
      { host: config.gateway.host },
      'FAAS_AUTH=open: API keys are OFF and anyone who can reach this address can run code and read the history; for local development only',
    );
  } else if (config.auth.adminKey !== undefined) {
    adminKey = config.auth.adminKey;
  } else {
    const path = join(config.dataDir, 'admin.key');
    const file = readOrCreateKeyFile(path, () => `faas_admin_${randomBytes(32).toString('base64url')}`);
    // The file is held to FAAS_ADMIN_KEY's rule: a short key could be guessed, and one with spaces
    // or over 1024 characters could never be sent, which would lock the operator out.
    if (!isUsableAdminKey(file.value)) {
      throw new FaasError(
        'FAAS_ERR_CONFIG',
        `the key file ${path} does not hold a usable admin key (${ADMIN_KEY_RULE}): write one such as \`openssl rand -hex 32\` into it, or remove it to have one generated (its content is not shown)`,
      );
    }
    adminKey = file.value;
    log.info(
      { path },
      file.created ? 'created the admin API key (set FAAS_ADMIN_KEY to choose one)' : 'admin API key read from its key file',
    );
  }

  const prune = async () => {
    const now = Date.now();
    try {
      const removed = await store.history.prune({
        olderThan: now - config.history.maxAgeMs,
        maxPerFunction: config.history.maxPerFunction,
      });
      if (removed > 0) log.info({ removed }, 'invocation history retention removed old invocations');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'invocation history retention failed; retrying at the next interval');
    }
  };
  // Asynchronous invocations that ended (dead letters stay) go with the same age, and idempotency keys past their window.
  const pruneQueue = async () => {
    try {
      const removed = await store.queue.prune({ finishedBefore: Date.now() - config.history.maxAgeMs });
      if (removed > 0) log.info({ removed }, 'retention removed ended asynchronous invocations and expired idempotency keys');
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'retention of asynchronous invocations failed; retrying at the next interval');
    }
  };
  const timer = setInterval(() => void prune().then(pruneQueue), RETENTION_INTERVAL_MS);
  timer.unref();
  void prune().then(pruneQueue);

  let closing: Promise<void> | undefined;
  return {
    store,
    adminKey,
    close() {
      clearInterval(timer);
      closing ??= store.close();
      return closing;
    },
  };
}

function generatedSecretsKey(dataDir: string, log: Logger): Buffer {
  const path = join(dataDir, 'secrets.key');
  const file = readOrCreateKeyFile(path, () => randomBytes(32).toString('hex'));
  const key = parseSecretsKey(file.value);
  if (!key) {
    throw new FaasError(
      'FAAS_ERR_CONFIG',
      `${path} does not hold a 32-byte key (64 hex digits or base64): restore it, or set FAAS_SECRETS_KEY`,
    );
  }
  if (file.created) {
    log.warn(
      { path },
      'generated the key that encrypts function secrets; in production set FAAS_SECRETS_KEY and keep it apart from FAAS_DATA_DIR',
    );
  }
  return key;
}
