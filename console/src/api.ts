/**
 * The console's one client of the gateway: the SDK, on the page's own origin, with the key the
 * user entered once. The key is kept in sessionStorage (gone when the tab closes), or in
 * localStorage when the user asks to be remembered on this browser (docs/console.md).
 */
import { FaasClient, FaasError } from '@faas/sdk';

const STORAGE_KEY = 'faas.console.apiKey';

export function storedKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY) ?? localStorage.getItem(STORAGE_KEY);
}

export function storeKey(key: string, remember: boolean): void {
  forgetKey();
  (remember ? localStorage : sessionStorage).setItem(STORAGE_KEY, key);
}

export function forgetKey(): void {
  sessionStorage.removeItem(STORAGE_KEY);
  localStorage.removeItem(STORAGE_KEY);
}

/** The gateway serving this page (the console lives at <gateway>/console). */
export function gatewayUrl(): string {
  return location.origin + location.pathname.replace(/\/console(\/.*)?$/, '');
}

export function clientFor(key: string): FaasClient {
  return new FaasClient({ url: gatewayUrl(), apiKey: key, timeoutMs: 10 * 60_000 });
}

/** One line for an error: the registry code and its message when the gateway sent one. */
export function describeError(err: unknown): string {
  if (err instanceof FaasError) return `${err.code} (${err.status}): ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** `KEY=VALUE` lines → the API's env_vars (blank lines dropped). */
export function parseLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
}

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/** Every item an SDK `.all()` walk yields. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}
