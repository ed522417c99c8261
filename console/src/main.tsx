/** The faas web console: a key entered once, then hash-routed screens over the SDK (docs/console.md). */
import { UnauthorizedError } from '@faas/sdk';
import { render } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import { clientFor, describeError, forgetKey, storedKey, storeKey } from './api.js';
import { FunctionEdit, FunctionList } from './functions.js';
import { AsyncView, History, InvocationView } from './history.js';
import { Invoke } from './invoke.js';
import { MetricsView, PoolView } from './metrics.js';
import './style.css';
import { ClientContext, ErrorLine, useHash } from './util.js';

function KeyForm(props: { onKey: (key: string) => void }) {
  const [key, setKey] = useState('');
  const [remember, setRemember] = useState(false);
  const [error, setError] = useState<string>();
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      // Any route the key may call proves it; GET /functions needs `functions` or `invoke`.
      await clientFor(key.trim()).functions.list({ limit: 1 });
    } catch (err) {
      if (err instanceof UnauthorizedError) return setError(describeError(err));
    }
    storeKey(key.trim(), remember);
    props.onKey(key.trim());
  };
  return (
    <main class="login">
      <h1>faas console</h1>
      <form onSubmit={submit} class="form">
        <label>
          API key (faas_… or the admin key)
          <input
            id="api-key"
            type="password"
            autocomplete="off"
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
            required
          />
        </label>
        <label class="check">
          <input type="checkbox" checked={remember} onChange={(e) => setRemember((e.target as HTMLInputElement).checked)} />
          remember on this browser (localStorage; otherwise only for this tab)
        </label>
        <ErrorLine error={error} />
        <button type="submit" id="use-key">
          Use this key
        </button>
      </form>
    </main>
  );
}

const NAV = [
  ['#/functions', 'Functions'],
  ['#/history', 'History'],
  ['#/async', 'Async & dead letters'],
  ['#/metrics', 'Metrics'],
  ['#/pool', 'Pool & queue'],
] as const;

function Screen(props: { hash: string }) {
  const parts = props.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const [first, second, third] = parts;
  switch (first) {
    case 'functions':
      if (second === 'new') return <FunctionEdit />;
      if (second && third === 'edit') return <FunctionEdit key={second} id={second} />;
      return <FunctionList />;
    case 'invoke':
      return second ? <Invoke key={second} id={second} /> : <FunctionList />;
    case 'history':
      return <History key={second ?? ''} {...(second ? { id: second } : {})} />;
    case 'invocations':
      return second ? <InvocationView key={second} id={second} /> : <History />;
    case 'async':
      return <AsyncView />;
    case 'metrics':
      return <MetricsView />;
    case 'pool':
      return <PoolView />;
    default:
      return <FunctionList />;
  }
}

function App() {
  const [key, setKey] = useState(storedKey());
  const hash = useHash();
  const client = useMemo(() => (key ? clientFor(key) : null), [key]);
  if (!client) return <KeyForm onKey={setKey} />;
  const active = `#/${hash.replace(/^#\/?/, '').split('/')[0]}`;
  return (
    <ClientContext.Provider value={client}>
      <header class="top">
        <h1>faas</h1>
        <nav>
          {NAV.map(([href, label]) => (
            <a key={href} href={href} class={active === href ? 'active' : ''}>
              {label}
            </a>
          ))}
        </nav>
        <button
          type="button"
          class="link"
          onClick={() => {
            forgetKey();
            setKey(null);
          }}
        >
          Forget key
        </button>
      </header>
      <main>
        <Screen hash={hash} />
      </main>
    </ClientContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
