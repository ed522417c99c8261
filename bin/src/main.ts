#!/usr/bin/env node
/**
 * The `faas` command. `faas serve` loads `.env` and the environment through the one config module,
 * starts the gateway with its executors, and drains in-flight invocations on SIGTERM/SIGINT.
 */
import { availableParallelism } from 'node:os';
import { type Config, createLoggerFactory, isFaasError, loadConfig } from '@faas/common';
import dotenv from 'dotenv';
import { createPlatform } from './platform.js';

const USAGE = `usage: faas <command>

commands:
  serve     start the HTTP gateway and executors (configured by FAAS_* variables and .env)
  config    print the effective configuration as JSON and exit
  help      show this text

configuration: docs/CONFIGURATION.md`;

function readConfig(): Readonly<Config> {
  // .env fills in what the environment does not set; the environment wins.
  dotenv.config({ quiet: true } as dotenv.DotenvConfigOptions);
  try {
    return loadConfig(process.env, availableParallelism());
  } catch (err) {
    if (isFaasError(err)) {
      process.stderr.write(`faas: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function serve(): Promise<void> {
  const config = readConfig();
  const logs = createLoggerFactory(config.logFilter);
  const log = logs.for('bin');
  let platform: ReturnType<typeof createPlatform>;
  try {
    platform = createPlatform(config, logs);
  } catch (err) {
    process.stderr.write(`faas: cannot start: ${(err as Error).message}\n`);
    process.exit(isFaasError(err, 'FAAS_ERR_CONFIG') ? 2 : 1);
  }
  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 1) {
      log.warn('second signal: exiting without waiting');
      process.exit(130);
    }
    log.info({ signal, graceMs: config.shutdownGraceMs }, 'draining in-flight invocations');
    platform
      .stop()
      .then(() => {
        log.info('stopped');
        logs.root.flush();
        setTimeout(() => process.exit(0), 50).unref();
      })
      .catch((err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  try {
    const url = await platform.start();
    log.info({ url, executor: config.executorType, allowed: config.allowedExecutors }, `faas gateway listening on ${url}`);
  } catch (err) {
    const message = (err as Error).message;
    process.stderr.write(`faas: cannot start: ${message}\n`);
    await platform.stop(0).catch(() => undefined);
    process.exit(1);
  }
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0] ?? 'help';
  switch (command) {
    case 'serve':
      return serve();
    case 'config':
      process.stdout.write(`${JSON.stringify(readConfig(), null, 2)}\n`);
      return;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return;
    default:
      process.stderr.write(`faas: unknown command "${command}"\n${USAGE}\n`);
      process.exit(2);
  }
}

await main(process.argv.slice(2));
