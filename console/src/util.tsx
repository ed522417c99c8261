/** Shared bits of the screens: the client in context, loading state, hash routes and small widgets. */
import type { FaasClient, Invocation } from '@faas/sdk';
import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useState } from 'preact/hooks';
import { describeError } from './api.js';
import { colorOf } from './charts.js';

export const ClientContext = createContext<FaasClient | null>(null);

export function useClient(): FaasClient {
  const client = useContext(ClientContext);
  if (!client) throw new Error('no client');
  return client;
}

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` now and whenever `deps` change (and every `everyMs` when given). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], everyMs?: number): Loaded<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<string>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load().then(
      (d) => {
        if (!live) return;
        setData(d);
        setError(undefined);
        setLoading(false);
      },
      (err) => {
        if (!live) return;
        setError(describeError(err));
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  useEffect(() => {
    if (!everyMs) return;
    const timer = setInterval(reload, everyMs);
    return () => clearInterval(timer);
  }, [everyMs, reload]);
  return { data, error, loading, reload };
}

export function ErrorLine(props: { error: string | undefined }) {
  return props.error ? (
    <p class="error" role="alert">
      {props.error}
    </p>
  ) : null;
}

/** What an invocation came to, in one word: its state for an async one that has not ended, else its status and exit code. */
export function outcomeOf(i: Pick<Invocation, 'status' | 'exit_code' | 'state'>): string {
  if (!i.status) return i.state ?? 'queued';
  if (i.status === 'completed') return i.exit_code === 0 ? 'completed' : 'failed';
  return i.status;
}

export function Badge(props: { value: string; title?: string }) {
  return (
    <span class="badge" style={{ background: colorOf(props.value) }} title={props.title ?? props.value}>
      {props.value}
    </span>
  );
}

export function navigate(hash: string): void {
  location.hash = hash;
}

export function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/functions');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/functions');
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}
