/**
 * A typed client for Firecracker's REST API on its Unix socket. Each call checks the answer
 * (204/200 is success, anything else carries `fault_message`) so a misconfigured VM fails at the
 * call that caused it, naming the endpoint and Firecracker's reason, instead of at boot.
 */
import http from 'node:http';
import { FaasError } from '@faas/common';
import type {
  ApiError,
  BootSource,
  Drive,
  InstanceActionInfo,
  InstanceInfo,
  LoggerConfig,
  MachineConfiguration,
  SnapshotCreateParams,
  SnapshotLoadParams,
  VmState,
  Vsock,
} from './api-types.js';

const DEFAULT_TIMEOUT_MS = 5000;

/** A non-2xx answer from Firecracker. */
export class FirecrackerApiError extends FaasError {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly statusCode: number,
    readonly faultMessage: string,
  ) {
    super('FAAS_ERR_SANDBOX_FAILURE', `Firecracker ${method} ${path} answered ${statusCode}: ${faultMessage}`);
    this.name = 'FirecrackerApiError';
  }
}

export class FirecrackerClient {
  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  putMachineConfig(config: MachineConfiguration): Promise<void> {
    return this.put('/machine-config', config);
  }

  putBootSource(source: BootSource): Promise<void> {
    return this.put('/boot-source', source);
  }

  async putDrive(drive: Drive): Promise<void> {
    if (!/^[A-Za-z0-9_]+$/.test(drive.drive_id)) throw new FaasError('FAAS_ERR_INTERNAL', `invalid drive id ${drive.drive_id}`);
    await this.put(`/drives/${drive.drive_id}`, drive);
  }

  putVsock(vsock: Vsock): Promise<void> {
    return this.put('/vsock', vsock);
  }

  putLogger(logger: LoggerConfig): Promise<void> {
    return this.put('/logger', logger);
  }

  action(action: InstanceActionInfo['action_type']): Promise<void> {
    return this.put('/actions', { action_type: action } satisfies InstanceActionInfo);
  }

  async patchVm(state: VmState['state']): Promise<void> {
    await this.request('PATCH', '/vm', { state } satisfies VmState);
  }

  createSnapshot(params: SnapshotCreateParams): Promise<void> {
    return this.put('/snapshot/create', params);
  }

  loadSnapshot(params: SnapshotLoadParams): Promise<void> {
    return this.put('/snapshot/load', params);
  }

  async describeInstance(): Promise<InstanceInfo> {
    return (await this.request('GET', '/')) as InstanceInfo;
  }

  private async put(path: string, body: object): Promise<void> {
    await this.request('PUT', path, body);
  }

  /** One call; resolves to the parsed JSON body (undefined for 204), throws on anything else. */
  request(method: 'GET' | 'PUT' | 'PATCH', path: string, body?: object): Promise<unknown> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: {
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text.length > 0 ? JSON.parse(text) : undefined;
            } catch {
              parsed = undefined;
            }
            if (status >= 200 && status < 300) {
              resolve(parsed);
              return;
            }
            const fault = (parsed as Partial<ApiError> | undefined)?.fault_message ?? (text.trim() || 'no reason given');
            reject(new FirecrackerApiError(method, path, status, fault));
          });
        },
      );
      req.setTimeout(this.timeoutMs, () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err) =>
        reject(
          err instanceof FaasError
            ? err
            : new FaasError('FAAS_ERR_SANDBOX_FAILURE', `Firecracker API ${method} ${path} failed: ${err.message}`, { cause: err }),
        ),
      );
      req.end(payload);
    });
  }
}
