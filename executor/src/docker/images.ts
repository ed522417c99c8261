/**
 * Makes sure an image exists locally before a container is created from it: pulls it when pulling
 * is allowed and a registry answers, otherwise fails with a 4xx that names the image and says how
 * to build it. Failed pulls are remembered briefly so a burst of requests does not retry each time.
 */
import { FaasError, type Logger } from '@faas/common';
import type { ImageConfig } from '../executor.js';

/** An image's settings with the id they were read from (`sha256:...`, the engine's image id). */
export interface ResolvedImage extends ImageConfig {
  id: string;
}

import { refuseLayoutImage } from '../oci/image-layout.js';
import { type DockerEngine, EngineError, engineFault } from './engine.js';

const NEGATIVE_CACHE_MS = 30_000;
/**
 * An image's settings are re-read after this long. A re-tagged image is picked up at once: the
 * executor's image watch (image-watch.ts) calls `forget` when the engine reports the change.
 */
const CONFIG_CACHE_MS = 30_000;
const PULL_TIMEOUT_MS = 120_000;

export class ImageResolver {
  private readonly failures = new Map<string, { at: number; reason: string }>();
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly configs = new Map<string, { at: number; config: Promise<ResolvedImage> }>();

  constructor(
    private readonly engine: DockerEngine,
    private readonly pull: 'auto' | 'never',
    private readonly log: Logger,
  ) {}

  /** Resolves once the image exists locally; throws FAAS_ERR_IMAGE_NOT_FOUND otherwise. */
  async ensure(image: string): Promise<void> {
    refuseLayoutImage(image);
    if (await this.exists(image)) return;
    if (this.pull === 'never') throw notFound(image, 'pulling is disabled (FAAS_IMAGE_PULL=never)');
    const failed = this.failures.get(image);
    if (failed && Date.now() - failed.at < NEGATIVE_CACHE_MS) throw notFound(image, failed.reason);
    let pending = this.inflight.get(image);
    if (!pending) {
      pending = this.pullImage(image).finally(() => this.inflight.delete(image));
      this.inflight.set(image, pending);
    }
    await pending;
  }

  /**
   * The image's id and its own Env and WorkingDir (pulling it first if allowed and missing);
   * cached briefly. Throws FAAS_ERR_IMAGE_NOT_FOUND when the image cannot be had.
   */
  async config(image: string): Promise<ResolvedImage> {
    refuseLayoutImage(image);
    const cached = this.configs.get(image);
    if (cached && Date.now() - cached.at < CONFIG_CACHE_MS) return cached.config;
    const config = this.inspect(image);
    this.configs.set(image, { at: Date.now(), config });
    config.catch(() => this.configs.delete(image));
    return config;
  }

  /** `image` may name another image now: its settings are read again, and a pull may be tried again. */
  forget(image: string): void {
    this.configs.delete(image);
    this.failures.delete(image);
  }

  /** Any image name may name another image now (an image event): every name is read again. */
  forgetAll(): void {
    this.configs.clear();
    this.failures.clear();
  }

  private async inspect(image: string): Promise<ResolvedImage> {
    const read = () =>
      this.engine.request<{ Id: string; Config?: { Env?: string[] | null; WorkingDir?: string } }>(
        'GET',
        `/images/${encodeURIComponent(image)}/json`,
      );
    let info: Awaited<ReturnType<typeof read>>;
    try {
      info = await read();
    } catch (err) {
      if (!(err instanceof EngineError && err.statusCode === 404)) throw imageFault(err, image);
      await this.ensure(image);
      try {
        info = await read();
      } catch (again) {
        throw imageFault(again, image);
      }
    }
    return { id: info.Id, env: info.Config?.Env ?? [], workingDir: info.Config?.WorkingDir || undefined };
  }

  private async exists(image: string): Promise<boolean> {
    try {
      await this.engine.request('GET', `/images/${encodeURIComponent(image)}/json`);
      return true;
    } catch (err) {
      if (err instanceof EngineError && err.statusCode === 404) return false;
      throw imageFault(err, image);
    }
  }

  private async pullImage(image: string): Promise<void> {
    const { name, tag } = splitReference(image);
    this.log.info({ image }, 'image missing locally, pulling');
    let reason = 'the registry did not answer';
    try {
      const text = await this.engine.request<unknown>(
        'POST',
        `/images/create?fromImage=${encodeURIComponent(name)}&tag=${encodeURIComponent(tag)}`,
        undefined,
        { timeoutMs: PULL_TIMEOUT_MS },
      );
      // The pull endpoint answers 200 and reports failure inside its progress stream.
      const lastError = String(typeof text === 'string' ? text : JSON.stringify(text))
        .split('\n')
        .map((line) => {
          try {
            return (JSON.parse(line) as { error?: string }).error;
          } catch {
            return undefined;
          }
        })
        .filter(Boolean)
        .pop();
      if (lastError) reason = lastError;
    } catch (err) {
      reason = (err as Error).message;
    }
    if (await this.exists(image)) return;
    this.failures.set(image, { at: Date.now(), reason: firstLine(reason) });
    throw notFound(image, firstLine(reason));
  }
}

/**
 * The id `image` names in the engine's store now (`sha256:...`), or undefined when it names none.
 * Throws when the engine cannot tell (down, refusing the reference).
 */
export async function imageIdOf(engine: DockerEngine, image: string): Promise<string | undefined> {
  try {
    return (await engine.request<{ Id: string }>('GET', `/images/${encodeURIComponent(image)}/json`)).Id;
  } catch (err) {
    if (err instanceof EngineError && err.statusCode === 404) return undefined;
    throw err;
  }
}

function splitReference(image: string): { name: string; tag: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { name: image.slice(0, at), tag: image.slice(at + 1) };
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon > slash) return { name: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { name: image, tag: 'latest' };
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? '').slice(0, 300);
}

/**
 * An engine error about an image, as a registry fault: 400 means the engine refused the reference
 * itself (FAAS_ERR_INVALID_IMAGE, with the engine's reason); anything else is an engine fault.
 */
function imageFault(err: unknown, image: string): FaasError {
  if (err instanceof FaasError) return err;
  if (err instanceof EngineError && err.statusCode === 400) {
    return new FaasError('FAAS_ERR_INVALID_IMAGE', `the engine refused image "${image.slice(0, 80)}": ${firstLine(err.message)}`, {
      details: { field: 'image' },
    });
  }
  return engineFault(err, 'image lookup');
}

function notFound(image: string, reason: string): FaasError {
  return new FaasError(
    'FAAS_ERR_IMAGE_NOT_FOUND',
    `image "${image}" is not on this host and could not be pulled (${reason}). Build it locally: \`bash tools/images/build-images.sh\` makes faas/busybox, faas/python and faas/node; any other image can be loaded with \`docker load\` or \`docker import\``,
    { details: { image } },
  );
}
