/**
 * `faas serve`: loads `.env` and the environment through the one config module, checks what the
 * enabled executors need from the host, starts the gateway with its executors, and drains
 * in-flight invocations on SIGTERM/SIGINT. Every start-up failure is one line and exit code 2.
 */
import http from 'node:http';
import { type Config, createLoggerFactory } from '@faas/common';
import type { Command } from 'commander';
import type { Platform } from '../platform.js';
import { describeStartupError, exitWith, readEffectiveConfig, StartupError, sourceOf } from '../startup.js';
import { CONFIG_HELP, type DotenvOptions, dotenvOf, subcommand } from './common.js';

export function serveCommand(): Command {
  return subcommand('serve', 'start the HTTP gateway and the executors')
    .description(
      'Start the HTTP gateway (POST /functions/{id}/invoke, /health, /ready, /openapi.json) with the executors the configuration enables. Runs in the foreground; SIGTERM or Ctrl-C drains in-flight invocations (FAAS_SHUTDOWN_GRACE_MS) and removes every sandbox.',
    )
    .addHelpText('after', `${CONFIG_HELP}\n\nExample:\n  FAAS_GATEWAY_PORT=9000 faas serve`)
    .action((options: DotenvOptions) => serve(options));
}

async function serve(options: DotenvOptions): Promise<void> {
  let config: Readonly<Config>;
  let sources: Record<string, string>;
  try {
    const envFile = dotenvOf(options);
    ({ config, sources } = readEffectiveConfig(envFile.path, envFile.explicit));
    await checkDockerEngine(config, sources);
  } catch (err) {
    exitWith(describeStartupError(err));
  }
  const logs = createLoggerFactory(config.logFilter);
  const log = logs.for('bin');
  let platform: Platform;
  try {
    // The server stack is loaded only by the command that runs it: client commands start fast and
    // never depend on it.
    const { createPlatform } = await import('../platform.js');
    platform = createPlatform(config, logs);
  } catch (err) {
    exitWith(describeStartupError(err));
  }
  let signals = 0;
  const shutdown = (signal: string) => {
    signals++;
    if (signals > 2) {
      log.warn('third signal: exiting now; sandboxes left behind are removed at the next start');
      process.exit(130);
    }
    if (signals > 1) {
      // Impatience ends the grace, not the cleanup: running invocations are killed and every
      // sandbox is removed before exiting (bounded), so nothing is left running on the host.
      log.warn('second signal: killing in-flight invocations and removing sandboxes (a third signal exits at once)');
      const bound = setTimeout(() => process.exit(130), 15_000);
      bound.unref();
      platform.orchestrator
        .drain(0)
        .catch(() => undefined)
        .finally(() => {
          logs.root.flush();
          setTimeout(() => process.exit(130), 50).unref();
        });
      return;
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
    const message = describeStartupError(explainListenError(err, config, sources));
    await platform.stop(0).catch(() => undefined);
    logs.root.flush();
    exitWith(message);
  }
}

/** Turns the socket errors of `listen` into what to change. */
function explainListenError(err: unknown, config: Readonly<Config>, sources: Record<string, string>): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const { host, port } = config.gateway;
  const portSetting = `FAAS_GATEWAY_PORT=${port}, ${sourceOf('FAAS_GATEWAY_PORT', sources)}`;
  switch (code) {
    case 'EADDRINUSE':
      return new StartupError(
        `port ${port} on ${host} is already in use (${portSetting}): stop the process that holds it (\`ss -ltnp 'sport = :${port}'\` shows it) or set FAAS_GATEWAY_PORT to a free port (0 picks one)`,
      );
    case 'EACCES':
      return new StartupError(
        `no permission to listen on port ${port} (${portSetting}): ports below 1024 need root; set FAAS_GATEWAY_PORT to 1024 or above`,
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupError(
        `cannot listen on ${host} (FAAS_GATEWAY_HOST, ${sourceOf('FAAS_GATEWAY_HOST', sources)}): it is not an address of this machine; use 127.0.0.1, 0.0.0.0 or one of this host's addresses`,
      );
    default:
      return err;
  }
}

/**
 * The docker, gvisor and oci executors need a running Docker engine (the oci one as its image
 * store): ask it before anything else, so
 * that its absence is one line with the fix rather than an engine client's socket error.
 */
async function checkDockerEngine(config: Readonly<Config>, sources: Record<string, string>): Promise<void> {
  const needs = config.allowedExecutors.filter((kind) => kind === 'docker' || kind === 'gvisor' || kind === 'oci');
  if (needs.length === 0) return;
  const failure = await pingDocker(config.dockerHost);
  if (failure === undefined) return;
  const where = `DOCKER_HOST=${config.dockerHost}, ${sourceOf('DOCKER_HOST', sources)}`;
  const fix =
    failure.code === 'EACCES'
      ? 'run faas as root or as a member of the docker group, or set DOCKER_HOST to an engine you may use'
      : 'start it with `bash scripts/setup-host.sh` (installs and starts it) or `dockerd &` (as root), or set DOCKER_HOST to an engine that runs';
  throw new StartupError(
    `the ${needs.join(' and ')} executor needs a Docker engine, and none answers at ${config.dockerHost} (${where}; ${failure.message}): ${fix}`,
  );
}

function pingDocker(dockerHost: string): Promise<{ code: string | undefined; message: string } | undefined> {
  const target = dockerHost.startsWith('unix://')
    ? { socketPath: dockerHost.slice('unix://'.length) }
    : (() => {
        const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
        return { host: url.hostname, port: Number(url.port) };
      })();
  return new Promise((resolve) => {
    const req = http.get({ ...target, path: '/_ping', timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200 ? undefined : { code: undefined, message: `/_ping answered ${res.statusCode}` });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer within 3 s'), { code: 'ETIMEDOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ code: err.code, message: err.message }));
  });
}
